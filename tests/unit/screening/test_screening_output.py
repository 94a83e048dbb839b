"""The redacted output, over the test vectors: a second scan finds nothing the policy requires removed, and no value
survives in any form; the entity counts and masks are exact."""

from __future__ import annotations

import itertools

import pytest
from screening_support import VECTORS, MakeScreener, WritePolicy, compact, uniform_policy

from securedesk.detection import Detector
from securedesk.policy import CHANNELS, PolicyHolder
from securedesk.redaction import MASK_LABELS
from securedesk.screening import Decision
from securedesk.screening.analysis import select_findings


@pytest.mark.parametrize(("vector", "channel"), list(itertools.product(VECTORS, CHANNELS)))
@pytest.mark.parametrize("policy_text", [None, uniform_policy("redact", threshold=0.4)], ids=["default", "redact"])
async def test_a_scan_of_the_output_finds_nothing_to_remove(
    vector: tuple[str, str, str, str],
    channel: str,
    policy_text: str | None,
    make_screener: MakeScreener,
    write_policy: WritePolicy,
    default_policy: PolicyHolder,
    detector: Detector,
) -> None:
    text, lang, entity, value = vector
    holder = write_policy(policy_text) if policy_text is not None else default_policy
    screener = make_screener(holder)

    screened = await screener.screen(text, channel=channel, lang=lang, case_id=None, sender=None)

    assert screened.decision in (Decision.DELIVER, Decision.DELIVER_WITH_NUDGE)
    assert dict(screened.entities) == {entity: 1}
    assert f"[{MASK_LABELS[entity]} ••••" in screened.text
    assert value not in compact(screened.text)
    rules = holder.current.rules_for(channel)
    floor = min(rule.threshold for rule in rules.values())
    for scan_lang in ("en", "fr", "sv"):
        leftover, _ = select_findings(
            detector.analyze(screened.text, scan_lang, min_score=floor), rules, holder.current
        )
        assert leftover == []


@pytest.mark.parametrize("vector", VECTORS, ids=[v[2] + ":" + v[0][:20] for v in VECTORS])
async def test_the_whole_canary_set_in_one_email(
    vector: tuple[str, str, str, str], make_screener: MakeScreener, detector: Detector
) -> None:
    """All vectors in one long email, the one under test moved to the end: every value masked, counts exact."""
    others = [v[0] for v in VECTORS if v is not vector]
    body = "\n\n".join(["Hello support,", *others, vector[0], "Regards, A. Customer"])

    screened = await make_screener().screen(body, channel="email", lang=None, case_id=None, sender=None)

    expected: dict[str, int] = {}
    for _, _, entity, _ in VECTORS:
        expected[entity] = expected.get(entity, 0) + 1
    assert dict(screened.entities) == expected
    folded = compact(screened.text)
    for _, _, _, value in VECTORS:
        assert value not in folded


async def test_concurrent_screening_gives_the_sequential_results(make_screener: MakeScreener) -> None:
    """Detection runs on several worker threads at once: the results must not depend on it."""
    import asyncio

    screener = make_screener(None, None, screening_workers=4)
    texts = [text for text, _, _, _ in VECTORS] * 4
    sequential = [
        (s.text, dict(s.entities))
        for s in [await screener.screen(t, channel="chat", lang=None, case_id=None, sender=None) for t in texts]
    ]

    concurrent = await asyncio.gather(
        *(screener.screen(t, channel="chat", lang=None, case_id=None, sender=None) for t in texts)
    )

    assert [(s.text, dict(s.entities)) for s in concurrent] == sequential
