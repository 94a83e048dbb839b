-- The vault: which key-encrypting key (KEK) versions exist (metadata only: the keys live outside the database), the
-- wrapped root of the blind indexes, and the vaulted secrets. No plaintext value and no unkeyed hash of one is stored.

CREATE TABLE vault_key_versions (
    version         INTEGER PRIMARY KEY CHECK (version >= 1),
    check_value     BLOB NOT NULL,                 -- HMAC-SHA256(KEK, label)[:16]: a wrong key file is named at start
    created_at      REAL NOT NULL,
    retired_at      REAL                           -- `keys retire`: no data key may be wrapped by it any more
);

CREATE TABLE vault_index_root (
    id              INTEGER PRIMARY KEY CHECK (id = 1),  -- a single row
    kek_version     INTEGER NOT NULL REFERENCES vault_key_versions(version),
    wrapped_key     BLOB NOT NULL,                 -- nonce || AES-256-GCM(KEK, root) || tag; rotation re-wraps it
    created_at      REAL NOT NULL
);

CREATE TABLE secrets (
    token           TEXT PRIMARY KEY,              -- tok_<26 base32 characters: 128 random bits>
    kind            TEXT NOT NULL CHECK (kind IN ('CREDIT_CARD', 'US_SSN', 'FR_NIR', 'SE_PERSONNUMMER', 'IBAN_CODE')),
    brand           TEXT,                          -- display data in clear: card network
    last4           TEXT NOT NULL,                 -- display data in clear: last four characters
    case_id         TEXT REFERENCES cases(id) ON DELETE CASCADE,
    customer_id     TEXT REFERENCES customers(id) ON DELETE CASCADE,
    source          TEXT NOT NULL,                 -- what sealed it: chat, email, form, ...
    kek_version     INTEGER NOT NULL REFERENCES vault_key_versions(version),
    wrapped_key     BLOB NOT NULL,                 -- the secret's own data key under the KEK; deleting the row shreds it
    ciphertext      BLOB NOT NULL,                 -- nonce || AES-256-GCM(data key, normalized value) || tag
    blind_index     BLOB NOT NULL,                 -- HMAC-SHA256(per-kind index key, normalized value)
    created_at      REAL NOT NULL,
    expires_at      REAL                           -- NULL: kept until deleted
);
CREATE INDEX secrets_by_blind_index ON secrets(blind_index);
CREATE INDEX secrets_by_kek_version ON secrets(kek_version);
CREATE INDEX secrets_by_expiry ON secrets(expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX secrets_by_case ON secrets(case_id) WHERE case_id IS NOT NULL;
CREATE INDEX secrets_by_customer ON secrets(customer_id) WHERE customer_id IS NOT NULL;
