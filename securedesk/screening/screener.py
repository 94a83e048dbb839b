"""``Screener``: the single door every message passes before anyone sees it — detect, decide, redact, vault, audit.

Order of work for one message: detection, policy and redaction run in a worker thread under a time limit
(``Settings.detection_timeout_seconds``); then ``vault`` values are sealed (found first by blind index, so a value
sent twice in a case is one secret); then one audit event records what was done (types and counts only); then the
decision is returned. Any failure on the way gives ``Decision.HOLD`` — never a pass-through:

- detection raised or timed out, redaction raised or left a finding in the text: nothing was sealed;
- sealing failed: the vault's ``seal_many`` is all-or-none, so nothing was sealed;
- the audit event could not be written: the values sealed for this message are deleted again (crypto-shredded),
  because a sealed value nobody can account for must not exist (values found already in the case are kept).

A held message is not lost, but the Screener returns nothing of it (``Screened.text`` is ``HELD_TEXT``): the
channel, which still has the original, must not deliver it and keeps it or has it sent again (the email channel
answers 451 so the sending server retries later; the chat tells the customer to send the message again). Once
values may be sealed, sealing and its audit event run shielded from the caller's cancellation.

Every hold counts in ``Screener.holds`` and the ``securedesk_messages_held`` metric, and is recorded as a
``screening.hold`` event when the audit log works. Messages where nothing was masked get no audit event (the
metrics count them); masked ones get ``screening.redact``, refused ones ``screening.block``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, TypeVar

from securedesk.audit import AuditLog
from securedesk.clock import Clock, SystemClock
from securedesk.config import Settings
from securedesk.detection import Detector
from securedesk.detection.conversation import ConversationScan, ConversationScanner, CrossMessageFinding, TextAnalyzer
from securedesk.errors import ConfigError, DetectionError, InvalidInput, RedactionIncomplete
from securedesk.language import DEFAULT_LANGUAGE, LanguageDetector, normalize_language_tag
from securedesk.metrics import Metrics
from securedesk.policy import CHANNELS, Action, Policy, PolicyHolder
from securedesk.screening.analysis import ActedItem, Analysis, TextScreen
from securedesk.screening.batch import SegmentBatch
from securedesk.screening.notices import LinkRequest, Links, NudgeLinks, build_links, render_block_notice, render_nudge
from securedesk.screening.result import (
    HELD_TEXT,
    ChatScreened,
    Decision,
    HoldReason,
    MaskedFinding,
    PartFinding,
    Retraction,
    Screened,
    ScreenedParts,
)
from securedesk.sensitive import Sensitive
from securedesk.vault import SealRequest, SecretRef, Vault
from securedesk.vault import normalize as normalize_secret

logger = logging.getLogger("securedesk.screening")

#: The audit actor and role of screening events: the gateway itself, on behalf of no staff member.
AUDIT_ACTOR: Final = "screening"
AUDIT_ROLE: Final = "system"
#: Locks that serialize "find, else seal" per case (or customer), striped so their number stays bounded.
_LOCK_STRIPES: Final = 64
#: A decimal digit of any script (what detection's normalization turns into ASCII digits).
_ANY_DIGIT: Final = re.compile(r"\d")
#: The text length ``detection_timeout_seconds`` covers; a longer text gets the limit in proportion. The worst case
#: measured (bench/detection.py, dense digits) is about 3 s per MB on one core of the 2-core reference machine, so
#: the default 2 s per 250,000 characters (8 s per MB) leaves room for a loaded machine.
CHARACTERS_PER_TIMEOUT: Final = 250_000

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Work:
    """What the worker thread hands back."""

    analysis: Analysis
    scan: ConversationScan | None = None
    cross: tuple[CrossMessageFinding, ...] = ()
    retractions: tuple[Retraction, ...] = ()


@dataclass(frozen=True)
class _Conversation:
    conversation_id: str
    message_id: str


class Screener:
    """Screens text for one gateway. Build it with ``Screener.build(settings, ...)``; ``close()`` on shutdown.

    ``holds`` counts messages held (for the health endpoint); ``screened`` counts every message screened.
    """

    def __init__(
        self,
        *,
        detector: TextAnalyzer,
        policy: PolicyHolder,
        vault: Vault,
        audit: AuditLog,
        clock: Clock | None = None,
        language: LanguageDetector | None = None,
        detection_timeout: float = 2.0,
        workers: int = 2,
        links: Links | None = None,
        conversations: ConversationScanner | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if not detection_timeout > 0:
            raise ConfigError("detection_timeout_seconds must be positive.")
        if workers < 1:
            raise ConfigError("screening_workers must be at least 1.")
        self._clock = clock if clock is not None else SystemClock()
        self._text = TextScreen(detector, language if language is not None else LanguageDetector.load())
        self._policy = policy
        self._vault = vault
        self._audit = audit
        self._timeout = detection_timeout
        self._links: Links = links if links is not None else NudgeLinks.for_base_url("")
        self._conversations = (
            conversations if conversations is not None else ConversationScanner(detector, clock=self._clock)
        )
        self._metrics = metrics
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="securedesk-screening")
        self._turn = asyncio.Semaphore(1)
        self._locks = tuple(asyncio.Lock() for _ in range(_LOCK_STRIPES))
        self.holds = 0
        self.screened = 0

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        vault: Vault,
        audit: AuditLog,
        policy_holder: PolicyHolder,
        detector: TextAnalyzer | None = None,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
        links: Links | None = None,
    ) -> Screener:
        """Everything from ``settings``: the detector (unless given), the language detector, the thread pool, the
        conversation scanner, and the nudge links under ``public_base_url`` (unless a builder is given)."""
        clock = clock if clock is not None else SystemClock()
        detector = detector if detector is not None else Detector.from_settings(settings)
        return cls(
            detector=detector,
            policy=policy_holder,
            vault=vault,
            audit=audit,
            clock=clock,
            language=LanguageDetector.load(),
            detection_timeout=settings.detection_timeout_seconds,
            workers=settings.screening_workers,
            links=links if links is not None else NudgeLinks.for_base_url(settings.public_base_url),
            conversations=ConversationScanner(
                detector,
                clock=clock,
                max_messages=settings.conversation_max_messages,
                window_seconds=settings.conversation_window_seconds,
                max_conversations=settings.conversation_max_tracked,
            ),
            metrics=metrics,
        )

    @property
    def conversations(self) -> ConversationScanner:
        return self._conversations

    @property
    def policy(self) -> Policy:
        return self._policy.current

    def close(self) -> None:
        """Stop the worker threads (a detection still running is abandoned; its message was already held)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    # --- the door -------------------------------------------------------------------------------------------

    async def screen(
        self,
        text: str,
        *,
        channel: str,
        lang: str | None,
        case_id: str | None,
        sender: str | None,
        customer_id: str | None = None,
        links: Links | None = None,
    ) -> Screened:
        """Screen one message. Never raises for a failure of detection, redaction, the vault or the audit log:
        those give ``Decision.HOLD``. Raises ``InvalidInput`` for a caller's mistake (unknown channel, not text)."""
        result = await self._run(
            text, channel=channel, lang=lang, case_id=case_id, customer_id=customer_id, links=links, chat=None
        )
        return result.screened

    async def screen_chat(
        self,
        conversation_id: str,
        message_id: str,
        text: str,
        *,
        lang: str | None,
        case_id: str | None,
        sender: str | None,
        customer_id: str | None = None,
        links: Links | None = None,
    ) -> ChatScreened:
        """Screen a chat message in its conversation: as ``screen``, plus numbers typed across this and the
        previous messages (``ConversationScanner``). Messages of one conversation must be screened one at a time,
        in the order they were sent."""
        if not conversation_id or not message_id:
            raise InvalidInput("A chat message needs its conversation id and message id.")
        return await self._run(
            text,
            channel="chat",
            lang=lang,
            case_id=case_id,
            customer_id=customer_id,
            links=links,
            chat=_Conversation(conversation_id, message_id),
        )

    async def screen_many(
        self,
        texts: Sequence[str],
        *,
        channel: str,
        lang: str | None,
        case_id: str | None,
        sender: str | None,
        customer_id: str | None = None,
        links: Links | None = None,
        conversation: tuple[str, str] | None = None,
        source: str | None = None,
    ) -> ScreenedParts:
        """Screen several texts of one message (an email's headers and parts, a form's fields, an API call's named
        parts) as one message: one decision, one audit event, numbers never joined across two texts. With
        ``conversation`` (conversation id, message id) the message is screened in that conversation as a chat
        message is (``screen_chat``): numbers typed across this and earlier messages are found too. ``source``
        names what vaulted values came from (default: the channel), e.g. the API key that sent them."""
        if not all(isinstance(text, str) for text in texts):
            raise InvalidInput("Only text can be screened.")
        batch = SegmentBatch(texts)
        chat_state: _Conversation | None = None
        if conversation is not None:
            if not conversation[0] or not conversation[1]:
                raise InvalidInput("A message in a conversation needs its conversation id and message id.")
            chat_state = _Conversation(*conversation)
        result = await self._run(
            batch.joined,
            channel=channel,
            lang=lang,
            case_id=case_id,
            customer_id=customer_id,
            links=links,
            chat=chat_state,
            source=source,
        )
        screened = result.screened
        chat = result if chat_state is not None else None
        if screened.decision is Decision.HOLD:
            return ScreenedParts(screened, tuple(HELD_TEXT for _ in texts), chat=chat)
        parts = tuple(batch.split(screened.text))
        located = []
        for finding in screened.findings:
            part, start, end = batch.locate(finding.start, finding.end)
            located.append(PartFinding(part, finding, start, end))
        return ScreenedParts(screened, parts, tuple(located), chat)

    async def carries_protected(self, text: str) -> bool:
        """Whether ``text`` (an envelope address, a routing value: something that is used, never shown) holds a
        number any policy protects. Raises ``DetectionError`` when that cannot be told in time (fail closed)."""
        if _ANY_DIGIT.search(text) is None:
            return False
        detector = self._text.detector
        try:
            findings = await self._in_worker(
                lambda: detector.analyze(text, detector.languages[0]), limit=self._limit_for(text)
            )
        except TimeoutError:
            raise DetectionError("An address could not be screened in time; the message is held.") from None
        return bool(findings)

    # --- the pipeline ---------------------------------------------------------------------------------------

    async def _run(
        self,
        text: str,
        *,
        channel: str,
        lang: str | None,
        case_id: str | None,
        customer_id: str | None,
        links: Links | None,
        chat: _Conversation | None,
        source: str | None = None,
    ) -> ChatScreened:
        if not isinstance(text, str):
            raise InvalidInput("Only text can be screened.")
        if channel not in CHANNELS:
            raise InvalidInput(f"Unknown channel {channel!r}.", hint=f"use one of {', '.join(CHANNELS)}")
        started = time.perf_counter()
        self.screened += 1
        policy = self._policy.current  # one policy for the whole message, even if a reload happens meanwhile
        given_lang = normalize_language_tag(lang)
        fallback_lang = given_lang or DEFAULT_LANGUAGE
        try:
            if given_lang is not None and _ANY_DIGIT.search(text) is None:
                # Every entity we detect holds digits (any script's): nothing to detect, no language to guess.
                work = _Work(Analysis(*self._text.resolve_language(text, given_lang), text))
            else:
                work = await self._in_worker(
                    lambda: self._analyze(text, lang, channel, policy, chat), limit=self._limit_for(text)
                )
        except TimeoutError as exc:
            return await self._hold(HoldReason.DETECTION_TIMEOUT, exc, channel, fallback_lang, case_id, started)
        except RedactionIncomplete as exc:
            return await self._hold(HoldReason.REDACTION_FAILED, exc, channel, fallback_lang, case_id, started)
        except Exception as exc:
            return await self._hold(HoldReason.DETECTION_FAILED, exc, channel, fallback_lang, case_id, started)

        # Shielded: once values may be sealed, sealing and its audit event finish together even if the caller
        # goes away (a dropped connection cancels its task), so no sealed value is left unaccounted for.
        return await asyncio.shield(
            self._finish(
                work,
                channel=channel,
                case_id=case_id,
                customer_id=customer_id,
                links=links,
                chat=chat,
                started=started,
                source=source,
            )
        )

    async def _finish(
        self,
        work: _Work,
        *,
        channel: str,
        case_id: str | None,
        customer_id: str | None,
        links: Links | None,
        chat: _Conversation | None,
        started: float,
        source: str | None = None,
    ) -> ChatScreened:
        """Decide, seal, audit, remember the chat fragments, count."""
        analysis = work.analysis
        counts = analysis.counts
        action = analysis.action
        if action is Action.ALLOW:
            return self._done(work, Decision.DELIVER, (), None, channel, chat, started)
        try:
            request = LinkRequest(channel, analysis.lang, case_id, customer_id, tuple(counts))
            if action is Action.BLOCK:
                decision = Decision.BLOCK
                notice: str | None = render_block_notice(
                    analysis.lang, tuple(counts), await self._links_for(links, request)
                )
            elif any(acted.rule.nudge for acted in analysis.items):
                decision = Decision.DELIVER_WITH_NUDGE
                notice = render_nudge(analysis.lang, await self._links_for(links, request))
            else:
                decision, notice = Decision.DELIVER, None
        except Exception as exc:  # a bug in the texts: the message is safe, but say nothing wrong to the customer
            return await self._hold(
                HoldReason.INTERNAL_ERROR, exc, channel, analysis.lang, case_id, started, counts, work.retractions
            )
        secrets: tuple[SecretRef, ...] = ()
        new_tokens: list[str] = []
        if decision is not Decision.BLOCK:  # a refused message keeps nothing, not even encrypted
            try:
                secrets, new_tokens = await self._seal(analysis.items, source or channel, case_id, customer_id)
            except Exception as exc:
                return await self._hold(
                    HoldReason.VAULT_FAILED, exc, channel, analysis.lang, case_id, started, counts, work.retractions
                )
        try:
            await self._audit.record(
                actor=AUDIT_ACTOR,
                role=AUDIT_ROLE,
                action="screening.block" if decision is Decision.BLOCK else "screening.redact",
                target=case_id or "",
                outcome="denied" if decision is Decision.BLOCK else "success",
                channel=channel,
                reason=_audit_reason(decision, analysis, secrets, new_count=len(new_tokens), cross=work.cross),
            )
        except Exception as exc:
            await self._shred(new_tokens)
            if self._metrics is not None:
                self._metrics.record_audit_failure()
            return await self._hold(
                HoldReason.AUDIT_FAILED, exc, channel, analysis.lang, case_id, started, counts, work.retractions
            )
        return self._done(work, decision, secrets, notice, channel, chat, started)

    def _done(
        self,
        work: _Work,
        decision: Decision,
        secrets: tuple[SecretRef, ...],
        notice: str | None,
        channel: str,
        chat: _Conversation | None,
        started: float,
    ) -> ChatScreened:
        analysis = work.analysis
        hold_fragment = False
        if chat is not None:
            if decision is Decision.BLOCK:  # not delivered: nothing of it can continue in the next message
                self._conversations.record(chat.conversation_id, chat.message_id, "", consumed=True)
            else:
                hold_fragment = self._conversations.record(
                    chat.conversation_id, chat.message_id, analysis.text, consumed=bool(work.cross)
                )
        self._observe(channel, decision, analysis.counts, started)
        screened = Screened(
            text=analysis.text,
            decision=decision,
            entities=analysis.counts,
            secrets=secrets,
            nudge=notice,
            lang=analysis.lang,
            discarded=analysis.discarded,
            findings=self._findings(analysis.items, secrets),
        )
        return ChatScreened(
            screened=screened,
            retract=tuple(retraction.message_id for retraction in work.retractions),
            replacements=work.retractions,
            hold_fragment=hold_fragment,
        )

    def _analyze(self, text: str, lang: str | None, channel: str, policy: Policy, chat: _Conversation | None) -> _Work:
        """The CPU-bound part (worker thread): detection, policy, redaction, and the cross-message scan."""
        analysis = self._text.analyze(text, lang_hint=lang, channel=channel, policy=policy)
        if chat is None:
            return _Work(analysis)
        floor = self._text.cross_floor(channel, policy, self._conversations.entity_types)
        if floor is None:
            return _Work(analysis)
        scan = self._conversations.scan(
            chat.conversation_id, chat.message_id, analysis.text, analysis.detector_lang, min_score=floor
        )
        if not scan.findings:
            return _Work(analysis, scan)
        try:
            updated, cross, retractions = self._text.apply_cross(analysis, scan, channel=channel, policy=policy)
        except DetectionError:
            raise
        except Exception as exc:
            raise RedactionIncomplete(f"Masking a number split across messages failed ({type(exc).__name__}).") from exc
        return _Work(updated, scan, cross, retractions)

    def _limit_for(self, text: str) -> float:
        """The time limit for screening ``text``: ``detection_timeout_seconds``, scaled in proportion beyond
        ``CHARACTERS_PER_TIMEOUT`` characters. Detection is linear in its input, so a large mail is given time in
        proportion, never unbounded time; a text that still does not finish is held (fail closed)."""
        return self._timeout * max(1.0, len(text) / CHARACTERS_PER_TIMEOUT)

    async def _in_worker(self, work: Callable[[], _T], *, limit: float | None = None) -> _T:
        """Run ``work`` on a worker thread within the time limit, one job at a time.

        The work is pure Python (it holds the GIL), so a second job running at once would not finish sooner; it
        would only slow down the threads that must get the GIL back quickly, the database's above all. The other
        worker threads are spares: a job that timed out keeps its thread (threads cannot be stopped) but gives up
        its turn, so the next message runs on a spare at once. The limit counts from the start of the job.
        """
        loop = asyncio.get_running_loop()
        async with self._turn:
            async with asyncio.timeout(self._timeout if limit is None else limit):
                return await loop.run_in_executor(self._executor, work)

    async def _seal(
        self, items: Sequence[ActedItem], channel: str, case_id: str | None, customer_id: str | None
    ) -> tuple[tuple[SecretRef, ...], list[str]]:
        """One secret per distinct value: reuse the case's (or customer's) existing secret found by blind index,
        seal the others in one all-or-none transaction. Returns every ref (item order) and the new tokens."""
        wanted: dict[tuple[str, str], ActedItem] = {}
        for acted in items:
            if acted.action is Action.VAULT:
                kind = acted.item.entity_type
                canonical = normalize_secret(kind, acted.item.digits).canonical.reveal()
                wanted.setdefault((kind, canonical), acted)
        if not wanted:
            return (), []
        scope = case_id if case_id is not None else customer_id
        lock = self._locks[hash(scope) % _LOCK_STRIPES] if scope is not None else contextlib.nullcontext()
        async with lock:
            refs: dict[tuple[str, str], SecretRef] = {}
            if scope is not None:  # without a case or customer there is nothing to be "the same" within
                for key in wanted:
                    found = await self._vault.find(key[0], Sensitive(key[1]), case_id=case_id, customer_id=customer_id)
                    if found is not None:
                        refs[key] = found
            missing = [key for key in wanted if key not in refs]
            sealed = await self._vault.seal_many(
                [
                    SealRequest(
                        kind=key[0],
                        value=Sensitive(key[1]),
                        source=channel,
                        case_id=case_id,
                        customer_id=customer_id,
                        retention_days=wanted[key].rule.retention_days,
                    )
                    for key in missing
                ]
            )
            refs.update(zip(missing, sealed, strict=True))
        return tuple(refs[key] for key in wanted), [ref.token for ref in sealed]

    @staticmethod
    def _findings(items: Sequence[ActedItem], secrets: Sequence[SecretRef]) -> tuple[MaskedFinding, ...]:
        """What was masked, in text order, with the vault token of each vaulted value (``secrets`` holds one ref per
        distinct vaulted value, in the order ``_seal`` met them)."""
        refs = iter(secrets)
        tokens: dict[tuple[str, str], str | None] = {}
        found = []
        for acted in items:
            item = acted.item
            token = None
            if acted.action is Action.VAULT and secrets:  # nothing sealed (a refused message): nothing to look up
                key = (item.entity_type, normalize_secret(item.entity_type, item.digits).canonical.reveal())
                if key not in tokens:  # the first time a value is met, it takes the next ref, as ``_seal`` did
                    ref = next(refs, None)
                    tokens[key] = ref.token if ref is not None else None
                token = tokens[key]
            found.append(MaskedFinding(item.entity_type, item.start, item.end, item.mask, acted.action.value, token))
        return tuple(sorted(found, key=lambda finding: finding.start))

    async def _shred(self, tokens: Sequence[str]) -> None:
        for token in tokens:
            try:
                await self._vault.delete(token)
            except Exception as exc:
                logger.error(
                    "screening.shred_failed",
                    extra={"fields": {"token": token, "error": type(exc).__name__}},
                )

    async def _links_for(self, links: Links | None, request: LinkRequest) -> NudgeLinks:
        try:
            return await build_links(links if links is not None else self._links, request)
        except Exception as exc:
            # The text is already safe; a broken link builder must not hold it. Offer the generic pages instead.
            logger.warning(
                "screening.links_failed", extra={"fields": {"channel": request.channel, "error": type(exc).__name__}}
            )
            return self._links if isinstance(self._links, NudgeLinks) else NudgeLinks.for_base_url("")

    async def _hold(
        self,
        reason: HoldReason,
        exc: BaseException,
        channel: str,
        lang: str,
        case_id: str | None,
        started: float,
        counts: dict[str, int] | None = None,
        retractions: tuple[Retraction, ...] = (),
    ) -> ChatScreened:
        self.holds += 1
        logger.warning(
            "screening.hold",
            extra={"fields": {"channel": channel, "reason": reason.value, "error": type(exc).__name__}},
        )
        try:
            await self._audit.record(
                actor=AUDIT_ACTOR,
                role=AUDIT_ROLE,
                action="screening.hold",
                target=case_id or "",
                outcome="error",
                channel=channel,
                reason=f"decision=hold; held_reason={reason.value}; error={type(exc).__name__}",
            )
        except Exception as audit_exc:
            if self._metrics is not None:
                self._metrics.record_audit_failure()
            logger.error(
                "screening.hold_not_audited",
                extra={"fields": {"channel": channel, "reason": reason.value, "error": type(audit_exc).__name__}},
            )
        if self._metrics is not None:
            self._metrics.record_hold(channel=channel)
        self._observe(channel, Decision.HOLD, counts or {}, started)
        screened = Screened(
            text=HELD_TEXT, decision=Decision.HOLD, entities=counts or {}, lang=lang, held_reason=reason
        )
        return ChatScreened(
            screened=screened,
            retract=tuple(retraction.message_id for retraction in retractions),
            replacements=retractions,
        )

    def _observe(self, channel: str, decision: Decision, counts: dict[str, int], started: float) -> None:
        if self._metrics is not None:
            self._metrics.record_screening(
                channel=channel, decision=decision.value, entities=counts, seconds=time.perf_counter() - started
            )


def _audit_reason(
    decision: Decision,
    analysis: Analysis,
    secrets: tuple[SecretRef, ...],
    *,
    new_count: int,
    cross: tuple[CrossMessageFinding, ...],
) -> str:
    """Types and counts only: ``decision=deliver_with_nudge; CREDIT_CARD=1 IBAN_CODE=1; vaulted=1; …``."""
    counts = " ".join(f"{kind}={count}" for kind, count in sorted(analysis.counts.items()))
    parts = [f"decision={decision.value}", counts]
    actions = sorted({acted.action.value for acted in analysis.items})
    parts.append(f"actions={','.join(actions)}")
    if secrets:
        parts.append(f"vaulted={len(secrets)} new={new_count}")
    if analysis.discarded:
        parts.append(f"discarded={analysis.discarded}")
    if cross:
        parts.append(f"cross_message={len(cross)}")
    return "; ".join(parts)
