-- The customers' safe paths: protected-form links, verified-lookup challenges and sessions, call-back requests, and
-- the server key they are keyed by. No value a customer typed is stored in clear: form values go to the vault
-- (secrets), phone numbers are field blobs (vault encrypt_field), codes and tokens are stored hashed.

CREATE TABLE customer_keys (
    purpose         TEXT PRIMARY KEY,              -- 'root': HMAC keys of codes, identifiers, CSRF, phone index, links
    key_blob        BLOB NOT NULL,                 -- vault encrypt_field(table='customer_keys', row_id=purpose, column='key_blob')
    created_at      REAL NOT NULL
);

CREATE TABLE form_requests (
    id              TEXT PRIMARY KEY,              -- frm_<random>
    token_hash      TEXT NOT NULL UNIQUE,          -- SHA-256 of the link's 256-bit token (the token itself is only in the link)
    case_id         TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('card', 'national_id', 'iban')),
    lang            TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'fr', 'sv')),
    created_by      TEXT NOT NULL,                 -- staff name, or the system part that asked (nudge)
    created_at      REAL NOT NULL,
    expires_at      REAL NOT NULL,
    used_at         REAL,                          -- burned: a link is used once
    secret_token    TEXT,                          -- the vault token of what was submitted (display data in secrets)
    entity_type     TEXT                           -- what was submitted: CREDIT_CARD, US_SSN, FR_NIR, ...
);
CREATE INDEX form_requests_by_case ON form_requests(case_id, created_at);

CREATE TABLE lookup_challenges (
    id              TEXT PRIMARY KEY,              -- chl_<random>
    identifier_key  BLOB NOT NULL,                 -- HMAC(server key, normalized address or case reference)
    ip_key          BLOB,                          -- HMAC(server key, client address)
    browser_key     BLOB NOT NULL,                 -- HMAC(server key, browser cookie): the code works in that browser only
    customer_id     TEXT REFERENCES customers(id) ON DELETE CASCADE,  -- NULL: a decoy for an unknown identifier
    code_hash       BLOB NOT NULL,                 -- HMAC(server key, challenge id || code)
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      REAL NOT NULL,
    expires_at      REAL NOT NULL,
    used_at         REAL
);
CREATE INDEX lookup_challenges_by_browser ON lookup_challenges(browser_key, created_at);
CREATE INDEX lookup_challenges_by_identifier ON lookup_challenges(identifier_key, created_at);
CREATE INDEX lookup_challenges_by_ip ON lookup_challenges(ip_key, created_at);

CREATE TABLE lookup_sessions (
    token_hash      TEXT PRIMARY KEY,              -- SHA-256 of the session cookie's 256-bit token
    customer_id     TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    browser_key     BLOB NOT NULL,                 -- the session works in the browser that verified the code only
    challenge_id    TEXT NOT NULL,
    created_at      REAL NOT NULL,
    expires_at      REAL NOT NULL,
    ended_at        REAL
);

CREATE TABLE callbacks (
    id              TEXT PRIMARY KEY,              -- cb_<random>
    reference       TEXT NOT NULL UNIQUE,          -- shown to the customer: CB-XXXXXX
    case_id         TEXT REFERENCES cases(id) ON DELETE CASCADE,
    customer_id     TEXT REFERENCES customers(id) ON DELETE CASCADE,
    queue           TEXT NOT NULL DEFAULT 'general',
    phone           BLOB NOT NULL,                 -- vault encrypt_field(table='callbacks', row_id=id, column='phone'): E.164
    phone_index     BLOB NOT NULL,                 -- HMAC(server key, E.164): rate limiting per number, never the number
    phone_mask      TEXT NOT NULL,                 -- display: '+33 6 •• •• •5 78'
    window_start    REAL NOT NULL,                 -- preferred window, UTC
    window_end      REAL NOT NULL,
    time_zone       TEXT NOT NULL,                 -- the customer's IANA time zone, for display
    lang            TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'fr', 'sv')),
    topic           TEXT NOT NULL DEFAULT '',      -- screened
    status          TEXT NOT NULL DEFAULT 'requested'
                    CHECK (status IN ('requested', 'claimed', 'done', 'no_answer', 'rescheduled')),
    claimed_by      TEXT,                          -- staff id
    claimed_by_name TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,    -- calls that were made (done or no answer)
    session_key     BLOB,                          -- HMAC(server key, browser cookie): rate limiting per session
    ip_key          BLOB,                          -- HMAC(server key, client address): rate limiting per address
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL
);
CREATE INDEX callbacks_by_status ON callbacks(status, window_start);
CREATE INDEX callbacks_by_customer ON callbacks(customer_id);
CREATE INDEX callbacks_by_case ON callbacks(case_id);
CREATE INDEX callbacks_by_phone ON callbacks(phone_index, created_at);
CREATE INDEX callbacks_by_session ON callbacks(session_key, created_at);
CREATE INDEX callbacks_by_ip ON callbacks(ip_key, created_at);
