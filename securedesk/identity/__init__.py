"""Staff identity: argon2id passwords, TOTP, sessions, roles and permissions."""

from securedesk.identity.accounts import ENROLMENT_SECONDS, Accounts, Actor, EnrolmentLink, StaffMember
from securedesk.identity.enrolment import Enrolment, EnrolmentChallenge
from securedesk.identity.login import LOCKOUT_SECONDS, LOCKOUT_THRESHOLD, Authenticator
from securedesk.identity.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    OWASP_MINIMUM,
    RFC_9106_LOW_MEMORY,
    STAFF_PASSWORD_PARAMETERS,
    Argon2Parameters,
    PasswordHasher,
    PasswordPolicy,
)
from securedesk.identity.roles import ROLE_PERMISSIONS, CaseScope, Permission, Principal, Role, allowed, require
from securedesk.identity.seams import AuditRecorder, FieldCipher
from securedesk.identity.service import Identity, accounts_for, ensure_first_admin
from securedesk.identity.sessions import (
    SESSION_COOKIE,
    SESSION_COOKIE_NAME,
    STEP_UP_SECONDS,
    CookiePolicy,
    NewSession,
    Session,
    SessionEndListeners,
    Sessions,
    SessionsEnded,
)

__all__ = [
    "ENROLMENT_SECONDS",
    "LOCKOUT_SECONDS",
    "LOCKOUT_THRESHOLD",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "OWASP_MINIMUM",
    "RFC_9106_LOW_MEMORY",
    "ROLE_PERMISSIONS",
    "SESSION_COOKIE",
    "SESSION_COOKIE_NAME",
    "STAFF_PASSWORD_PARAMETERS",
    "STEP_UP_SECONDS",
    "Accounts",
    "Actor",
    "Argon2Parameters",
    "AuditRecorder",
    "Authenticator",
    "CaseScope",
    "CookiePolicy",
    "Enrolment",
    "EnrolmentChallenge",
    "EnrolmentLink",
    "FieldCipher",
    "Identity",
    "NewSession",
    "PasswordHasher",
    "PasswordPolicy",
    "Permission",
    "Principal",
    "Role",
    "Session",
    "SessionEndListeners",
    "Sessions",
    "SessionsEnded",
    "StaffMember",
    "accounts_for",
    "allowed",
    "ensure_first_admin",
    "require",
]
