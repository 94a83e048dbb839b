"""Admin pages on the real app: accounts (one-time link shown once, role, queues, disable, new link), keys (rotation
in the background with progress, retire), policy (reload = the SIGHUP path) and email outbox problems."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest
from staff_support import PASSWORD, StaffClient, StaffWeb

from securedesk.config import Settings
from securedesk.identity import Role
from securedesk.sensitive import Sensitive
from securedesk.storage.outbox import OutboxEntry, SqliteOutboxRepository
from securedesk.vault import RotationResult, SealRequest

PROJECT_POLICY = Path(__file__).resolve().parents[3] / "policies" / "default.toml"


@pytest.fixture
def staff_settings(settings: Settings, tmp_path: Path) -> Settings:
    policy = tmp_path / "policy.toml"
    shutil.copyfile(PROJECT_POLICY, policy)
    return settings.replace(policy_path=policy)


async def _admin(web: StaffWeb) -> StaffClient:
    return await web.login(await web.enrol("ada", Role.ADMIN))


def _link_in(page: str) -> str:
    match = re.search(r'id="enrolment-link" type="text" readonly value="(https://localhost:8443/enrol/[^"]+)"', page)
    assert match is not None
    return match.group(1)


async def test_adding_an_account_shows_its_link_once(staff_web: StaffWeb) -> None:
    admin = await _admin(staff_web)

    response = await admin.post("/admin/users/add", {"name": "Bea", "role": "agent", "queues": "billing, general"})

    assert response.status_code == 200
    link = _link_in(response.text)
    listing = await admin.get("/admin/users")
    assert link not in listing.text
    assert re.search(r'<th scope="row">bea</th>\s*<td><span class="badge badge-pending">pending</span>', listing.text)
    assert 'value="billing,general"' in listing.text
    enrol = await staff_web.anonymous().get(link.removeprefix("https://localhost:8443"))
    assert enrol.status_code == 200
    assert "<strong>bea</strong>" in enrol.text
    assert ("user.create", "ada", "success", "name bea, role agent, queues billing,general") in [
        a[:4] for a in await staff_web.audit_actions()
    ]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "x", "role": "agent"}, "Staff name &#39;x&#39; is not valid."),
        ({"name": "ada", "role": "agent"}, "A staff account named &#39;ada&#39; already exists."),
        ({"name": "bea", "role": "root"}, "Unknown role &#39;root&#39;."),
        ({"name": "bea", "role": "agent", "queues": "Bad Queue!"}, "Queue name &#39;bad queue!&#39; is not valid."),
    ],
)
async def test_invalid_accounts_are_refused_with_the_reason(
    staff_web: StaffWeb, form: dict[str, str], message: str
) -> None:
    admin = await _admin(staff_web)

    response = await admin.post("/admin/users/add", form)

    assert response.status_code == 400
    assert message in response.text
    assert "enrolment-link" not in response.text


async def test_role_queues_disable_and_new_link_are_audited_as_the_admin(staff_web: StaffWeb) -> None:
    admin = await _admin(staff_web)
    await staff_web.enrol("bea", Role.AGENT, queues=("general",))

    assert (await admin.post("/admin/users/queues", {"name": "bea", "queues": "billing"})).status_code == 303
    assert (await admin.post("/admin/users/role", {"name": "bea", "role": "compliance"})).status_code == 303
    relinked = await admin.post("/admin/users/enrol-link", {"name": "bea"})
    assert relinked.status_code == 200
    assert "New enrolment link" in relinked.text
    assert (await admin.post("/admin/users/disable", {"name": "bea"})).status_code == 303

    member = await staff_web.services.identity.accounts.get("bea")
    assert (member.role, member.queues, member.status) == (Role.COMPLIANCE, ("billing",), "disabled")
    changes = [(a[0], a[1], a[3]) for a in await staff_web.audit_actions() if a[0].startswith("user.")]
    assert changes[2:] == [
        ("user.queues_change", "ada", "general -> billing"),
        ("user.role_change", "ada", "agent -> compliance"),
        ("user.enrolment_reset", "ada", None),
        ("user.disable", "ada", None),
    ]


async def test_the_last_admin_cannot_be_disabled(staff_web: StaffWeb) -> None:
    admin = await _admin(staff_web)

    response = await admin.post("/admin/users/disable", {"name": "ada"})

    assert response.status_code == 400
    assert "The last administrator account cannot be disabled or given another role." in response.text
    assert (await admin.get("/admin/users")).status_code == 200


async def test_rotation_runs_in_the_background_and_shows_its_outcome(staff_web: StaffWeb) -> None:
    admin = await _admin(staff_web)
    vault = staff_web.services.vault
    await vault.seal_many([SealRequest("CREDIT_CARD", Sensitive("4111111111111111"), "test") for _ in range(3)])

    started = await admin.post("/admin/keys/rotate", {})
    await staff_web.services.key_rotation.wait()
    page = await admin.get("/admin/keys")

    assert started.status_code == 303
    assert started.headers["location"] == "/admin/keys"
    assert vault.current_version == 2
    assert "Last rotation (by ada" in page.text
    # 3 secrets, the blind-index root and ada's TOTP secret (an encrypted column)
    assert "KEK version 2, 5 data key(s) re-wrapped" in page.text
    assert 'http-equiv="refresh"' not in page.text
    rotations = [(a[0], a[2], a[3], a[4]) for a in await staff_web.audit_actions() if a[0] == "keys.rotate"]
    assert rotations == [
        ("keys.rotate", "success", "started", "kek:v1"),
        ("keys.rotate", "success", "completed", "kek:v2;rewrapped=5"),
    ]


async def test_a_running_rotation_shows_its_progress_and_refreshes(staff_web: StaffWeb) -> None:
    admin = await _admin(staff_web)
    job = staff_web.services.key_rotation
    release = asyncio.Event()

    async def slow_rotation() -> RotationResult:
        job.progress = "secrets: 500 re-wrapped to KEK version 2"
        await release.wait()
        return RotationResult(2, True, False, 500, 1, 0, 1.5)

    job.start(slow_rotation, started_by="ada")
    await asyncio.sleep(0)
    running = await admin.get("/admin/keys")
    second = await admin.post("/admin/keys/rotate", {})
    release.set()
    await job.wait()

    assert '<meta http-equiv="refresh" content="2">' in running.text
    assert "is running: secrets: 500 re-wrapped to KEK version 2." in running.text
    assert "Rotate the key-encrypting key" not in running.text
    assert second.status_code == 409
    assert "A rotation is already running." in second.text
    assert "KEK version 2, 501 data key(s) re-wrapped in 1.5 s." in (await admin.get("/admin/keys")).text


async def test_retire_an_unused_version_but_never_the_current_one(staff_web: StaffWeb) -> None:
    admin = await _admin(staff_web)
    await admin.post("/admin/keys/rotate", {})
    await staff_web.services.key_rotation.wait()

    current = await admin.post("/admin/keys/retire", {"version": "2"})
    retired = await admin.post("/admin/keys/retire", {"version": "1"})
    malformed = await admin.post("/admin/keys/retire", {"version": "one"})

    assert current.status_code == 409
    assert "KEK version 2 is the current version." in current.text
    assert retired.status_code == 303
    assert malformed.status_code == 400
    page = await admin.get("/admin/keys")
    assert '<span class="badge badge-retired">retired</span>' in page.text
    retires = [(a[2], a[4]) for a in await staff_web.audit_actions() if a[0] == "keys.retire"]
    assert retires == [("denied", "kek:v2"), ("success", "kek:v1")]


async def test_policy_reload_takes_the_same_audited_path_as_sighup(
    staff_web: StaffWeb, staff_settings: Settings
) -> None:
    admin = await _admin(staff_web)
    before = staff_web.services.policy.current
    path = staff_settings.policy_path
    path.write_text(
        path.read_text(encoding="utf-8").replace('name = "default"', 'name = "stricter"', 1), encoding="utf-8"
    )

    reloaded = await admin.post("/admin/policy/reload", {})
    path.write_text("[policy]\nname = 'broken'\nformat = 99\n", encoding="utf-8")
    refused = await admin.post("/admin/policy/reload", {})

    assert reloaded.status_code == 200
    assert "Policy &#39;stricter&#39; is in force." in reloaded.text
    assert refused.status_code == 422
    assert "The policy file is invalid; the policy in force is unchanged." in refused.text
    current = staff_web.services.policy.current
    assert current.name == "stricter"
    assert current.digest != before.digest
    loads = [(a[1], a[2], a[4].split(";")[0]) for a in await staff_web.audit_actions() if a[0] == "policy.load"]
    assert loads == [
        ("system", "success", "policy:default"),
        ("ada", "success", "policy:stricter"),
        ("ada", "failure", "policy:stricter"),
    ]
    page = await admin.get("/admin/policy")
    assert current.digest in page.text
    assert "loaded by ada" in page.text


async def test_outbox_problems_are_listed_without_message_content(staff_web: StaffWeb) -> None:
    admin = await _admin(staff_web)
    repository = SqliteOutboxRepository(staff_web.services.database)
    now = staff_web.clock.now()
    for number, state in enumerate(("pending", "failed", "gave_up", "delivered")):
        entry = OutboxEntry(
            id=f"out_{number:024d}",
            message_id=f"<m{number}@example.test>",
            kind="inbound",
            case_id=None,
            mail_from="customer@example.test",
            rcpt_to=("helpdesk@securedesk.test",),
            content=b"Subject: secret body text\r\n\r\nbody",
            state="pending",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        async with repository.transaction() as conn:
            await repository.enqueue(conn, entry)
        if state == "delivered":
            await repository.mark_delivered(entry.id, now=now)
        elif state != "pending":
            await repository.mark_finished(entry.id, state=state, now=now, error=f"550 refused ({state})")

    page = await admin.get("/admin/outbox")

    assert page.status_code == 200
    counts = dict(re.findall(r"<dt>(\w+)</dt><dd>(\d+)</dd>", page.text))
    assert counts == {"pending": "1", "delivered": "1", "failed": "1", "gave_up": "1"}
    assert "550 refused (failed)" in page.text
    assert "550 refused (gave_up)" in page.text
    assert "secret body text" not in page.text
    assert "customer@example.test" not in page.text


async def test_metrics_on_the_main_app_for_admins(staff_web: StaffWeb) -> None:
    admin = await _admin(staff_web)

    response = await admin.client.get("/metrics")

    assert response.status_code == 200
    assert 'securedesk_http_requests_total{method="POST",route="/login",status="303"} 1.0' in response.text
    assert PASSWORD not in response.text
