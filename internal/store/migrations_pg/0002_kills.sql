-- Kill switch, as SQLite's 0006_kills.sql. kills holds the active kills,
-- one row per target; kill_log records every flip under a sequence number
-- that every instance polls; kill_version is the one-row counter that hands
-- the numbers out. Updating it locks the row until commit, so flips commit
-- in sequence order and the log has no gaps.
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
