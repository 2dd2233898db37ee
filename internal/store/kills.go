package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// KillStore persists the kill switch: the active kills and a log of every
// flip, numbered in commit order, that instances poll to apply the kills
// and revivals made elsewhere.
type KillStore interface {
	// Put records the kill of k.Target, replacing an earlier kill of the
	// same target, logs it and returns its sequence number.
	Put(ctx context.Context, k KillRecord) (int64, error)
	// Delete lifts the kill of target (a revival), logs it with actor and
	// at and returns its sequence number, or ErrNotFound when the target is
	// not killed.
	Delete(ctx context.Context, target, actor string, at time.Time) (int64, error)
	// List returns the active kills by target and the sequence number of
	// the last flip they include, read in one transaction.
	List(ctx context.Context) ([]KillRecord, int64, error)
	// ChangedSince returns the flips numbered above seq, oldest first. It is
	// one indexed query, cheap enough to poll several times a second. The
	// numbers have no gaps, so a first change above seq+1 means the log
	// was pruned past seq and the caller must List again.
	ChangedSince(ctx context.Context, seq int64) ([]KillChange, error)
}

// KillRecord is one kill as stored.
type KillRecord struct {
	// Target is an upstream, a model, a route or "*".
	Target string
	// Actor is who flipped it: an admin, "config", "trigger:NAME".
	Actor string
	// Reason is free text, possibly empty.
	Reason string
	// At is when it was flipped, by the clock of the writing instance.
	At time.Time
}

// Kill switch flip actions, as logged.
const (
	KillActionKill   = "kill"
	KillActionRevive = "revive"
)

// KillChange is one logged flip. For a revival, Reason is empty.
type KillChange struct {
	KillRecord
	// Seq numbers the flips in commit order, from 1.
	Seq int64
	// Action is KillActionKill or KillActionRevive.
	Action string
}

// killLogKeep is how many flips the log keeps: instances poll every few
// hundred milliseconds, and one that falls further behind lists the kills
// again.
const killLogKeep = 1000

// sqlKills implements KillStore with portable SQL, so a PostgreSQL backend
// can reuse it.
type sqlKills struct {
	db *sql.DB
}

// Put upserts the kill and logs it in one transaction.
func (s *sqlKills) Put(ctx context.Context, k KillRecord) (int64, error) {
	if k.Target == "" {
		return 0, errors.New("put kill: empty target")
	}
	var seq int64
	err := s.flip(ctx, "put kill "+k.Target, func(tx *sql.Tx, n int64) error {
		seq = n
		_, err := tx.ExecContext(ctx, `INSERT INTO kills (target, actor, reason, at, seq)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (target) DO UPDATE SET actor = excluded.actor, reason = excluded.reason,
				at = excluded.at, seq = excluded.seq`,
			k.Target, k.Actor, k.Reason, k.At.UnixNano(), n)
		if err != nil {
			return err
		}
		return s.log(ctx, tx, n, KillActionKill, k)
	})
	return seq, err
}

// Delete removes the kill and logs the revival in one transaction.
func (s *sqlKills) Delete(ctx context.Context, target, actor string, at time.Time) (int64, error) {
	var seq int64
	err := s.flip(ctx, "delete kill "+target, func(tx *sql.Tx, n int64) error {
		seq = n
		res, err := tx.ExecContext(ctx, `DELETE FROM kills WHERE target = $1`, target)
		if err != nil {
			return err
		}
		if m, err := res.RowsAffected(); err != nil {
			return err
		} else if m == 0 {
			return ErrNotFound
		}
		return s.log(ctx, tx, n, KillActionRevive, KillRecord{Target: target, Actor: actor, At: at})
	})
	return seq, err
}

// flip runs fn in a transaction with the next sequence number. Taking the
// number locks the counter row until commit, so flips commit in order.
func (s *sqlKills) flip(ctx context.Context, what string, fn func(tx *sql.Tx, seq int64) error) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
			err = fmt.Errorf("%s: %w", what, err)
		}
	}()
	var seq int64
	if err = tx.QueryRowContext(ctx,
		`UPDATE kill_version SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&seq); err != nil {
		return err
	}
	if err = fn(tx, seq); err != nil {
		return err
	}
	if seq > killLogKeep {
		if _, err = tx.ExecContext(ctx, `DELETE FROM kill_log WHERE seq <= $1`, seq-killLogKeep); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// log appends one flip to kill_log.
func (s *sqlKills) log(ctx context.Context, tx *sql.Tx, seq int64, action string, k KillRecord) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO kill_log (seq, action, target, actor, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6)`, seq, action, k.Target, k.Actor, k.Reason, k.At.UnixNano())
	return err
}

// List reads the counter and the kills in one transaction, so the number
// matches the list.
func (s *sqlKills) List(ctx context.Context) (_ []KillRecord, _ int64, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("list kills: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT version FROM kill_version WHERE id = 1`).Scan(&seq); err != nil {
		return nil, 0, fmt.Errorf("list kills: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT target, actor, reason, at FROM kills ORDER BY target`)
	if err != nil {
		return nil, 0, fmt.Errorf("list kills: %w", err)
	}
	defer rows.Close()
	out, err := scanKills(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("list kills: %w", err)
	}
	return out, seq, nil
}

// scanKills reads the rows of a query of target, actor, reason and at from
// kills.
func scanKills(rows rowIter) ([]KillRecord, error) {
	var out []KillRecord
	for rows.Next() {
		var (
			k  KillRecord
			at int64
		)
		if err := rows.Scan(&k.Target, &k.Actor, &k.Reason, &at); err != nil {
			return nil, err
		}
		k.At = time.Unix(0, at)
		out = append(out, k)
	}
	return out, rows.Err()
}

// ChangedSince returns the logged flips above seq.
func (s *sqlKills) ChangedSince(ctx context.Context, seq int64) ([]KillChange, error) {
	return killsChangedSince(ctx, sqlConn{s.db}, seq)
}

// killsChangedSince is ChangedSince on either backend: one indexed query
// of kill_log.
func killsChangedSince(ctx context.Context, c conn, seq int64) ([]KillChange, error) {
	rows, err := c.query(ctx, `SELECT seq, action, target, actor, reason, at
		FROM kill_log WHERE seq > $1 ORDER BY seq`, seq)
	if err != nil {
		return nil, fmt.Errorf("kills changed since %d: %w", seq, err)
	}
	defer rows.Close()
	return scanKillChanges(rows, seq)
}

// scanKillChanges reads the rows of a kill_log query.
func scanKillChanges(rows rowIter, seq int64) ([]KillChange, error) {
	var out []KillChange
	for rows.Next() {
		var (
			c  KillChange
			at int64
		)
		if err := rows.Scan(&c.Seq, &c.Action, &c.Target, &c.Actor, &c.Reason, &at); err != nil {
			return nil, fmt.Errorf("kills changed since %d: %w", seq, err)
		}
		c.At = time.Unix(0, at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kills changed since %d: %w", seq, err)
	}
	return out, nil
}

var _ KillStore = (*sqlKills)(nil)
