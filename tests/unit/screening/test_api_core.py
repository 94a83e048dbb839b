"""The screening API's core on a real vault, audit log and SQLite file: API keys (hashed, scoped, rotated, revoked,
rate-limited, audited), ``Screener.screen_many`` (one message, findings per part, nothing joined across parts) and
``ScreeningApi`` (conversations per key, detokenize bound to the key that vaulted)."""

from __future__ import annotations

import pytest
from screening_support import MakeScreener, WritePolicy, uniform_policy

from securedesk.audit import AuditLog
from securedesk.channels.api import Part, ScreeningApi
from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.errors import (
    AuditError,
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from securedesk.identity import Actor
from securedesk.identity.api_keys import ApiKeys, ApiPrincipal
from securedesk.screening import Decision, NudgeLinks
from securedesk.storage.api_keys import SqliteApiKeyRepository
from securedesk.storage.database import Database
from securedesk.vault import Vault

OPERATOR = Actor(name="cli:test", role="system", channel="cli")


@pytest.fixture
def api_keys(db: Database, vault: Vault, audit: AuditLog, clock: FixedClock) -> ApiKeys:
    return ApiKeys(SqliteApiKeyRepository(db), hasher=vault.lookup_hash, audit=audit, clock=clock)


@pytest.fixture
def api(make_screener: MakeScreener, api_keys: ApiKeys, vault: Vault, audit: AuditLog) -> ScreeningApi:
    return ScreeningApi(
        screener=make_screener(), keys=api_keys, vault=vault, audit=audit,
        links=NudgeLinks.for_base_url("https://desk.example"),
    )  # fmt: skip


async def principal(keys: ApiKeys, name: str, scopes: tuple[str, ...] = ("screen", "detokenize")) -> ApiPrincipal:
    issued = await keys.add(name, scopes=scopes, channel="forum", actor=OPERATOR, rate_per_minute=3)
    return await keys.authenticate(f"Bearer {issued.key.reveal()}")


async def test_a_key_is_stored_only_as_its_keyed_hash(api_keys: ApiKeys, settings: Settings) -> None:
    issued = await api_keys.add("forum", scopes=["screen"], channel="forum", actor=OPERATOR)
    key = issued.key.reveal()

    caller = await api_keys.authenticate(f"Bearer {key}")

    assert (caller.name, caller.scopes, caller.channel) == ("forum", frozenset({"screen"}), "forum")
    assert issued.record.key_hash != key
    assert len(issued.record.key_hash) == 64
    on_disk = b"".join(p.read_bytes() for p in settings.data_dir.glob("securedesk.db*"))
    assert key.encode() not in on_disk
    assert key.split("_")[2].encode() not in on_disk
    assert repr(issued).count(key) == 0


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer sdk_0000000000000000_" + "A" * 43, "Token abc", "Bearer " + "x" * 10_000]
)
async def test_bad_keys_are_refused_alike(api_keys: ApiKeys, header: str | None) -> None:
    await api_keys.add("forum", scopes=["screen"], channel="forum", actor=OPERATOR)
    with pytest.raises(AuthenticationFailed, match="missing, invalid or revoked"):
        await api_keys.authenticate(header)


async def test_rotation_and_revocation_take_effect_at_once(api_keys: ApiKeys) -> None:
    first = await api_keys.add("forum", scopes=["screen"], channel="forum", actor=OPERATOR)
    second = await api_keys.rotate("forum", actor=OPERATOR)
    with pytest.raises(AuthenticationFailed):
        await api_keys.authenticate(f"Bearer {first.key.reveal()}")
    assert (await api_keys.authenticate(f"Bearer {second.key.reveal()}")).name == "forum"
    await api_keys.revoke("forum", actor=OPERATOR)
    with pytest.raises(AuthenticationFailed):
        await api_keys.authenticate(f"Bearer {second.key.reveal()}")
    with pytest.raises(NotFound):
        await api_keys.revoke("forum", actor=OPERATOR)
    assert [record.live for record in await api_keys.list(include_revoked=True)] == [False, False]


@pytest.mark.parametrize(
    ("name", "scopes", "channel", "rate"),
    [("F", ["screen"], "forum", 10), ("forum", ["read"], "forum", 10), ("forum", [], "forum", 10),
     ("forum", ["screen"], "Forum!", 10), ("forum", ["screen"], "forum", 0)],
)  # fmt: skip
async def test_bad_key_settings_are_refused(
    api_keys: ApiKeys, name: str, scopes: list[str], channel: str, rate: int
) -> None:
    with pytest.raises(InvalidInput):
        await api_keys.add(name, scopes=scopes, channel=channel, actor=OPERATOR, rate_per_minute=rate)


async def test_a_name_is_taken_once(api_keys: ApiKeys) -> None:
    await api_keys.add("forum", scopes=["screen"], channel="forum", actor=OPERATOR)
    with pytest.raises(Conflict):
        await api_keys.add("forum", scopes=["screen"], channel="forum", actor=OPERATOR)


async def test_no_key_without_its_audit_event(
    api_keys: ApiKeys, audit: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(**_: object) -> None:
        raise AuditError("disk full")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(AuditError):
        await api_keys.add("forum", scopes=["screen"], channel="forum", actor=OPERATOR)
    assert await api_keys.list(include_revoked=True) == []


async def test_the_rate_limit_counts_per_key_per_minute(api_keys: ApiKeys, clock: FixedClock) -> None:
    caller = await principal(api_keys, "forum")
    for _ in range(3):
        api_keys.admit(caller)
    with pytest.raises(RateLimited) as limited:
        api_keys.admit(caller)
    assert limited.value.retry_after == 60
    clock.advance(61)
    api_keys.admit(caller)


async def test_screen_many_reports_findings_per_part_and_never_joins_parts(make_screener: MakeScreener) -> None:
    texts = ["Card 4111 1111", "1111 1111 and SSN 536-22-1847 please", "IBAN GB82 WEST 1234 5698 7654 32"]
    result = await make_screener().screen_many(texts, channel="api", lang="en", case_id=None, sender=None)

    assert result.decision is Decision.DELIVER_WITH_NUDGE
    assert result.texts == ("Card 4111 1111", "1111 1111 and SSN [SSN •••• 1847] please", "IBAN [IBAN •••• 5432]")
    found = [(f.part, f.finding.entity_type, texts[f.part][f.start : f.end], f.finding.action) for f in result.findings]
    assert found == [(1, "US_SSN", "536-22-1847", "redact"), (2, "IBAN_CODE", "GB82 WEST 1234 5698 7654 32", "vault")]
    assert result.findings[1].finding.token is not None
    assert result.findings[0].finding.token is None


async def test_conversations_are_kept_apart_per_key(api: ScreeningApi) -> None:
    forum = await principal(api.keys, "forum")
    other = await principal(api.keys, "other")
    first = await api.screen(forum, [Part("m", "card 4111 1111")], lang="en", conversation_id="c", message_id="m1")
    elsewhere = await api.screen(other, [Part("m", "1111 1111")], lang="en", conversation_id="c", message_id="x1")
    second = await api.screen(forum, [Part("m", "1111 1111")], lang="en", conversation_id="c", message_id="m2")

    assert (first.fragment_masked, first.parts[0].text) == (True, "card •••• ••••")
    assert elsewhere.decision is Decision.DELIVER
    assert second.parts[0].text == "[CARD •••• 1111]"
    assert [(r.message_id, r.text) for r in second.replacements] == [("m1", "card [CARD ••••]")]


async def test_detokenize_opens_only_what_the_same_key_vaulted(api: ScreeningApi) -> None:
    forum = await principal(api.keys, "forum")
    other = await principal(api.keys, "other")
    screen_only = await principal(api.keys, "reader", ("screen",))
    result = await api.screen(forum, [Part("b", "IBAN GB82 WEST 1234 5698 7654 32")], lang="en")
    token = result.findings[0].finding.token
    assert token is not None

    value = await api.detokenize(forum, token, "refund for ticket 12", origin_ip=None)

    assert value.reveal() == "GB82WEST12345698765432"
    with pytest.raises(NotFound):
        await api.detokenize(other, token, "refund for ticket 12", origin_ip=None)
    with pytest.raises(PermissionDenied):
        await api.detokenize(screen_only, token, "refund for ticket 12", origin_ip=None)
    with pytest.raises(InvalidInput):
        await api.detokenize(forum, token, "why", origin_ip=None)


async def test_a_refused_message_reports_where_without_any_token(
    make_screener: MakeScreener, write_policy: WritePolicy
) -> None:
    screener = make_screener(write_policy(uniform_policy("block")))
    texts = ["IBAN GB82 WEST 1234 5698 7654 32", "and card 4111 1111 1111 1111"]
    result = await screener.screen_many(texts, channel="api", lang="en", case_id=None, sender=None)

    assert result.decision is Decision.BLOCK
    found = [(f.part, f.finding.entity_type, f.finding.action, f.finding.token) for f in result.findings]
    assert found == [(0, "IBAN_CODE", "block", None), (1, "CREDIT_CARD", "block", None)]
