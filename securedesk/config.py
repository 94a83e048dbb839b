"""Settings: the one place that reads the environment and the optional TOML settings file, once, at start-up.

Precedence: built-in defaults < settings file (``SECUREDESK_CONFIG`` or ``--config``) < ``SECUREDESK_*`` variables.
Everything else in SecureDesk receives a ``Settings`` object; nothing reads ``os.environ`` on its own.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from securedesk.errors import ConfigError
from securedesk.sensitive import Sensitive

ENV_PREFIX = "SECUREDESK_"

#: Settings whose values are secrets: masked by ``describe()`` and held in ``Sensitive``.
SECRET_FIELDS = frozenset(
    {"kek", "webhook_secret", "downstream_smtp_password", "discourse_api_key", "discourse_webhook_secret"}
)


@dataclass(frozen=True)
class Settings:
    # --- files and directories ---
    data_dir: Path = Path("var")
    db_path: Path | None = None  # default: <data_dir>/securedesk.db
    key_dir: Path = Path("var/keys")
    kek: Sensitive | None = None  # base64 key-encrypting key given directly instead of a key file
    policy_path: Path = Path("policies/default.toml")
    cert_dir: Path = Path("certs/dev")
    tls_cert: Path | None = None  # default: <cert_dir>/server.pem
    tls_key: Path | None = None  # default: <cert_dir>/server.key
    # --- web ---
    https_host: str = "127.0.0.1"
    https_port: int = 8443
    public_base_url: str = "https://localhost:8443"
    allowed_origins: tuple[str, ...] = ("https://localhost:8443", "https://127.0.0.1:8443")
    max_request_bytes: int = 1_000_000
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0  # 0: metrics only on the HTTPS app, behind admin login
    hsts_seconds: int = 63_072_000  # Strict-Transport-Security max-age (2 years); 0 sends no HSTS header
    shutdown_grace_seconds: int = 10  # SIGTERM: how long in-flight requests may take before they are cancelled
    session_idle_seconds: int = 900
    session_absolute_seconds: int = 43_200
    step_up_seconds: int = 300  # a TOTP code must have been entered this recently for reveals and key/user changes
    login_ip_max_failures: int = 30  # failed staff logins from one IP within the window before it gets 429
    login_ip_window_seconds: int = 900
    session_purge_interval_seconds: float = 60.0  # how often expired staff sessions are ended (audited)
    # --- chat ---
    chat_max_frame_bytes: int = 16_384
    chat_messages_per_minute: int = 60
    chat_idle_seconds: int = 1_800
    chat_fragment_hold_seconds: float = 2.0
    chat_queue: str = "general"  # the case queue new chat conversations go to (agents see the queues they work)
    chat_conversation_seconds: int = 86_400  # how long the signed conversation cookie lets a customer come back
    chat_session_check_seconds: float = 5.0  # agent WebSockets re-check their staff session this often
    reveal_max_per_hour: int = 30  # reveals of vaulted values per agent per hour (sliding window)
    # --- email ---
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_require_starttls: bool = False
    smtp_max_message_bytes: int = 25 * 1024 * 1024
    smtp_max_recipients: int = 100
    served_domains: tuple[str, ...] = ("support.securedesk.test",)
    downstream_smtp_host: str | None = None
    downstream_smtp_port: int = 25
    downstream_smtp_starttls: bool = True
    downstream_smtp_username: str | None = None
    downstream_smtp_password: Sensitive | None = None
    helpdesk_address: str = "helpdesk@securedesk.test"
    relay_initial_backoff_seconds: float = 60.0
    relay_max_backoff_seconds: float = 3_600.0
    relay_give_up_seconds: float = 5 * 86_400.0
    smtp_hostname: str = "gateway.securedesk.test"  # our EHLO/greeting name and Authentication-Results authserv-id
    smtp_timeout_seconds: float = 300.0  # idle time allowed between SMTP commands (RFC 5321 §4.5.3.2)
    mime_max_depth: int = 10  # nesting of multipart / message/rfc822 parts; deeper → 554 5.6.0
    mime_max_parts: int = 500  # MIME parts in one message; more → 554 5.6.0
    relay_poll_seconds: float = 1.0  # how often the relay worker looks for due outbox rows
    relay_timeout_seconds: float = 60.0  # one delivery attempt (connect + transfer), SMTP or webhook
    # --- webhook relay ---
    webhook_url: str | None = None
    webhook_secret: Sensitive | None = None
    # --- screening API: the Discourse reference integration (off unless discourse_url is set) ---
    discourse_url: str | None = None
    discourse_api_username: str = "system"
    discourse_api_key: Sensitive | None = None
    discourse_webhook_secret: Sensitive | None = None
    discourse_ca_file: Path | None = None  # a CA file to trust for discourse_url instead of the system's
    # --- screening ---
    detection_timeout_seconds: float = 2.0
    detection_languages: tuple[str, ...] = ("en", "fr", "sv")
    detection_score_threshold: float = 0.5  # a finding scoring at least this is "found"
    screening_workers: int = 2  # threads that run detection and redaction (CPU-bound) off the event loop
    conversation_max_messages: int = 10  # chat: a number typed across at most this many messages (an IBAN: 9 groups)
    conversation_window_seconds: float = 120.0  # chat: ... all sent within this many seconds
    conversation_max_tracked: int = 10_000  # chat: conversations whose fragments are kept (least recent evicted)
    # --- vault ---
    purge_interval_seconds: float = 3_600.0
    rotation_batch_size: int = 500  # data keys re-wrapped per transaction by `securedesk keys rotate`
    rotation_batch_pause_seconds: float = 0.0  # pause between rotation batches, to spare a busy database's I/O
    # --- audit ---
    audit_export_max_events: int = 250_000  # rows (matching + elided) in one export file
    audit_checkpoint_interval_seconds: float = 3_600.0  # verify the chain, then sign and store a checkpoint
    # --- customers: protected forms, verified lookup, call-backs ---
    form_ttl_seconds: int = 86_400  # how long a protected-form link stays usable (single use)
    lookup_code_seconds: int = 600  # a one-time code's lifetime
    lookup_code_max_attempts: int = 5  # wrong codes before the challenge is locked
    lookup_session_seconds: int = 900  # a verified customer's session (absolute)
    lookup_codes_per_identifier: int = 3  # codes issued for one address or case reference per window
    lookup_codes_per_ip: int = 10  # codes issued to one client address per window
    lookup_window_seconds: int = 900
    callbacks_per_session: int = 3  # call-back requests from one browser per window
    callbacks_per_ip: int = 10  # call-back requests from one client address per window
    callback_window_seconds: int = 3_600
    callbacks_per_number: int = 3  # call-back requests for one phone number per number window (toll pumping)
    callback_number_window_seconds: int = 86_400
    callback_reveals_per_agent: int = 30  # phone numbers one agent may reveal per hour
    callback_retention_days: int = 30  # a call-back request untouched this long is deleted with its number
    # --- logging ---
    log_level: str = "INFO"

    @property
    def database_path(self) -> Path:
        return self.db_path if self.db_path is not None else self.data_dir / "securedesk.db"

    @property
    def tls_cert_path(self) -> Path:
        return self.tls_cert if self.tls_cert is not None else self.cert_dir / "server.pem"

    @property
    def tls_key_path(self) -> Path:
        return self.tls_key if self.tls_key is not None else self.cert_dir / "server.key"

    @property
    def ca_cert_path(self) -> Path:
        return self.cert_dir / "ca.pem"

    @classmethod
    def load(cls, environ: Mapping[str, str], config_file: Path | None = None) -> Settings:
        """Build settings from defaults, then the TOML file, then ``SECUREDESK_*`` environment variables."""
        values: dict[str, Any] = {}
        known = {f.name: f for f in fields(cls)}
        file_path = config_file or (Path(environ[f"{ENV_PREFIX}CONFIG"]) if f"{ENV_PREFIX}CONFIG" in environ else None)
        if file_path is not None:
            try:
                raw = tomllib.loads(file_path.read_text(encoding="utf-8"))
            except FileNotFoundError as exc:
                raise ConfigError(f"Settings file {file_path} does not exist.") from exc
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"Settings file {file_path} is not valid TOML: {exc}") from exc
            for key, value in raw.items():
                if key not in known:
                    raise ConfigError(f"Unknown setting {key!r} in {file_path}.", hint="see the README's table")
                values[key] = _coerce(known[key], value, source=str(file_path))
        for name, f in known.items():
            env_name = ENV_PREFIX + name.upper()
            if env_name in environ:
                values[name] = _coerce(f, environ[env_name], source=env_name)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def describe(self) -> dict[str, str]:
        """Effective settings as strings, secrets masked: for ``securedesk config show``."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS:
                out[f.name] = "(not set)" if value is None else "•••• (set)"
            elif isinstance(value, tuple):
                out[f.name] = ",".join(str(v) for v in value)
            else:
                out[f.name] = "(default)" if value is None else str(value)
        return out


def _coerce(f: dataclasses.Field[Any], value: Any, *, source: str) -> Any:
    hint = typing.get_type_hints(Settings)[f.name]
    args = typing.get_args(hint)
    optional = isinstance(hint, types.UnionType) and type(None) in args
    base = next((a for a in args if a is not type(None)), hint) if optional else hint
    if optional and value in ("", None):
        return None
    try:
        if base is Sensitive:
            return Sensitive(str(value))
        if base is bool:
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if base is int:
            if isinstance(value, bool):
                raise ValueError("expected an integer")
            return int(value)
        if base is float:
            return float(value)
        if base is Path:
            return Path(str(value))
        if typing.get_origin(base) is tuple:
            items = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
            return tuple(str(v) for v in items if str(v))
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Setting {f.name} from {source} is not a valid {getattr(base, '__name__', base)}.") from exc
