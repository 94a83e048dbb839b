"""Compliance pages on the real app: audit search (filters, time range, pagination; itself audited), the chain-status
banner with background verification, and exports that verify offline."""

from __future__ import annotations

import json
import re

import pytest
from staff_support import StaffClient, StaffWeb

from securedesk.audit import verify_export
from securedesk.identity import Role
from securedesk.vault.signing import VerifyKey


async def _officer(web: StaffWeb) -> StaffClient:
    return await web.login(await web.enrol("carl", Role.COMPLIANCE))


async def _record(web: StaffWeb, count: int, action: str = "case.view", actor: str = "agnes") -> None:
    for number in range(count):
        await web.services.audit.record(
            actor=actor, role="agent", action=action, target=f"case:C{number:04d}", channel="web"
        )
        web.clock.advance(1)


def _seqs(html: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'<th scope="row">(\d+)</th>', html)]


async def test_search_filters_and_is_itself_audited(staff_web: StaffWeb) -> None:
    officer = await _officer(staff_web)
    await _record(staff_web, 3)
    await _record(staff_web, 2, action="secret.reveal", actor="bruno")

    response = await officer.post("/compliance/audit", {"action": "case.*", "actor": "agnes"})

    assert response.status_code == 200
    assert "3 events, page 1 of 1" in response.text
    assert len(_seqs(response.text)) == 3
    assert "case:C0002" in response.text
    assert "bruno" not in response.text
    searches = [a for a in await staff_web.audit_actions() if a[0] == "audit.search"]
    assert searches == [("audit.search", "carl", "success", None, "actor=agnes;action=case.*;page=1;size=50")]
    assert 'value="agnes"' in response.text  # the form keeps the filters


async def test_time_range_and_outcome(staff_web: StaffWeb) -> None:
    officer = await _officer(staff_web)
    start = staff_web.clock.now()
    await _record(staff_web, 10)  # one per second from ``start``

    response = await officer.post(
        "/compliance/audit",
        {
            "action": "case.view",
            "since": "2027-01-15T08:00:33",
            "until": "2027-01-15T08:00:36",
            "outcome": "success",
        },
    )

    assert start == 1_800_000_030.0  # 2027-01-15T08:00:30Z: the login's code moved the clock one step
    assert response.status_code == 200
    assert "3 events" in response.text
    assert re.findall(r"case:C(\d{4})", response.text) == ["0005", "0004", "0003"]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"since": "yesterday"}, "The from time must look like 2027-01-15T08:00 (UTC)."),
        ({"outcome": "maybe"}, "The outcome must be one of success, failure, denied, error."),
        ({"page": "-1"}, "The page must be a whole number."),
    ],
)
async def test_bad_filters_are_explained(staff_web: StaffWeb, form: dict[str, str], message: str) -> None:
    officer = await _officer(staff_web)

    response = await officer.post("/compliance/audit", form)

    assert response.status_code == 400
    assert message in response.text
    assert [a for a in await staff_web.audit_actions() if a[0] == "audit.search"] == []


async def test_pages_stay_pinned_to_the_first_search(staff_web: StaffWeb) -> None:
    officer = await _officer(staff_web)
    await _record(staff_web, 60)

    first = await officer.post("/compliance/audit", {"action": "case.view"})
    as_of = re.search(r'name="as_of" value="(\d+)"', first.text)
    assert as_of is not None
    await _record(staff_web, 5)  # newer events do not shift the pages
    second = await officer.post("/compliance/audit", {"action": "case.view", "page": "2", "as_of": as_of.group(1)})

    assert "60 events, page 1 of 2" in first.text
    assert 'value="2">Next page</button>' in first.text
    assert "60 events, page 2 of 2" in second.text
    first_seqs, second_seqs = _seqs(first.text), _seqs(second.text)
    assert (len(first_seqs), len(second_seqs)) == (50, 10)
    assert first_seqs[-1] == second_seqs[0] + 1
    assert 'value="1">Previous page</button>' in second.text


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_export_downloads_a_file_that_verifies_offline(staff_web: StaffWeb, fmt: str) -> None:
    officer = await _officer(staff_web)
    await _record(staff_web, 4)
    await _record(staff_web, 2, action="secret.reveal")

    response = await officer.post("/compliance/audit/export", {"action": "secret.reveal", "format": fmt})

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(rf'attachment; filename="securedesk-audit-\d{{8}}-\d{{8}}\.{fmt}"', disposition)
    report = verify_export(response.content, VerifyKey.load(staff_web.settings.key_dir))
    assert report.ok, report.summary()
    assert report.events_checked - report.elided == 2
    exports = [a for a in await staff_web.audit_actions() if a[0] == "audit.export"]
    assert exports == [("audit.export", "carl", "success", None, f"action=secret.reveal;format={fmt}")]
    if fmt == "jsonl":
        records = [json.loads(line) for line in response.text.splitlines()]
        assert records[0]["record"] == "checkpoint"


async def test_an_edited_export_fails_offline_verification(staff_web: StaffWeb) -> None:
    officer = await _officer(staff_web)
    await _record(staff_web, 3)
    response = await officer.post("/compliance/audit/export", {"format": "jsonl"})

    edited = response.content.replace(b"case:C0001", b"case:C9999")

    assert verify_export(response.content, VerifyKey.load(staff_web.settings.key_dir)).ok
    assert not verify_export(edited, VerifyKey.load(staff_web.settings.key_dir)).ok


async def test_chain_banner_shows_verification_in_the_background(staff_web: StaffWeb) -> None:
    officer = await _officer(staff_web)
    before = await officer.get("/compliance/audit")

    started = await officer.post("/compliance/audit/verify", {})
    await staff_web.services.chain_check.wait()
    after = await officer.get("/compliance/audit")

    assert "Chain status: not verified yet" in before.text
    assert started.status_code == 303
    assert started.headers["location"] == "/compliance/audit"
    assert "Chain status: intact" in after.text
    assert re.search(r"OK: \d+ events \(1\.\.\d+\) verified", after.text)
    assert "started by carl" in after.text
    assert ("audit.verify", "carl", "success") in [a[:3] for a in await staff_web.audit_actions()]


async def test_chain_banner_names_the_first_tampered_event(staff_web: StaffWeb) -> None:
    officer = await _officer(staff_web)
    await _record(staff_web, 3)
    database = staff_web.services.database
    async with database.transaction() as conn:
        triggers = await (await conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")).fetchall()
        for (name,) in triggers:
            await conn.execute(f'DROP TRIGGER "{name}"')
        await conn.execute("UPDATE audit_events SET target = 'case:EDITED' WHERE target = 'case:C0001'")
    seq = await database.fetch_one("SELECT seq FROM audit_events WHERE target = 'case:EDITED'")
    assert seq is not None

    await officer.post("/compliance/audit/verify", {})
    await staff_web.services.chain_check.wait()
    page = await officer.get("/compliance/audit")

    assert "Chain status: TAMPERED" in page.text
    assert f"First bad event: <strong>{seq['seq']}</strong> (hash_mismatch)." in page.text


async def test_search_results_never_show_a_card_number(staff_web: StaffWeb) -> None:
    officer = await _officer(staff_web)
    await staff_web.services.audit.record(
        actor="agnes",
        role="agent",
        action="secret.reveal",
        target="tok_x",
        channel="web",
        reason="customer asked to confirm 4111 1111 1111 1111 on the phone",
    )

    page = await officer.post("/compliance/audit", {"target": "4111111111111111"})
    found = await officer.post("/compliance/audit", {"action": "secret.reveal"})

    assert "[CARD •••• 1111]" in found.text
    assert 'id="f-target" name="target" type="text" value="[CARD •••• 1111]"' in page.text
    for text in (page.text, found.text):
        assert "4111 1111 1111 1111" not in text
        assert "4111111111111111" not in text
    stored = [a[4] for a in await staff_web.audit_actions() if a[0] == "audit.search"]
    assert stored[0] == "target=[CARD •••• 1111];page=1;size=50"
