"""The one exception hierarchy, and how each error maps to an HTTP status, an SMTP reply and a WebSocket close code.

Every message says what was wrong and what to do. No message ever carries a sensitive value: callers pass only
types, counts, line numbers and names. Security failures collapse to one uninformative error for the caller
(``DecryptionFailed``, ``AuthenticationFailed``); the detail is kept in our own logs only.
"""

from __future__ import annotations

from typing import ClassVar


class SecureDeskError(Exception):
    """Base of every error SecureDesk raises on purpose.

    The class attributes are the single table from an error to what each protocol answers.
    """

    http_status: ClassVar[int] = 500
    smtp_reply: ClassVar[tuple[int, str]] = (451, "4.3.0 Temporary failure, please try again later")
    ws_close_code: ClassVar[int] = 1011
    public_message: ClassVar[str] = "Internal error. Please try again later."

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} ({hint})")


# --- configuration and start-up ------------------------------------------------------------------------------


class ConfigError(SecureDeskError):
    """Settings or files needed at start-up are missing or invalid."""


class PolicyError(ConfigError):
    """A policy file is invalid; ``problems`` lists every problem found."""

    def __init__(self, message: str, *, problems: list[str] | None = None, hint: str | None = None) -> None:
        self.problems = problems or []
        super().__init__(message, hint=hint)


class MessageCatalogError(SecureDeskError):
    """A customer-facing text was asked for with an unknown id or language, or with wrong placeholders: a bug."""


# --- input ---------------------------------------------------------------------------------------------------


class InvalidInput(SecureDeskError):
    """Input from a client is malformed: the client must fix it."""

    http_status = 400
    smtp_reply = (554, "5.6.0 Message content rejected")
    ws_close_code = 1007
    public_message = "The request was malformed."


class InputTooLarge(InvalidInput):
    http_status = 413
    smtp_reply = (552, "5.3.4 Message size exceeds fixed limit")
    ws_close_code = 1009
    public_message = "The request is too large."


class NotFound(SecureDeskError):
    http_status = 404
    smtp_reply = (550, "5.1.1 Mailbox unavailable")
    ws_close_code = 1008
    public_message = "Not found."


class Conflict(SecureDeskError):
    """The request clashes with what exists (a name already taken)."""

    http_status = 409
    public_message = "That conflicts with something that exists already."


class ObjectNotVisible(NotFound):
    """The object exists but the caller may not see it: answered exactly like ``NotFound`` so nothing is revealed."""


class LinkGone(NotFound):
    """A one-time link (protected form) that existed but was used already or has expired: 410, never which."""

    http_status = 410
    public_message = "This link has expired or was already used."


class PasswordRejected(InvalidInput):
    """A new password does not meet the rules (length, common passwords, the account name). Never echoes it."""

    http_status = 422
    public_message = "This password cannot be used. Please choose another one."


class MimeTooComplex(InvalidInput):
    """An email nests deeper, or has more parts or header fields, than the configured limits allow."""

    smtp_reply = (554, "5.6.0 Message structure too complex: too deep, too many parts or header fields")
    public_message = "The message structure is too complex."


class SmtpSmuggling(InvalidInput):
    """SMTP DATA held an end-of-data look-alike: a lone-dot line with a bare LF, or a bare CR (SMTP smuggling)."""

    smtp_reply = (554, "5.6.0 Message refused: bare CR, or a lone dot line with a bare LF (SMTP smuggling)")


class ValidationFailed(InvalidInput):
    """Form fields a customer filled in are not valid: ``errors`` holds (field, error code) pairs, never the values.

    The web layer shows each code's localized text next to its field."""

    http_status = 422
    public_message = "Some fields are not valid. Please check them and try again."

    def __init__(self, errors: list[tuple[str, str]], *, hint: str | None = None) -> None:
        self.errors = list(errors)
        fields = ", ".join(f"{field}={code}" for field, code in self.errors)
        super().__init__(f"Invalid form fields: {fields or 'none'}.", hint=hint)


class TooManyRecipients(InvalidInput):
    smtp_reply = (452, "4.5.3 Too many recipients")
    public_message = "Too many recipients."


class RateLimited(SecureDeskError):
    http_status = 429
    smtp_reply = (451, "4.7.1 Too many requests, slow down")
    ws_close_code = 1008
    public_message = "Too many requests. Please wait and try again."

    def __init__(self, message: str, *, retry_after: int | None = None, hint: str | None = None) -> None:
        self.retry_after = retry_after  # seconds, for a Retry-After header; None when unknown
        super().__init__(message, hint=hint)


# --- screening -----------------------------------------------------------------------------------------------


class DetectionError(SecureDeskError):
    """Detection failed or timed out: the content is held, never passed on."""

    smtp_reply = (451, "4.3.0 Message could not be screened, please try again later")
    public_message = "The message could not be screened and was held."


class DetectionTimeout(DetectionError):
    pass


class RedactionIncomplete(DetectionError):
    """The redacted text still held a finding the policy requires removed: the content is held, never passed on."""


class MessageBlocked(SecureDeskError):
    """Policy refuses the whole message (action ``block``)."""

    http_status = 422
    smtp_reply = (550, "5.7.1 Message refused: it contains data that must not be sent by this channel")
    ws_close_code = 1008
    public_message = "The message was refused because it contains sensitive data."


# --- storage, vault, audit -----------------------------------------------------------------------------------


class StorageError(SecureDeskError):
    """The database is unusable."""


class SchemaTooNew(StorageError):
    """The database was migrated by a newer SecureDesk than this one."""


class VaultError(SecureDeskError):
    """Base of key and encryption errors."""


class KeyUnavailable(VaultError):
    """The key-encrypting key (or one of its versions) cannot be loaded."""


class KeyInUse(VaultError):
    """A key-encrypting key version cannot be retired: it is the current version, or data keys still depend on it."""


class DecryptionFailed(VaultError):
    """A ciphertext did not authenticate: wrong key, wrong binding, or tampering. Deliberately uninformative."""

    def __init__(self, message: str = "Protected value could not be opened.", *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)


class AuditError(SecureDeskError):
    """An audit event could not be written: the action it records must not happen."""

    http_status = 503
    public_message = "The action could not be recorded and was not performed."


class ChainBroken(AuditError):
    """Audit chain verification found a bad event."""

    def __init__(self, message: str, *, sequence: int | None = None, hint: str | None = None) -> None:
        self.sequence = sequence
        super().__init__(message, hint=hint)


# --- identity ------------------------------------------------------------------------------------------------


class AuthenticationFailed(SecureDeskError):
    """Login, code or session check failed. One message for every cause, so nothing can be enumerated."""

    http_status = 401
    smtp_reply = (535, "5.7.8 Authentication credentials invalid")
    ws_close_code = 1008
    public_message = "Invalid credentials."


class PermissionDenied(SecureDeskError):
    http_status = 403
    smtp_reply = (550, "5.7.1 Not permitted")
    ws_close_code = 1008
    public_message = "You do not have permission to do this."


class StepUpRequired(PermissionDenied):
    """The action needs a second factor entered recently."""

    public_message = "Please confirm with your authenticator code first."


class RelayDenied(PermissionDenied):
    """A recipient outside the served domains: this gateway is not an open relay."""

    smtp_reply = (550, "5.7.1 Relaying denied: recipient is not served by this gateway")


# --- delivery to the help desk -------------------------------------------------------------------------------


class DeliveryError(SecureDeskError):
    """Handing a message to the downstream relay (SMTP or webhook) failed for now: it will be retried."""

    permanent: ClassVar[bool] = False


class DeliveryRefused(DeliveryError):
    """The downstream refused the message for good (SMTP 5xx, webhook 4xx): recorded, not retried."""

    permanent = True
