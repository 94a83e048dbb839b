"""What each setting means: the source of the README's settings table (``securedesk config reference``).

A test checks that every ``Settings`` field is described here and that the README's table is the one this module
renders, so the documentation cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import MISSING, fields

from securedesk.config import ENV_PREFIX, SECRET_FIELDS, Settings

#: One line per setting, grouped in the order the table shows them.
DESCRIPTIONS: dict[str, str] = {
    # files and directories
    "data_dir": "data directory (database)",
    "db_path": "database file (default `<data_dir>/securedesk.db`)",
    "key_dir": "key-encrypting key files and the audit signing key; keep it off the data volume in production",
    "kek": "the KEK(s) as base64 (`KEY` or `1:KEY,2:KEY`) instead of key files",
    "policy_path": "screening policy (TOML)",
    "cert_dir": "development CA and server certificate created by `init`",
    "tls_cert": "your own server certificate (PEM); with `tls_key`, no development certificate is made",
    "tls_key": "your own server key (PEM)",
    # web
    "https_host": "HTTPS bind address",
    "https_port": "HTTPS port",
    "public_base_url": "external URL used in links (nudges, enrolment, forms)",
    "allowed_origins": "origins accepted at WebSocket handshakes",
    "max_request_bytes": "request body limit (413 above)",
    "metrics_host": "bind address of the separate metrics listener",
    "metrics_port": "separate plain-HTTP metrics listener port (0 = none; admins see `/metrics` on the main app)",
    "hsts_seconds": "HSTS max-age (0 = no header)",
    "shutdown_grace_seconds": "time allowed for in-flight requests on SIGTERM",
    # staff sessions
    "session_idle_seconds": "staff session idle timeout",
    "session_absolute_seconds": "staff session absolute lifetime",
    "step_up_seconds": "how recent a TOTP code must be for a reveal",
    "login_ip_max_failures": "failed logins per IP within the window before 429",
    "login_ip_window_seconds": "window of the per-IP login throttle",
    "session_purge_interval_seconds": "how often expired sessions are purged",
    # chat
    "chat_max_frame_bytes": "largest WebSocket frame (close 1009 above)",
    "chat_messages_per_minute": "per-connection message rate (close 1008 above)",
    "chat_idle_seconds": "customer WebSocket idle timeout",
    "chat_fragment_hold_seconds": "how long a message ending in digits is held, waiting for the rest of a split number",
    "chat_queue": "queue new chat cases go to",
    "chat_conversation_seconds": "lifetime of the signed conversation cookie",
    "chat_session_check_seconds": "how often agent WebSockets re-check their session",
    "reveal_max_per_hour": "reveals per agent per hour",
    # email
    "smtp_host": "SMTP listener address",
    "smtp_port": "SMTP listener port",
    "smtp_require_starttls": "require STARTTLS before MAIL",
    "smtp_max_message_bytes": "SIZE limit (552 above)",
    "smtp_max_recipients": "recipients per message (452 above)",
    "served_domains": "domains or addresses mail is accepted for (others: 550 5.7.1, no open relay)",
    "downstream_smtp_host": "the help desk's SMTP server (unset: the outbox keeps mail until it is set)",
    "downstream_smtp_port": "its port",
    "downstream_smtp_starttls": "use STARTTLS downstream when offered",
    "downstream_smtp_username": "downstream SMTP login",
    "downstream_smtp_password": "downstream SMTP password",
    "helpdesk_address": "where relayed mail is addressed",
    "relay_initial_backoff_seconds": "first retry delay",
    "relay_max_backoff_seconds": "longest retry delay",
    "relay_give_up_seconds": "give up (with an audit alert) after this long",
    "smtp_hostname": "greeting name and authserv-id",
    "smtp_timeout_seconds": "SMTP idle timeout",
    "mime_max_depth": "deepest MIME nesting accepted (554 above)",
    "mime_max_parts": "most MIME parts accepted (554 above)",
    "relay_poll_seconds": "relay worker poll interval",
    "relay_timeout_seconds": "time limit of one delivery attempt",
    # webhook
    "webhook_url": "POST redacted messages here (signed JSON) instead of, or besides, SMTP",
    "webhook_secret": "HMAC-SHA256 key for `X-SecureDesk-Signature`",
    # screening API integrations
    "discourse_url": "Discourse forum whose posts are screened (webhook at `/integrations/discourse`); off when unset",
    "discourse_api_username": "Discourse user the post edits are made as",
    "discourse_api_key": "Discourse API key for the edits (`Api-Key`)",
    "discourse_webhook_secret": "the Discourse webhook's secret (`X-Discourse-Event-Signature`)",
    "discourse_ca_file": "CA file to trust for `discourse_url` instead of the system's",
    # screening
    "detection_timeout_seconds": "time limit of one message's detection and redaction (then: hold)",
    "detection_languages": "languages the detector accepts",
    "detection_score_threshold": "score at which a finding counts as found",
    "screening_workers": "detection worker threads",
    "conversation_max_messages": "chat: messages a split number may span",
    "conversation_window_seconds": "chat: how long a trailing fragment is kept",
    "conversation_max_tracked": "chat: conversations tracked (least recent evicted)",
    # vault and audit
    "purge_interval_seconds": "how often expired secrets are purged",
    "rotation_batch_size": "data keys re-wrapped per rotation transaction",
    "rotation_batch_pause_seconds": "pause between rotation batches",
    "audit_export_max_events": "rows in one audit export",
    "audit_checkpoint_interval_seconds": "how often `serve` signs an audit checkpoint",
    # customers
    "form_ttl_seconds": "protected form link lifetime",
    "lookup_code_seconds": "one-time code lifetime",
    "lookup_code_max_attempts": "tries per code",
    "lookup_session_seconds": "verified lookup session lifetime",
    "lookup_codes_per_identifier": "codes issued per address within the window",
    "lookup_codes_per_ip": "codes issued per IP within the window",
    "lookup_window_seconds": "window of the code issuance limits",
    "callbacks_per_session": "call-back requests per lookup session within the window",
    "callbacks_per_ip": "call-back requests per IP within the window",
    "callback_window_seconds": "window of the session and IP call-back limits",
    "callbacks_per_number": "call-back requests per phone number within its window",
    "callback_number_window_seconds": "window of the per-number limit",
    "callback_reveals_per_agent": "phone-number reveals per agent per hour",
    "callback_retention_days": "how long finished call-back requests (and their encrypted numbers) are kept",
    # logging
    "log_level": "DEBUG … CRITICAL (logs never carry message text or values)",
}


def undocumented() -> list[str]:
    """Settings fields with no description (a test keeps this empty)."""
    return [f.name for f in fields(Settings) if f.name not in DESCRIPTIONS]


def render_markdown() -> str:
    """The README's settings table."""
    rows = ["| setting | environment variable | default | meaning |", "|---|---|---|---|"]
    by_name = {f.name: f for f in fields(Settings)}
    for name, description in DESCRIPTIONS.items():
        f = by_name.get(name)
        if f is None:
            continue
        if name in SECRET_FIELDS or f.default is None or f.default is MISSING:
            default = "–"
        elif isinstance(f.default, tuple):
            default = "`" + ",".join(str(v) for v in f.default) + "`"
        else:
            default = f"`{f.default}`"
        rows.append(f"| `{name}` | `{ENV_PREFIX}{name.upper()}` | {default} | {description} |")
    return "\n".join(rows) + "\n"
