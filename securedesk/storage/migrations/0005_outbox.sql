-- The email channel's durable state: the outbox of screened messages waiting for the relay, and attachments
-- quarantined by policy. Never an original message, a card number or a national ID in clear in any column.

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,              -- out_<random>
    message_id      TEXT NOT NULL,                 -- RFC 5322 Message-ID of the screened message (kept from the original)
    kind            TEXT NOT NULL CHECK (kind IN ('inbound', 'autoreply', 'chat')),  -- chat: a JSON envelope
    case_id         TEXT REFERENCES cases(id) ON DELETE SET NULL,
    mail_from       TEXT NOT NULL,                 -- envelope sender; '' is the null sender (auto-replies)
    rcpt_to         TEXT NOT NULL,                 -- JSON array of envelope recipients
    reply_key       TEXT,                          -- auto-replies: the customer address, lower case (one per hour)
    content         BLOB NOT NULL,                 -- the screened message; emptied once delivered
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed', 'gave_up')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    last_attempt_at REAL,
    finished_at     REAL,                          -- delivered, failed for good, or given up
    last_error      TEXT,                          -- reply code / error class of the last failure; never message text
    UNIQUE (message_id, kind)                      -- idempotent: a message is queued once, whatever the retries
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_autoreplies ON outbox(reply_key, created_at) WHERE reply_key IS NOT NULL;

CREATE TABLE email_quarantine (
    id              TEXT PRIMARY KEY,              -- qua_<random>; shown in the notice that replaces the attachment
    case_id         TEXT REFERENCES cases(id) ON DELETE CASCADE,
    content_type    TEXT NOT NULL,
    filename        TEXT,                          -- screened
    size            INTEGER NOT NULL,
    content         BLOB NOT NULL,                 -- vault encrypt_field(table='email_quarantine', row_id=id, column='content')
    created_at      REAL NOT NULL
);
CREATE INDEX email_quarantine_by_case ON email_quarantine(case_id);
