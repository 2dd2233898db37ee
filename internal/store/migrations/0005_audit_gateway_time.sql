-- The gateway's own share of a request's latency: from its arrival to the
-- first upstream call (authentication, body, stages), in nanoseconds; 0
-- when no upstream was called.
ALTER TABLE audit_records ADD COLUMN gateway_ns BIGINT NOT NULL DEFAULT 0;
