"""Channels customers write through: chat (WebSocket) and email (SMTP). Every byte goes through the Screener."""
