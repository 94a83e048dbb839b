"""Roles, the permission table, and ``require``: who may do what, down to which case (object-level checks)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Protocol

from securedesk.errors import InvalidInput, ObjectNotVisible, PermissionDenied


class Role(StrEnum):
    AGENT = "agent"  # works the cases of their queues; sees masked records; reveals what the policy allows
    COMPLIANCE = "compliance"  # reads, verifies and exports the audit log; never case contents, never a reveal
    ADMIN = "admin"  # users, keys, policies, metrics; no case contents and no reveal

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls(value.strip().lower())
        except ValueError as exc:
            choices = ", ".join(r.value for r in cls)
            raise InvalidInput(f"Unknown role {value!r}.", hint=f"choose one of {choices}") from exc


class Permission(StrEnum):
    CASE_READ = "case.read"
    CASE_REPLY = "case.reply"
    SECRET_REVEAL = "secret.reveal"  # noqa: S105 (a permission name, not a password)
    AUDIT_READ = "audit.read"
    AUDIT_EXPORT = "audit.export"
    AUDIT_VERIFY = "audit.verify"
    USERS_MANAGE = "users.manage"
    KEYS_MANAGE = "keys.manage"
    POLICY_MANAGE = "policy.manage"
    METRICS_READ = "metrics.read"


#: The permission table. A role not listed for a permission never has it, whatever a policy says.
ROLE_PERMISSIONS: Final[Mapping[Role, frozenset[Permission]]] = MappingProxyType(
    {
        Role.AGENT: frozenset({Permission.CASE_READ, Permission.CASE_REPLY, Permission.SECRET_REVEAL}),
        Role.COMPLIANCE: frozenset({Permission.AUDIT_READ, Permission.AUDIT_EXPORT, Permission.AUDIT_VERIFY}),
        Role.ADMIN: frozenset(
            {Permission.USERS_MANAGE, Permission.KEYS_MANAGE, Permission.POLICY_MANAGE, Permission.METRICS_READ}
        ),
    }
)

#: Permissions on a case: checked against the case's queue when a case is given (``SECRET_REVEAL`` always needs one).
CASE_PERMISSIONS: Final = frozenset({Permission.CASE_READ, Permission.CASE_REPLY, Permission.SECRET_REVEAL})


class CaseScope(Protocol):
    """What an object-level check needs to know about a case."""

    @property
    def queue(self) -> str: ...


@dataclass(frozen=True)
class Principal:
    """An authenticated staff member, as loaded for one request."""

    staff_id: str
    name: str
    role: Role
    queues: frozenset[str]

    def may(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


def require(
    principal: Principal,
    permission: Permission,
    *,
    case: CaseScope | None = None,
    secret_kind: str | None = None,
    reveal_roles: Mapping[str, Collection[str]] | None = None,
) -> None:
    """Raise unless ``principal`` may use ``permission`` (on ``case`` when given).

    ``PermissionDenied`` when the role lacks the permission or the policy does not let the role reveal
    ``secret_kind``; ``ObjectNotVisible`` (answered like ``NotFound``) when the case is outside the principal's
    queues, so that other queues' cases cannot be discovered. ``reveal_roles`` maps an entity type to the roles the
    policy lets reveal it; a kind that is not listed cannot be revealed.
    """
    if not principal.may(permission):
        raise PermissionDenied(f"Role {principal.role.value!r} does not have permission {permission.value!r}.")
    if permission not in CASE_PERMISSIONS:
        return
    if permission is Permission.SECRET_REVEAL and (case is None or secret_kind is None):
        raise PermissionDenied("A reveal must name the case and the kind of value it opens.")
    if case is not None and case.queue not in principal.queues:
        raise ObjectNotVisible("No such case.")
    if permission is Permission.SECRET_REVEAL and principal.role.value not in (reveal_roles or {}).get(
        str(secret_kind), ()
    ):
        raise PermissionDenied(
            f"Role {principal.role.value!r} may not reveal {secret_kind} values under the current policy."
        )


def allowed(
    principal: Principal,
    permission: Permission,
    *,
    case: CaseScope | None = None,
    secret_kind: str | None = None,
    reveal_roles: Mapping[str, Collection[str]] | None = None,
) -> bool:
    """``require`` as a yes/no answer, for deciding what a page shows (never instead of ``require`` on the action)."""
    try:
        require(principal, permission, case=case, secret_kind=secret_kind, reveal_roles=reveal_roles)
    except (PermissionDenied, ObjectNotVisible):
        return False
    return True
