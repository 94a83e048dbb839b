-- API keys of the screening API (POST /api/v1/screen, /api/v1/detokenize). A key is shown once when created; only
-- its keyed hash is stored (vault lookup_hash, HMAC-SHA256 under a key derived from the vault's index root), so the
-- database alone can neither give a key away nor test a guess.

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,              -- key_<random>: also the key's public prefix
    name            TEXT NOT NULL,                 -- chosen by the operator: 2-64 of [a-z0-9._-]
    key_hash        TEXT NOT NULL UNIQUE,          -- hex HMAC-SHA256 of the whole key
    scopes          TEXT NOT NULL,                 -- comma-separated: screen, detokenize
    channel         TEXT NOT NULL,                 -- the source the key speaks for (forum, helpdesk, widget, ...)
    rate_per_minute INTEGER NOT NULL CHECK (rate_per_minute >= 1),
    created_at      REAL NOT NULL,
    created_by      TEXT NOT NULL,
    last_used_at    REAL,
    revoked_at      REAL
);
CREATE UNIQUE INDEX api_keys_live_name ON api_keys(name) WHERE revoked_at IS NULL;
