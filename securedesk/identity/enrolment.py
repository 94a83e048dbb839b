"""Enrolment through a one-time link: show a new TOTP secret (URI and QR code), then set the password and activate.

``begin`` may be called again (a reloaded page) and shows the same secret; ``complete`` consumes the link in the same
transaction that activates the account and records ``auth.mfa_enrolled``. Unknown, expired and used links all give
the same ``AuthenticationFailed``. Secrets are stored only encrypted with the vault's ``encrypt_field``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from securedesk.clock import Clock
from securedesk.errors import AuthenticationFailed, DecryptionFailed
from securedesk.identity.accounts import StaffMember
from securedesk.identity.passwords import PasswordHasher, PasswordPolicy
from securedesk.identity.roles import Role
from securedesk.identity.seams import AuditRecorder, FieldCipher
from securedesk.identity.tokens import token_hash
from securedesk.identity.totp import matching_step, new_totp_secret, provisioning_uri, qr_svg
from securedesk.sensitive import Sensitive
from securedesk.storage.staff import EnrolmentRecord, StaffRecord, StaffRepository

logger = logging.getLogger(__name__)

ENROLMENT_INVALID_MESSAGE: Final = (
    "This enrolment link is not valid, was already used, or has expired: ask an administrator for a new one."
)
ENROLMENT_CODE_MESSAGE: Final = "The authenticator code is not right: check the time on your device and try again."


@dataclass(frozen=True)
class EnrolmentChallenge:
    """What the enrolment page shows: the secret three ways (serve with ``Cache-Control: no-store``)."""

    account_name: str
    role: Role
    secret: Sensitive
    otpauth_uri: Sensitive
    qr_svg: Sensitive
    expires_at: float


class Enrolment:
    def __init__(
        self,
        repo: StaffRepository,
        audit: AuditRecorder,
        cipher: FieldCipher,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        clock: Clock,
    ) -> None:
        self._repo = repo
        self._audit = audit
        self._cipher = cipher
        self._hasher = hasher
        self._policy = policy
        self._clock = clock

    async def begin(self, token: Sensitive | str) -> EnrolmentChallenge:
        link, staff = await self._valid_link(token)
        secret = self._pending_secret(link)
        if secret is None:
            secret = new_totp_secret()
            blob = self._cipher.encrypt_field(
                secret.reveal().encode("ascii"), table="staff_enrolments", row_id=link.token_hash, column="totp_secret"
            )
            async with self._repo.transaction() as conn:
                stored = await self._repo.set_enrolment_secret(conn, link.token_hash, blob)
            if not stored:  # a concurrent begin stored its secret first: show that one
                link, staff = await self._valid_link(token)
                secret = self._pending_secret(link)
                if secret is None:
                    raise AuthenticationFailed(ENROLMENT_INVALID_MESSAGE)
        uri = provisioning_uri(secret, account_name=staff.name)
        return EnrolmentChallenge(
            account_name=staff.name,
            role=Role(staff.role),
            secret=secret,
            otpauth_uri=uri,
            qr_svg=qr_svg(uri),
            expires_at=link.expires_at,
        )

    async def complete(
        self, token: Sensitive | str, password: Sensitive, totp_code: Sensitive, *, origin_ip: str | None = None
    ) -> StaffMember:
        """Set the password (``PasswordRejected`` if it breaks a rule) and the TOTP secret, once a code from the new
        authenticator proves it was set up; the account becomes active and the link is used up."""
        link, staff = await self._valid_link(token)
        secret = self._pending_secret(link)
        if secret is None:
            raise AuthenticationFailed(ENROLMENT_INVALID_MESSAGE, hint="open the link again to get the QR code")
        self._policy.check(password, account_name=staff.name)
        now = self._clock.now()
        step = matching_step(secret, totp_code, now)
        if step is None:
            raise AuthenticationFailed(ENROLMENT_CODE_MESSAGE)
        password_hash = await self._hasher.hash(password)
        blob = self._cipher.encrypt_field(
            secret.reveal().encode("ascii"), table="staff", row_id=staff.id, column="totp_secret"
        )
        async with self._repo.transaction() as conn:
            if not await self._repo.delete_enrolment(conn, link.token_hash):
                raise AuthenticationFailed(ENROLMENT_INVALID_MESSAGE)
            if not await self._repo.activate(
                conn, staff.id, password_hash=password_hash, totp_secret=blob, totp_step=step, now=now
            ):
                raise AuthenticationFailed(ENROLMENT_INVALID_MESSAGE)
            await self._repo.delete_enrolments_of(conn, staff.id)
            await self._audit.record_in(
                conn,
                actor=staff.name,
                role=staff.role,
                action="auth.mfa_enrolled",
                target=f"staff:{staff.id}",
                origin_ip=origin_ip,
                channel="web",
            )
        logger.info("Staff %s enrolled (password and TOTP set)", staff.id)
        enrolled = await self._repo.get_staff(staff.id)
        if enrolled is None:
            raise AuthenticationFailed(ENROLMENT_INVALID_MESSAGE)
        return StaffMember.of(enrolled)

    async def _valid_link(self, token: Sensitive | str) -> tuple[EnrolmentRecord, StaffRecord]:
        link = await self._repo.get_enrolment(token_hash(token)) if token else None
        staff = await self._repo.get_staff(link.staff_id) if link else None
        if link is None or staff is None or staff.status != "pending" or self._clock.now() >= link.expires_at:
            raise AuthenticationFailed(ENROLMENT_INVALID_MESSAGE)
        return link, staff

    def _pending_secret(self, link: EnrolmentRecord) -> Sensitive | None:
        if link.totp_secret is None:
            return None
        try:
            plain = self._cipher.decrypt_field(
                link.totp_secret, table="staff_enrolments", row_id=link.token_hash, column="totp_secret"
            )
        except DecryptionFailed:
            logger.error("A pending enrolment secret cannot be decrypted (key or data problem)")
            raise AuthenticationFailed(ENROLMENT_INVALID_MESSAGE) from None
        return Sensitive(plain.decode("ascii"))
