-- The audit log: append-only, hash-chained events and the signed checkpoints taken of their head.
-- The chain (content hash, link hash, genesis) is defined in securedesk/audit/chain.py. Triggers refuse every
-- UPDATE and DELETE, so only someone who drops them (an attacker with the file) can change history, and the
-- verifier then names the first bad event. Never a card number or national ID in clear: reasons are screened.

CREATE TABLE audit_events (
    seq             INTEGER PRIMARY KEY,           -- 1, 2, 3 … without gaps; assigned as head + 1 under the write lock
    time            TEXT NOT NULL,                 -- RFC 3339 UTC with microseconds, 2027-01-15T08:00:00.000000Z
    actor           TEXT NOT NULL,                 -- staff id, cli:<os user>, system
    role            TEXT NOT NULL,                 -- agent, compliance, admin, operator, system …
    origin_ip       TEXT,                          -- NULL when there is no network origin
    channel         TEXT NOT NULL,                 -- web, cli, chat, email, form, api, system
    action          TEXT NOT NULL,                 -- dotted lowercase: auth.login, secret.reveal, audit.export …
    target          TEXT NOT NULL DEFAULT '',      -- what was acted on: case id, token, staff id, filter description
    outcome         TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied', 'error')),
    reason          TEXT,                          -- free text, screened (redacted) before it is stored
    prev_hash       TEXT NOT NULL,                 -- hash of event seq - 1 (64 zeros for the first event)
    hash            TEXT NOT NULL                  -- SHA-256 link hash, hex
);
CREATE INDEX audit_events_by_actor ON audit_events(actor, seq);
CREATE INDEX audit_events_by_action ON audit_events(action, seq);
CREATE INDEX audit_events_by_target ON audit_events(target, seq);
CREATE INDEX audit_events_by_time ON audit_events(time);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: events cannot be changed');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: events cannot be deleted');
END;

CREATE TABLE audit_checkpoints (
    first_sequence  INTEGER NOT NULL DEFAULT 1,    -- first event the signature vouches for (1: the whole chain)
    sequence        INTEGER NOT NULL,              -- the chain had this many events …
    head_hash       TEXT NOT NULL,                 -- … and this head hash
    time            TEXT NOT NULL,                 -- when it was signed, RFC 3339 UTC
    key_id          TEXT NOT NULL,                 -- first 16 hex digits of SHA-256 of the Ed25519 public key
    signature       TEXT NOT NULL,                 -- Ed25519 signature (hex) over the canonical checkpoint payload
    PRIMARY KEY (sequence, key_id, time)
) WITHOUT ROWID;

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;

CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
