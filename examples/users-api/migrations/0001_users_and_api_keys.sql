-- Users and their API keys.
--
-- Ids are AUTOINCREMENT so a deleted row's id is never given to a new row: a bearer
-- token names its user by id, and must never start naming someone else.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    first_name    TEXT    NOT NULL,
    last_name     TEXT    NOT NULL,
    role          TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    banned        INTEGER NOT NULL DEFAULT 0 CHECK (banned IN (0, 1)),
    verified      INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    -- SHA-256 of the raw key, hex: the raw key is shown once and never stored.
    key_hash   TEXT    NOT NULL UNIQUE,
    -- The raw key's first characters, to tell keys apart in listings.
    prefix     TEXT    NOT NULL,
    -- Comma-separated, from a fixed set ('read', 'write').
    scopes     TEXT    NOT NULL,
    is_active  INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX api_keys_by_user ON api_keys (user_id, id);
