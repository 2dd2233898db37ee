-- API keys. Timestamps are Unix nanoseconds (BIGINT) so that the same schema
-- works on SQLite and PostgreSQL without time-zone surprises; NULL means
-- "never". models is a JSON array of strings.
CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    team         TEXT    NOT NULL DEFAULT '',
    models       TEXT    NOT NULL DEFAULT '[]',
    hash         BLOB    NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT,
    updated_at   BIGINT  NOT NULL
);

CREATE INDEX api_keys_updated_at ON api_keys (updated_at);
