"""``AgentConsole``: what an agent may see and do on cases — the live list of their queues' cases (chat and email),
a case with its masked transcript and vaulted items, and the reveal of one vaulted value.

Object-level checks on every call (``identity.require`` with the case: a case outside the agent's queues answers like
one that does not exist). Opening a case is a ``case.view`` audit event; revealing a value needs a stated reason and
is a ``secret.reveal`` audit event written *before* the vault returns the value (``Vault.open`` with an audit hook):
if the event cannot be written, nothing is revealed. Reveals are rate-limited per agent. The recent second factor is
the web layer's check (``securedesk.web.auth.require_step_up``), made before ``reveal`` is called.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Final

from securedesk.audit import AuditLog
from securedesk.clock import Clock
from securedesk.errors import AuditError, InvalidInput, NotFound, ObjectNotVisible, PermissionDenied, RateLimited
from securedesk.identity import Permission, Principal, require
from securedesk.policy import CHANNELS, PolicyHolder
from securedesk.sensitive import Sensitive
from securedesk.storage.cases import CaseRecord, CaseRepository, MessageRecord, VaultedItem
from securedesk.vault import Vault

MAX_REASON_CHARS: Final = 500
MIN_REASON_CHARS: Final = 4
REVEAL_WINDOW_SECONDS: Final = 3_600.0
LIST_LIMIT: Final = 200


@dataclass(frozen=True)
class CaseView:
    """One case as an agent sees it: everything here is redacted or display data."""

    case: CaseRecord
    messages: tuple[MessageRecord, ...]
    vaulted: tuple[VaultedItem, ...]


class RevealRate:
    """At most ``per_hour`` reveals per staff member in any sliding hour (on the injected clock)."""

    def __init__(self, clock: Clock, *, per_hour: int, max_tracked: int = 10_000) -> None:
        if per_hour < 1:
            raise InvalidInput("reveal_max_per_hour must be at least 1.")
        self._clock = clock
        self._limit = per_hour
        self._max_tracked = max_tracked
        self._times: OrderedDict[str, deque[float]] = OrderedDict()

    def admit(self, staff_id: str) -> None:
        """Count one reveal; ``RateLimited`` when the staff member is over the limit (nothing is counted then)."""
        now = self._clock.now()
        times = self._times.get(staff_id)
        if times is None:
            times = self._times[staff_id] = deque()
            while len(self._times) > self._max_tracked:
                self._times.popitem(last=False)
        self._times.move_to_end(staff_id)
        while times and times[0] <= now - REVEAL_WINDOW_SECONDS:
            times.popleft()
        if len(times) >= self._limit:
            raise RateLimited(f"More than {self._limit} reveals within an hour: wait before revealing again.")
        times.append(now)


class _RevealAudit:
    """The ``AuditHook`` of one reveal: records ``secret.reveal`` with the reason, raising to refuse."""

    def __init__(self, audit: AuditLog, principal: Principal, case_id: str, origin_ip: str | None) -> None:
        self._audit = audit
        self._principal = principal
        self._case_id = case_id
        self._origin_ip = origin_ip

    async def __call__(self, *, token: str, kind: str, actor: str, reason: str) -> None:
        await self._audit.record(
            actor=actor,
            role=self._principal.role.value,
            action="secret.reveal",
            target=f"case:{self._case_id};secret:{token};kind:{kind}",
            origin_ip=self._origin_ip,
            channel="web",
            reason=reason,
        )


class AgentConsole:
    def __init__(
        self,
        *,
        cases: CaseRepository,
        vault: Vault,
        audit: AuditLog,
        policy: PolicyHolder,
        clock: Clock,
        reveal_per_hour: int,
    ) -> None:
        self._cases = cases
        self._vault = vault
        self._audit = audit
        self._policy = policy
        self._clock = clock
        self._reveals = RevealRate(clock, per_hour=reveal_per_hour)

    async def list_cases(self, principal: Principal) -> list[CaseRecord]:
        """The cases of the agent's queues, most recently updated first."""
        require(principal, Permission.CASE_READ)
        return await self._cases.list_cases_in_queues(principal.queues, limit=LIST_LIMIT)

    async def case(self, principal: Principal, case_id: str) -> CaseRecord:
        """The case if the agent may read it; ``NotFound`` (or ``ObjectNotVisible``, answered the same) otherwise."""
        case = await self._cases.get_case(case_id)
        if case is None:
            raise NotFound("No such case.")
        require(principal, Permission.CASE_READ, case=case)
        return case

    async def open_case(self, principal: Principal, case_id: str, *, origin_ip: str | None) -> CaseView:
        """The case with its transcript and vaulted items, after recording ``case.view`` (no event, no view)."""
        case = await self.case(principal, case_id)
        await self._audit.record(
            actor=principal.name,
            role=principal.role.value,
            action="case.view",
            target=f"case:{case.id}",
            origin_ip=origin_ip,
            channel="web",
        )
        messages = await self._cases.list_messages(case.id)
        vaulted = await self._cases.list_vaulted(case.id, now=self._clock.now())
        return CaseView(case, tuple(messages), tuple(vaulted))

    def may_reveal(self, principal: Principal, case: CaseRecord, item: VaultedItem) -> bool:
        """Whether the page should offer the Reveal button (``reveal`` checks again)."""
        try:
            self._require_reveal(principal, case, item)
        except (PermissionDenied, ObjectNotVisible):
            return False
        return True

    async def reveal(
        self, principal: Principal, case_id: str, token: str, reason: str, *, origin_ip: str | None
    ) -> tuple[VaultedItem, Sensitive]:
        """Open one vaulted value of the case for the agent. Checks, in order: the case is visible, the reason is
        stated, the token belongs to this case, role and policy allow revealing its kind, the agent is under the
        rate limit; then ``Vault.open`` writes the ``secret.reveal`` event before returning the value."""
        case = await self.case(principal, case_id)
        reason = " ".join(reason.split())
        if len(reason) < MIN_REASON_CHARS:
            raise InvalidInput("State why you need to see this value (a few words).")
        if len(reason) > MAX_REASON_CHARS:
            raise InvalidInput(f"The reason is limited to {MAX_REASON_CHARS} characters.")
        item = next(
            (i for i in await self._cases.list_vaulted(case.id, now=self._clock.now()) if i.token == token), None
        )
        if item is None:
            raise NotFound("No such protected value on this case.")
        self._require_reveal(principal, case, item)
        try:
            self._reveals.admit(principal.staff_id)
        except RateLimited:
            await self._refused(principal, case, item, origin_ip, "rate limit reached")
            raise
        value = await self._vault.open(
            item.token,
            actor=principal.name,
            reason=reason,
            audit=_RevealAudit(self._audit, principal, case.id, origin_ip),
        )
        return item, value

    def _require_reveal(self, principal: Principal, case: CaseRecord, item: VaultedItem) -> None:
        policy = self._policy.current
        roles = policy.rule(item.kind, item.source).reveal_roles if item.source in CHANNELS else frozenset()
        require(principal, Permission.SECRET_REVEAL, case=case, secret_kind=item.kind, reveal_roles={item.kind: roles})

    async def _refused(
        self, principal: Principal, case: CaseRecord, item: VaultedItem, origin_ip: str | None, why: str
    ) -> None:
        # The refusal stands either way; a failed write is counted by the audit log.
        with contextlib.suppress(AuditError):
            await self._audit.record(
                actor=principal.name,
                role=principal.role.value,
                action="secret.reveal",
                target=f"case:{case.id};secret:{item.token};kind:{item.kind}",
                outcome="denied",
                origin_ip=origin_ip,
                channel="web",
                reason=why,
            )
