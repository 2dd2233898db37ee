-- Content capture: the prompt and the answer of a request, stored only when
-- audit.capture is on and only after DLP masking. One row per audited
-- request that had content; bytes is len(prompt) + len(response), for the
-- size-based retention.
CREATE TABLE audit_content (
    request_id TEXT    NOT NULL PRIMARY KEY,
    ts         BIGINT  NOT NULL,
    prompt     TEXT    NOT NULL DEFAULT '',
    response   TEXT    NOT NULL DEFAULT '',
    bytes      BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX audit_content_ts ON audit_content (ts, request_id);
