"""Sealing ``vault`` values: one secret per distinct value per case (blind index), retention from the rule, and
card verification codes and expiry dates never sealed."""

from __future__ import annotations

import pytest
from screening_support import MakeCase, MakeScreener, WritePolicy, secret_count, uniform_policy

from securedesk.clock import FixedClock
from securedesk.screening import Decision
from securedesk.storage.database import Database
from securedesk.vault import Vault

CARD = "4111 1111 1111 1111"
VAULT_ALL = uniform_policy(
    "vault", extra="[entities.CREDIT_CARD]\nretention_days = 14\n[entities.IBAN_CODE]\nretention_days = 90\n"
)


async def test_the_same_card_twice_in_a_case_is_one_secret(
    make_screener: MakeScreener, write_policy: WritePolicy, make_case: MakeCase, db: Database
) -> None:
    screener = make_screener(write_policy(VAULT_ALL))
    case_id = await make_case("case_1")

    first = await screener.screen(f"card {CARD}", channel="form", lang="en", case_id=case_id, sender=None)
    # Another format of the same number, twice in one message, in a later message of the case.
    second = await screener.screen(
        "again 4111-1111-1111-1111 and 4111111111111111", channel="chat", lang="en", case_id=case_id, sender=None
    )

    assert [ref.token for ref in first.secrets] == [first.secrets[0].token]
    assert [ref.token for ref in second.secrets] == [first.secrets[0].token]
    assert dict(second.entities) == {"CREDIT_CARD": 2}
    assert await secret_count(db) == 1


async def test_the_same_card_in_two_cases_is_two_secrets(
    make_screener: MakeScreener, write_policy: WritePolicy, make_case: MakeCase, db: Database
) -> None:
    screener = make_screener(write_policy(VAULT_ALL))
    one = await screener.screen(f"card {CARD}", channel="form", lang="en", case_id=await make_case("a"), sender=None)
    two = await screener.screen(f"card {CARD}", channel="form", lang="en", case_id=await make_case("b"), sender=None)

    assert one.secrets[0].token != two.secrets[0].token
    assert await secret_count(db) == 2


async def test_distinct_values_in_one_message_are_distinct_secrets(
    make_screener: MakeScreener, write_policy: WritePolicy, make_case: MakeCase, db: Database
) -> None:
    screener = make_screener(write_policy(VAULT_ALL))
    screened = await screener.screen(
        f"cards {CARD} and 5555 5555 5555 4444, IBAN GB82 WEST 1234 5698 7654 32",
        channel="form",
        lang="en",
        case_id=await make_case("a"),
        sender=None,
    )

    assert [(ref.kind, ref.last4) for ref in screened.secrets] == [
        ("CREDIT_CARD", "1111"),
        ("CREDIT_CARD", "4444"),
        ("IBAN_CODE", "5432"),
    ]
    assert len({ref.token for ref in screened.secrets}) == 3
    assert await secret_count(db) == 3


async def test_without_a_case_the_customer_scopes_the_deduplication(
    make_screener: MakeScreener, write_policy: WritePolicy, make_case: MakeCase, db: Database
) -> None:
    screener = make_screener(write_policy(VAULT_ALL))
    await make_case("x", customer_id="cus_1")  # creates the customer
    first = await screener.screen(f"{CARD}", channel="form", lang="en", case_id=None, sender=None, customer_id="cus_1")
    again = await screener.screen(f"{CARD}", channel="form", lang="en", case_id=None, sender=None, customer_id="cus_1")
    anonymous = await screener.screen(f"{CARD}", channel="form", lang="en", case_id=None, sender=None)

    assert again.secrets[0].token == first.secrets[0].token
    # With neither case nor customer nothing can be "the same": a value is never matched across strangers.
    assert anonymous.secrets[0].token != first.secrets[0].token
    assert await secret_count(db) == 2


async def test_concurrent_messages_of_one_case_share_one_secret(
    make_screener: MakeScreener, write_policy: WritePolicy, make_case: MakeCase, db: Database
) -> None:
    import asyncio

    screener = make_screener(write_policy(VAULT_ALL))
    case_id = await make_case("a")
    results = await asyncio.gather(
        *(screener.screen(f"card {CARD}", channel="form", lang="en", case_id=case_id, sender=None) for _ in range(6))
    )

    assert len({result.secrets[0].token for result in results}) == 1
    assert await secret_count(db) == 1


@pytest.mark.parametrize(("text", "days"), [(f"card {CARD}", 14), ("IBAN GB82 WEST 1234 5698 7654 32", 90)])
async def test_retention_comes_from_the_rule(
    text: str,
    days: int,
    make_screener: MakeScreener,
    write_policy: WritePolicy,
    make_case: MakeCase,
    clock: FixedClock,
) -> None:
    screener = make_screener(write_policy(VAULT_ALL))
    screened = await screener.screen(text, channel="form", lang="en", case_id=await make_case("a"), sender=None)

    assert screened.secrets[0].expires_at == clock.now() + days * 86_400


async def test_the_sealed_value_is_the_number_and_opens_only_through_the_audit_hook(
    make_screener: MakeScreener, write_policy: WritePolicy, make_case: MakeCase, vault: Vault
) -> None:
    screener = make_screener(write_policy(VAULT_ALL))
    screened = await screener.screen(
        "card 4111-1111-1111-1111 exp 12/29 cvv 737",
        channel="form",
        lang="en",
        case_id=await make_case("a"),
        sender=None,
    )
    reveals: list[str] = []

    async def hook(*, token: str, kind: str, actor: str, reason: str) -> None:
        reveals.append(token)

    value = await vault.open(screened.secrets[0].token, actor="agent_1", reason="refund", audit=hook)

    assert value.reveal() == "4111111111111111"
    assert reveals == [screened.secrets[0].token]


async def test_cvv_and_expiry_next_to_a_card_are_never_sealed(
    make_screener: MakeScreener, write_policy: WritePolicy, make_case: MakeCase, db: Database, vault: Vault
) -> None:
    screener = make_screener(write_policy(VAULT_ALL))
    screened = await screener.screen(
        f"card {CARD} exp 12/29 cvv 737", channel="form", lang="en", case_id=await make_case("a"), sender=None
    )

    assert screened.text == "card [CARD •••• 1111] [EXPIRY removed] [CVV removed]"
    assert screened.discarded == 2
    assert [ref.kind for ref in screened.secrets] == ["CREDIT_CARD"]
    assert await secret_count(db) == 1

    async def hook(*, token: str, kind: str, actor: str, reason: str) -> None:
        return None

    # The one secret is the card number alone: the code and the date were dropped, not sealed beside it.
    opened = await vault.open(screened.secrets[0].token, actor="agent_1", reason="check", audit=hook)
    assert opened.reveal() == "4111111111111111"


async def test_a_blocked_message_seals_nothing(
    make_screener: MakeScreener, write_policy: WritePolicy, make_case: MakeCase, db: Database
) -> None:
    policy = uniform_policy("vault", extra='[entities.US_SSN]\naction = "block"\n')
    screener = make_screener(write_policy(policy))
    screened = await screener.screen(
        f"card {CARD}, SSN 123-45-6789", channel="chat", lang="en", case_id=await make_case("a"), sender=None
    )

    assert screened.decision is Decision.BLOCK
    assert await secret_count(db) == 0
