"""The MIME walker and rewriter over the generated corpus, screened by the real Screener (real detector, vault, audit
log and default policy): every sample handled, none crashes, none leaks in any encoding."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Awaitable, Callable
from email.message import EmailMessage

import email_corpus as corpus
import pytest
from email_leaks import decoded_text, find_leaks
from email_screening import Screening

from securedesk.channels.email.mime import MimeDocument, MimeLimits, RebuiltEmail
from securedesk.policy import AttachmentHandling, AttachmentPolicy
from securedesk.screening import Decision, Screened
from securedesk.screening.batch import SegmentBatch

WITHHOLD_ALL = AttachmentPolicy({"text": AttachmentHandling.SCREEN})
LIMITS = MimeLimits(max_depth=10, max_parts=500)
SAMPLES = corpus.samples()

ScreenEmail = Callable[..., Awaitable[tuple[RebuiltEmail, Screened]]]


@pytest.fixture
def screen_email(screening: Screening) -> ScreenEmail:
    """Parse, screen in one real ``Screener.screen`` call (as the intake does), and rebuild."""

    async def screen(raw: bytes, *, quarantine: bool = False) -> tuple[RebuiltEmail, Screened]:
        document = MimeDocument.parse(raw, limits=LIMITS, attachments=WITHHOLD_ALL)
        batch = SegmentBatch(document.segments)
        result = await screening.screener.screen(batch.joined, channel="email", lang=None, case_id=None, sender=None)
        if result.decision is Decision.HOLD:
            raise AssertionError(f"the Screener held the message: {result.held_reason}")
        refs = {i: f"qua_{i}" for i in range(len(document.withheld))} if quarantine else {}
        rebuilt = document.rebuild(
            batch.split(result.text),
            entity_count=sum(result.entities.values()),
            quarantine_refs=refs,
            authserv_id="gateway.securedesk.test",
        )
        return rebuilt, result

    return screen


@pytest.fixture
def screen_and_rebuild(screen_email: ScreenEmail) -> Callable[..., Awaitable[RebuiltEmail]]:
    async def rebuild(raw: bytes, *, quarantine: bool = False) -> RebuiltEmail:
        return (await screen_email(raw, quarantine=quarantine))[0]

    return rebuild


def test_corpus_is_large_enough() -> None:
    assert len(SAMPLES) >= 30
    assert len({s.name for s in SAMPLES}) == len(SAMPLES)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
async def test_sample_is_screened_without_leak(sample: corpus.Sample, screen_and_rebuild) -> None:
    if sample.error is not None:
        with pytest.raises(sample.error) as caught:
            await screen_and_rebuild(sample.raw)
        assert caught.value.smtp_reply[0] == 554
        assert caught.value.smtp_reply[1].startswith("5.6.0 Message structure too complex")
        return
    rebuilt = await screen_and_rebuild(sample.raw)
    assert find_leaks(rebuilt.content, corpus.CANARIES) == []
    reparsed = email.message_from_bytes(rebuilt.content, policy=email.policy.default)
    if sample.screened_header is not None:
        assert reparsed["X-SecureDesk-Screened"] == sample.screened_header
    text = decoded_text(rebuilt.content)
    for mask in sample.masks:
        assert mask in text, f"{mask} missing"
    # Valid MIME: CRLF only, no line over 998 octets, and the structure parses without new defects of its own.
    assert b"\n" not in rebuilt.content.replace(b"\r\n", b"")
    assert max(len(line) for line in rebuilt.content.split(b"\r\n")) <= 998


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.error is None], ids=lambda s: s.name)
async def test_rebuilt_message_is_stable_when_screened_again(sample: corpus.Sample, screen_and_rebuild) -> None:
    first = await screen_and_rebuild(sample.raw)
    second = await screen_and_rebuild(first.content)
    assert find_leaks(second.content, corpus.CANARIES) == []
    assert second.body_text == first.body_text


async def test_message_id_is_kept_and_dkim_removed_only_when_the_body_changed(screen_and_rebuild) -> None:
    changed = await screen_and_rebuild(next(s.raw for s in SAMPLES if s.name == "dkim-signed-changed"))
    clean = await screen_and_rebuild(next(s.raw for s in SAMPLES if s.name == "dkim-signed-clean"))
    changed_msg = email.message_from_bytes(changed.content, policy=email.policy.default)
    clean_msg = email.message_from_bytes(clean.content, policy=email.policy.default)
    assert changed_msg["Message-ID"] == "<dkim@example.com>" == changed.message_id
    assert changed_msg["DKIM-Signature"] is None
    assert changed.dkim_removed == 1
    assert changed_msg["Authentication-Results"] == (
        'gateway.securedesk.test; x-securedesk=modified reason="content screened and changed by the SecureDesk '
        'gateway; 1 DKIM signature(s) that no longer verify removed"'
    )
    assert clean_msg["DKIM-Signature"] is not None
    assert clean_msg["Authentication-Results"] is None
    assert not clean.changed
    # The untouched body and the signed headers are passed on byte for byte.
    original = next(s.raw for s in SAMPLES if s.name == "dkim-signed-clean")
    assert original.split(b"\r\n\r\n", 1)[1] == clean.content.split(b"\r\n\r\n", 1)[1]
    assert original.split(b"\r\n\r\n", 1)[0] in clean.content


async def test_withheld_attachment_is_replaced_by_a_notice(screen_and_rebuild) -> None:
    raw = next(s.raw for s in SAMPLES if s.name == "png-attachment")
    rebuilt = await screen_and_rebuild(raw)
    assert rebuilt.notices == (
        f'SecureDesk withheld an attachment "card.png" (image/png, {len(corpus.PNG)} bytes): it cannot be screened '
        "for card numbers or national IDs. Ask the customer to use the secure form instead.",
    )
    assert corpus.PNG not in rebuilt.content
    assert rebuilt.notices[0] in decoded_text(rebuilt.content)


async def test_quarantined_attachment_notice_names_the_reference(screen_and_rebuild) -> None:
    raw = next(s.raw for s in SAMPLES if s.name == "pdf-attachment")
    rebuilt = await screen_and_rebuild(raw, quarantine=True)
    assert rebuilt.notices[0].startswith('SecureDesk quarantined an attachment "statement.pdf" (application/pdf, ')
    assert rebuilt.notices[0].endswith("kept encrypted for compliance review under reference qua_0.")


async def test_spoofed_gateway_headers_are_replaced(screen_and_rebuild) -> None:
    msg = EmailMessage()
    msg["From"] = "jane@example.com"
    msg["Subject"] = "hi"
    msg["X-SecureDesk-Screened"] = "entities=0; withheld=0"
    msg["Authentication-Results"] = "gateway.securedesk.test; x-securedesk=pass"
    msg["Authentication-Results"] = "mx.example.com; spf=pass"
    msg.set_content(f"card {corpus.VISA}\n")
    rebuilt = await screen_and_rebuild(msg.as_bytes())
    out = email.message_from_bytes(rebuilt.content, policy=email.policy.default)
    assert out.get_all("X-SecureDesk-Screened") == ["entities=1; withheld=0"]
    results = [str(v) for v in out.get_all("Authentication-Results") or []]
    assert "mx.example.com; spf=pass" in results
    assert "gateway.securedesk.test; x-securedesk=pass" not in results


async def test_missing_message_id_gets_a_new_one(screen_and_rebuild) -> None:
    raw = next(s.raw for s in SAMPLES if s.name == "no-headers-at-all")
    rebuilt = await screen_and_rebuild(raw)
    assert rebuilt.message_id.startswith("<sd.")
    assert rebuilt.message_id.endswith("@gateway.securedesk.test>")
    assert email.message_from_bytes(rebuilt.content)["Message-ID"] == rebuilt.message_id


async def test_message_id_carrying_a_card_is_replaced(screen_and_rebuild) -> None:
    msg = EmailMessage()
    msg["Message-ID"] = f"<{corpus.VISA_DIGITS}@example.com>"
    msg.set_content("hello\n")
    rebuilt = await screen_and_rebuild(msg.as_bytes())
    assert corpus.VISA_DIGITS not in rebuilt.message_id
    assert find_leaks(rebuilt.content, corpus.CANARIES) == []


async def test_case_view_text_and_subject(screen_and_rebuild) -> None:
    raw = next(s.raw for s in SAMPLES if s.name == "encoded-word-subject-base64")
    rebuilt = await screen_and_rebuild(raw)
    assert rebuilt.subject == f"Ma carte {corpus.MASK_VISA} é"
    html_only = next(s.raw for s in SAMPLES if s.name == "html-split-across-inline-tags")
    assert (await screen_and_rebuild(html_only)).body_text == f"Card {corpus.MASK_VISA} ok"


def test_binary_garbage_is_screened_as_one_text_body() -> None:
    # Every byte value, no header line at all: the lenient parser makes it one body, screened whole (never dropped).
    raw = bytes(range(256)) * 50
    document = MimeDocument.parse(raw, limits=LIMITS, attachments=WITHHOLD_ALL)
    assert [len(segment) for segment in document.segments] == [len(raw)]


@pytest.mark.parametrize(
    "sample",
    [s for s in SAMPLES if s.name not in ("dkim-signed-clean", "too-many-parts", "too-deep-for-the-parser")],
    ids=lambda s: s.name,
)
def test_leak_finder_sees_the_canary_in_the_unscreened_input(sample: corpus.Sample) -> None:
    # The leak check above is only worth something if it finds each canary in the form the sample hides it in.
    assert find_leaks(sample.raw, corpus.CANARIES) != []


@pytest.mark.parametrize(
    ("name", "lang", "entities", "decision", "vaulted", "discarded"),
    [
        (
            "french-nir-card-cvv-iso-8859-1-qp",
            "fr",
            {"FR_NIR": 1, "CREDIT_CARD": 1},
            Decision.DELIVER_WITH_NUDGE,
            (),
            2,
        ),
        ("french-encoded-word-subject-latin1-base64", "fr", {"CREDIT_CARD": 1}, Decision.DELIVER_WITH_NUDGE, (), 0),
        (
            "swedish-personnummer-latin1-8bit-encoded-subject",
            "sv",
            {"CREDIT_CARD": 2, "SE_PERSONNUMMER": 1},
            Decision.DELIVER_WITH_NUDGE,
            (),
            1,
        ),
        (
            "swedish-iban-multipart-alternative-base64",
            "sv",
            {"IBAN_CODE": 2},
            Decision.DELIVER,
            (("IBAN_CODE", "7466"),),
            0,
        ),
    ],
)
async def test_french_and_swedish_mail_is_screened_in_its_language(
    screen_email: ScreenEmail,
    name: str,
    lang: str,
    entities: dict[str, int],
    decision: Decision,
    vaulted: tuple[tuple[str, str], ...],
    discarded: int,
) -> None:
    rebuilt, screened = await screen_email(next(s.raw for s in SAMPLES if s.name == name))
    assert (screened.lang, dict(screened.entities), screened.decision) == (lang, entities, decision)
    assert tuple((ref.kind, ref.last4) for ref in screened.secrets) == vaulted
    assert screened.discarded == discarded
    assert (screened.nudge is not None) is (decision is Decision.DELIVER_WITH_NUDGE)
    text = decoded_text(rebuilt.content)
    for removed in ("12/29", "11/28", "cryptogramme 123"):
        assert removed not in text
