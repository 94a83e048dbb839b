-- Customers, cases and their (redacted) messages. Never a card number or national ID in clear in any column.

CREATE TABLE customers (
    id              TEXT PRIMARY KEY,              -- cus_<random>
    email           TEXT UNIQUE COLLATE NOCASE,    -- contact address (not cardholder data); NULL for anonymous chat
    display_name    TEXT,                          -- screened before it is stored
    preferred_lang  TEXT NOT NULL DEFAULT 'en' CHECK (preferred_lang IN ('en', 'fr', 'sv')),
    created_at      REAL NOT NULL
);

CREATE TABLE cases (
    id              TEXT PRIMARY KEY,              -- case_<random>
    reference       TEXT NOT NULL UNIQUE,          -- human-friendly reference shown to customers (SD-XXXXXX)
    customer_id     TEXT REFERENCES customers(id) ON DELETE SET NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('chat', 'email', 'form', 'webhook')),
    subject         TEXT NOT NULL DEFAULT '',      -- redacted
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'closed')),
    queue           TEXT NOT NULL DEFAULT 'general',
    assigned_to     TEXT,                          -- staff id
    lang            TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'fr', 'sv')),
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL
);
CREATE INDEX cases_by_customer ON cases(customer_id);
CREATE INDEX cases_by_queue_status ON cases(queue, status, updated_at);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,              -- msg_<random>
    case_id         TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    direction       TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    sender_kind     TEXT NOT NULL CHECK (sender_kind IN ('customer', 'agent', 'system')),
    sender_id       TEXT,
    body            TEXT NOT NULL,                 -- redacted text only
    content_type    TEXT NOT NULL DEFAULT 'text/plain',
    state           TEXT NOT NULL DEFAULT 'delivered' CHECK (state IN ('delivered', 'held', 'blocked', 'retracted')),
    meta            TEXT NOT NULL DEFAULT '{}',    -- JSON: entity counts, tokens, withheld parts; never values
    created_at      REAL NOT NULL
);
CREATE INDEX messages_by_case ON messages(case_id, created_at);
