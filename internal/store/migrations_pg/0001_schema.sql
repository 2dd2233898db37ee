-- The PostgreSQL schema, equivalent to SQLite's migrations 0001 to 0005.
-- Timestamps and durations are Unix nanoseconds (BIGINT), as on SQLite, so
-- both backends share their encoding and tests; NULL means "never". JSON
-- columns (models, verdicts) are TEXT holding a JSON array, written and read
-- by the gateway only.

-- API keys: only the hash of the secret is stored.
CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    team         TEXT    NOT NULL DEFAULT '',
    models       TEXT    NOT NULL DEFAULT '[]',
    hash         BYTEA   NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT,
    updated_at   BIGINT  NOT NULL
);

CREATE INDEX api_keys_updated_at ON api_keys (updated_at);

-- Audit trail: one row per request. No credential and no prompt or answer
-- text is ever stored here.
CREATE TABLE audit_records (
    request_id        TEXT    NOT NULL PRIMARY KEY,
    ts                BIGINT  NOT NULL,
    principal_kind    TEXT    NOT NULL DEFAULT '',
    principal_id      TEXT    NOT NULL DEFAULT '',
    principal_name    TEXT    NOT NULL DEFAULT '',
    principal_team    TEXT    NOT NULL DEFAULT '',
    client_ip         TEXT    NOT NULL DEFAULT '',
    method            TEXT    NOT NULL DEFAULT '',
    path              TEXT    NOT NULL DEFAULT '',
    route             TEXT    NOT NULL DEFAULT '',
    model_requested   TEXT    NOT NULL DEFAULT '',
    model_served      TEXT    NOT NULL DEFAULT '',
    upstream          TEXT    NOT NULL DEFAULT '',
    attempts          BIGINT  NOT NULL DEFAULT 0,
    stream            BOOLEAN NOT NULL DEFAULT FALSE,
    status            BIGINT  NOT NULL DEFAULT 0,
    outcome           TEXT    NOT NULL DEFAULT '',
    error_code        TEXT    NOT NULL DEFAULT '',
    verdicts          TEXT    NOT NULL DEFAULT '[]',
    prompt_tokens     BIGINT  NOT NULL DEFAULT 0,
    completion_tokens BIGINT  NOT NULL DEFAULT 0,
    reasoning_tokens  BIGINT  NOT NULL DEFAULT 0,
    cached_tokens     BIGINT  NOT NULL DEFAULT 0,
    total_tokens      BIGINT  NOT NULL DEFAULT 0,
    ttft_ns           BIGINT  NOT NULL DEFAULT 0,
    duration_ns       BIGINT  NOT NULL DEFAULT 0,
    gateway_ns        BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX audit_records_ts ON audit_records (ts, request_id);
CREATE INDEX audit_records_principal ON audit_records (principal_id, ts);

-- Content capture: the masked prompt and answer of a request, only when
-- audit.capture is on. bytes is len(prompt) + len(response), for the
-- size-based retention.
CREATE TABLE audit_content (
    request_id TEXT    NOT NULL PRIMARY KEY,
    ts         BIGINT  NOT NULL,
    prompt     TEXT    NOT NULL DEFAULT '',
    response   TEXT    NOT NULL DEFAULT '',
    bytes      BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX audit_content_ts ON audit_content (ts, request_id);

-- Usage counters per hour, principal, team and model, summed over every
-- instance's flushes. bucket is the start of the hour (UTC); cost is in
-- nano-units of the price table's currency.
CREATE TABLE usage_counters (
    bucket            BIGINT NOT NULL,
    principal_id      TEXT   NOT NULL DEFAULT '',
    team              TEXT   NOT NULL DEFAULT '',
    model             TEXT   NOT NULL DEFAULT '',
    requests          BIGINT NOT NULL DEFAULT 0,
    errors            BIGINT NOT NULL DEFAULT 0,
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    cached_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens  BIGINT NOT NULL DEFAULT 0,
    total_tokens      BIGINT NOT NULL DEFAULT 0,
    cost_nanos        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, principal_id, team, model)
);

CREATE INDEX usage_counters_principal ON usage_counters (principal_id, bucket);
CREATE INDEX usage_counters_team ON usage_counters (team, bucket);
