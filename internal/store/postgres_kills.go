package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgKills implements KillStore on PostgreSQL with the tables of sqlKills.
type pgKills struct{ pool *pgxpool.Pool }

// Put upserts the kill and logs it in one transaction.
func (s *pgKills) Put(ctx context.Context, k KillRecord) (int64, error) {
	if k.Target == "" {
		return 0, errors.New("put kill: empty target")
	}
	return s.flip(ctx, "put kill "+k.Target, func(tx pgx.Tx, seq int64) error {
		if _, err := tx.Exec(ctx, `INSERT INTO kills (target, actor, reason, at, seq)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (target) DO UPDATE SET actor = excluded.actor, reason = excluded.reason,
				at = excluded.at, seq = excluded.seq`,
			pgText(k.Target), pgText(k.Actor), pgText(k.Reason), k.At.UnixNano(), seq); err != nil {
			return err
		}
		return pgLogKill(ctx, tx, seq, KillActionKill, k)
	})
}

// Delete removes the kill and logs the revival in one transaction.
func (s *pgKills) Delete(ctx context.Context, target, actor string, at time.Time) (int64, error) {
	return s.flip(ctx, "delete kill "+target, func(tx pgx.Tx, seq int64) error {
		tag, err := tx.Exec(ctx, `DELETE FROM kills WHERE target = $1`, pgText(target))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return pgLogKill(ctx, tx, seq, KillActionRevive, KillRecord{Target: target, Actor: actor, At: at})
	})
}

// flip runs fn in a transaction with the next sequence number. The UPDATE
// locks the counter row until commit, so a concurrent flip on any instance
// waits and then takes the next number: flips commit in order, without
// gaps.
func (s *pgKills) flip(ctx context.Context, what string, fn func(tx pgx.Tx, seq int64) error) (int64, error) {
	var seq int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx,
			`UPDATE kill_version SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&seq); err != nil {
			return err
		}
		if err := fn(tx, seq); err != nil {
			return err
		}
		if seq > killLogKeep {
			if _, err := tx.Exec(ctx, `DELETE FROM kill_log WHERE seq <= $1`, seq-killLogKeep); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return seq, nil
}

// pgLogKill appends one flip to kill_log.
func pgLogKill(ctx context.Context, tx pgx.Tx, seq int64, action string, k KillRecord) error {
	_, err := tx.Exec(ctx, `INSERT INTO kill_log (seq, action, target, actor, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6)`, seq, action, pgText(k.Target), pgText(k.Actor), pgText(k.Reason), k.At.UnixNano())
	return err
}

// List reads the counter and the kills from one snapshot (REPEATABLE READ:
// under PostgreSQL's default READ COMMITTED each statement would see its
// own), so the number matches the list.
func (s *pgKills) List(ctx context.Context) ([]KillRecord, int64, error) {
	var (
		out []KillRecord
		seq int64
	)
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT version FROM kill_version WHERE id = 1`).Scan(&seq); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT target, actor, reason, at FROM kills ORDER BY target`)
		if err != nil {
			return err
		}
		defer rows.Close()
		out, err = scanKills(rows)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list kills: %w", err)
	}
	return out, seq, nil
}

// ChangedSince returns the logged flips above seq.
func (s *pgKills) ChangedSince(ctx context.Context, seq int64) ([]KillChange, error) {
	return killsChangedSince(ctx, pgConn{s.pool}, seq)
}

var _ KillStore = (*pgKills)(nil)
