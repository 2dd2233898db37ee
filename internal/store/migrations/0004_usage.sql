-- Usage counters per hour, API key (or other principal), team and model.
-- Every gateway instance adds its aggregated counts on each flush, so a row
-- is a sum over instances. bucket is the start of the hour in Unix
-- nanoseconds (UTC); cost is in nano-units of the price table's currency.
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
