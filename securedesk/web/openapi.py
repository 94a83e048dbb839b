"""The OpenAPI 3.1 description of the screening API, served at ``/api/v1/openapi.json`` (the tests fuzz the running
server against it with schemathesis)."""

from __future__ import annotations

from typing import Any, Final

from securedesk.channels.api.service import (
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_PARTS,
    MAX_REASON_CHARS,
    MIN_REASON_CHARS,
)

_PROBLEM: Final = {"$ref": "#/components/schemas/Problem"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _PROBLEM}}}


_ERRORS: Final = {
    "400": _problem("Malformed JSON or a missing or invalid field (``field`` names it)."),
    "401": _problem("Missing, invalid or revoked API key."),
    "403": _problem("The key does not hold the scope this operation needs."),
    "413": _problem("The body is over the size limit."),
    "415": _problem("The body is not ``application/json``."),
    "422": _problem("An unknown language, or a channel other than the key's."),
    "429": _problem("The key's rate limit is reached; see ``Retry-After``."),
    "503": _problem("The text could not be screened (or the access could not be audited): nothing is returned."),
}


def openapi_document(server_url: str) -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SecureDesk screening API",
            "version": "1.0.0",
            "description": (
                "Screen texts from any channel for payment card numbers and national identity numbers (US SSN, "
                "French NIR, Swedish personnummer) and IBANs, with the same policy, vault and audit log as "
                "SecureDesk's own chat and email. Offsets are in Unicode code points of the part as sent."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/screen": {
                "post": {
                    "operationId": "screen",
                    "summary": "Screen the named parts of one message",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScreenRequest"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "Screened: deliver the parts as returned, or not at all for ``block``.",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/ScreenResponse"}}
                            },
                        },
                        **_ERRORS,
                    },
                }
            },
            "/api/v1/detokenize": {
                "post": {
                    "operationId": "detokenize",
                    "summary": "A vault token back to its value (scope detokenize; audited before it is returned)",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DetokenizeRequest"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "The value.",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/DetokenizeResponse"}}
                            },
                        },
                        "404": _problem("Unknown or expired token, or one sealed through another key."),
                        **_ERRORS,
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "sdk_… API key"}},
            "schemas": {
                "Part": {
                    "type": "object",
                    "required": ["name", "text"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS},
                        "text": text,
                    },
                    "additionalProperties": False,
                },
                "ScreenRequest": {
                    "type": "object",
                    "required": ["parts"],
                    "properties": {
                        "parts": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_PARTS,
                            "items": {"$ref": "#/components/schemas/Part"},
                        },
                        "channel": {"type": "string", "description": "must be the key's channel when given"},
                        "lang": {"type": "string", "enum": ["en", "fr", "sv"]},
                        "conversation_id": {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS},
                        "message_id": {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS},
                    },
                    "additionalProperties": False,
                },
                "Finding": {
                    "type": "object",
                    "required": ["type", "part", "start", "end", "mask", "action"],
                    "properties": {
                        "type": {
                            "type": "string",
                            "enum": ["CREDIT_CARD", "US_SSN", "FR_NIR", "SE_PERSONNUMMER", "IBAN_CODE"],
                        },
                        "part": {"type": "string"},
                        "start": {"type": "integer", "minimum": 0},
                        "end": {"type": "integer", "minimum": 0},
                        "mask": text,
                        "action": {"type": "string", "enum": ["redact", "vault", "block"]},
                        "token": {"type": ["string", "null"]},
                    },
                },
                "ScreenResponse": {
                    "type": "object",
                    "required": ["message_id", "decision", "lang", "parts", "findings", "entities"],
                    "properties": {
                        "message_id": text,
                        "decision": {"type": "string", "enum": ["deliver", "deliver_with_nudge", "block"]},
                        "lang": text,
                        "parts": {"type": "array", "items": {"$ref": "#/components/schemas/Part"}},
                        "findings": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}},
                        "entities": {"type": "object", "additionalProperties": {"type": "integer"}},
                        "nudge": {"type": ["string", "null"]},
                        "links": {
                            "type": ["object", "null"],
                            "properties": {"form": text, "lookup": text, "callback": text},
                        },
                        "fragment_masked": {"type": "boolean"},
                        "replacements": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["message_id", "text"],
                                "properties": {"message_id": text, "text": text},
                            },
                        },
                    },
                },
                "DetokenizeRequest": {
                    "type": "object",
                    "required": ["token", "reason"],
                    "properties": {
                        "token": {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS},
                        "reason": {"type": "string", "minLength": MIN_REASON_CHARS, "maxLength": MAX_REASON_CHARS},
                    },
                    "additionalProperties": False,
                },
                "DetokenizeResponse": {
                    "type": "object",
                    "required": ["token", "value"],
                    "properties": {"token": text, "value": text},
                },
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": text,
                        "title": text,
                        "status": {"type": "integer"},
                        "detail": text,
                        "field": text,
                        "request_id": text,
                    },
                },
            },
        },
    }
