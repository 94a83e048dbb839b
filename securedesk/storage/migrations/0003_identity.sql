-- Staff identity: accounts, their queues, server-side sessions and one-time enrolment links.
-- Never a password, TOTP secret, TOTP code, session id or enrolment token in clear in any column.

CREATE TABLE staff (
    id              TEXT PRIMARY KEY,              -- stf_<random>
    name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role            TEXT NOT NULL CHECK (role IN ('agent', 'compliance', 'admin')),
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'disabled')),
    password_hash   TEXT,                          -- argon2id PHC string; NULL until enrolment
    totp_secret     BLOB,                          -- vault encrypt_field(table='staff', row_id=id, column='totp_secret')
    totp_last_step  INTEGER NOT NULL DEFAULT 0,    -- last accepted TOTP time step: each step is accepted once
    failed_logins   INTEGER NOT NULL DEFAULT 0,    -- consecutive failures since the last success or lockout
    locked_until    REAL NOT NULL DEFAULT 0,       -- epoch seconds; locked while now < locked_until
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    enrolled_at     REAL,
    disabled_at     REAL
);

CREATE TABLE staff_queues (
    staff_id        TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    queue           TEXT NOT NULL,                 -- matches cases.queue
    PRIMARY KEY (staff_id, queue)
) WITHOUT ROWID;
CREATE INDEX staff_queues_by_queue ON staff_queues(queue);

CREATE TABLE staff_sessions (
    id_hash         TEXT PRIMARY KEY,              -- SHA-256 (hex) of the session id; the id itself is only in the cookie
    staff_id        TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    created_at      REAL NOT NULL,
    last_seen_at    REAL NOT NULL,
    mfa_at          REAL NOT NULL,                 -- last time a TOTP code was verified in this session (step-up)
    origin_ip       TEXT
);
CREATE INDEX staff_sessions_by_staff ON staff_sessions(staff_id);

CREATE TABLE staff_enrolments (
    token_hash      TEXT PRIMARY KEY,              -- SHA-256 (hex) of the one-time enrolment token
    staff_id        TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    created_at      REAL NOT NULL,
    expires_at      REAL NOT NULL,
    totp_secret     BLOB                           -- pending secret, encrypt_field(table='staff_enrolments', row_id=token_hash)
);
CREATE INDEX staff_enrolments_by_staff ON staff_enrolments(staff_id);
