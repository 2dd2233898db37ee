-- Kill switch. kills holds the active kills, one row per target. kill_log
-- records every flip (kill or revive) under a sequence number that every
-- instance polls, so kills and revivals made on one instance reach the
-- others. kill_version is a one-row counter that hands out the sequence
-- numbers: updating it locks the row until commit, so flips commit in
-- sequence order on SQLite and PostgreSQL alike. Timestamps are Unix
-- nanoseconds.
CREATE TABLE kills (
    target TEXT   NOT NULL PRIMARY KEY,
    actor  TEXT   NOT NULL,
    reason TEXT   NOT NULL DEFAULT '',
    at     BIGINT NOT NULL,
    seq    BIGINT NOT NULL
);

CREATE TABLE kill_log (
    seq    BIGINT NOT NULL PRIMARY KEY,
    action TEXT   NOT NULL,
    target TEXT   NOT NULL,
    actor  TEXT   NOT NULL,
    reason TEXT   NOT NULL DEFAULT '',
    at     BIGINT NOT NULL
);

CREATE TABLE kill_version (
    id      INTEGER NOT NULL PRIMARY KEY,
    version BIGINT  NOT NULL
);

INSERT INTO kill_version (id, version) VALUES (1, 0);
