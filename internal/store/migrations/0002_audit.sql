-- Audit trail: one row per request. Timestamps and durations are Unix
-- nanoseconds (BIGINT). verdicts is a JSON array. No credential and no prompt
-- or answer text is ever stored here.
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
    attempts          INTEGER NOT NULL DEFAULT 0,
    stream            INTEGER NOT NULL DEFAULT 0,
    status            INTEGER NOT NULL DEFAULT 0,
    outcome           TEXT    NOT NULL DEFAULT '',
    error_code        TEXT    NOT NULL DEFAULT '',
    verdicts          TEXT    NOT NULL DEFAULT '[]',
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens  INTEGER NOT NULL DEFAULT 0,
    cached_tokens     INTEGER NOT NULL DEFAULT 0,
    total_tokens      INTEGER NOT NULL DEFAULT 0,
    ttft_ns           BIGINT  NOT NULL DEFAULT 0,
    duration_ns       BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX audit_records_ts ON audit_records (ts, request_id);
CREATE INDEX audit_records_principal ON audit_records (principal_id, ts);
