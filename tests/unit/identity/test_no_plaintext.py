"""No password, TOTP secret, TOTP code, session id, CSRF token or enrolment token in clear: not in the database files
(raw bytes of the file, -wal and -shm), not in any log line at DEBUG."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

import pytest

from securedesk.clock import FixedClock
from securedesk.errors import AuthenticationFailed
from securedesk.identity import Identity, Role
from securedesk.identity.totp import code_at
from securedesk.sensitive import Sensitive
from securedesk.storage.database import Database

PASSWORD = "Zebra-Quantum-Lantern-Harbor 77"


def database_bytes(db: Database) -> bytes:
    return b"".join(
        path.read_bytes() for path in (db.path, Path(f"{db.path}-wal"), Path(f"{db.path}-shm")) if path.exists()
    )


async def fresh_code(db: Database, clock: FixedClock, secret: Sensitive) -> Sensitive:
    """The current code, moving on a step while it happens to appear in the file already (6 digits can occur by
    chance in other data), so that finding it afterwards can only mean we stored it."""
    for _ in range(50):
        code = code_at(secret, clock.now())
        if code.reveal().encode() not in database_bytes(db):
            return code
        clock.advance(30)
    raise AssertionError("no code absent from the file in 50 steps")


async def test_no_secret_in_the_database_file_or_the_logs(
    identity: Identity, clock: FixedClock, db: Database, operator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    link = await identity.accounts.add("alice", Role.AGENT, actor=operator, queues=["general"])
    enrolment_token = link.url.reveal().rsplit("/", 1)[1]
    challenge = await identity.enrolment.begin(enrolment_token)
    secret = challenge.secret
    codes = [await fresh_code(db, clock, secret)]
    await identity.enrolment.complete(enrolment_token, Sensitive(PASSWORD), codes[-1])
    clock.advance(30)
    codes.append(await fresh_code(db, clock, secret))
    new = await identity.authenticator.login("alice", Sensitive(PASSWORD), codes[-1], origin_ip="192.0.2.1")
    with pytest.raises(AuthenticationFailed):  # a wrong password carrying a valid code
        await identity.authenticator.login("alice", Sensitive(PASSWORD + "!"), codes[-1])
    clock.advance(30)
    session = await identity.sessions.authenticate(new.token)
    codes.append(await fresh_code(db, clock, secret))
    await identity.authenticator.step_up(session, codes[-1])
    await identity.sessions.end(new.token)
    await db.checkpoint()

    clear = {
        "password": PASSWORD.encode(),
        "password (lowercase)": PASSWORD.lower().encode(),
        "TOTP secret (base32)": secret.reveal().encode(),
        "TOTP secret (raw key)": base64.b32decode(secret.reveal()),
        "otpauth URI": challenge.otpauth_uri.reveal().encode(),
        "session id": new.token.reveal().encode(),
        "CSRF token": new.session.csrf_token.encode(),
        "enrolment token": enrolment_token.encode(),
        **{f"TOTP code {i}": code.reveal().encode() for i, code in enumerate(codes)},
    }
    stored = database_bytes(db)
    assert len(stored) > 10_000
    assert [name for name, value in clear.items() if value in stored] == []
    logged = (caplog.text + "\n".join(str(r.args) for r in caplog.records)).encode()
    assert len(caplog.records) > 0
    assert [name for name, value in clear.items() if value in logged] == []
    # What is stored instead: an argon2id hash and a ciphertext.
    row = await db.fetch_one("SELECT password_hash, totp_secret FROM staff WHERE name = 'alice'")
    assert row is not None
    assert row[0].startswith("$argon2id$")
    assert len(row[1]) >= 32 + 28
