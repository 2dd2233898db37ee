package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds the schema as numbered files: NNNN_description.sql.
// A released file is never edited; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the numbered .sql files of dir in fsys. Versions must
// start at 1 and have no gaps, so that a mistake in numbering fails every
// test instead of silently skipping a change.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		m, err := readMigration(fsys, dir, e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// readMigration parses the version from the file name and reads the SQL.
func readMigration(fsys fs.FS, dir, name string) (migration, error) {
	num, _, ok := strings.Cut(name, "_")
	if !ok {
		return migration{}, fmt.Errorf("migration %s: name is not NNNN_description.sql", name)
	}
	v, err := strconv.Atoi(num)
	if err != nil || v <= 0 {
		return migration{}, fmt.Errorf("migration %s: bad version %q", name, num)
	}
	b, err := fs.ReadFile(fsys, path.Join(dir, name))
	if err != nil {
		return migration{}, fmt.Errorf("migration %s: %w", name, err)
	}
	return migration{version: v, name: name, sql: string(b)}, nil
}

// migrate applies the pending migrations in one transaction. The
// transaction starts with a write lock (BEGIN IMMEDIATE on SQLite, through
// the _txlock DSN parameter), so processes that start at the same moment
// apply each migration exactly once: the second waits for the first and
// then finds nothing to do. A PostgreSQL backend will take an advisory lock
// for the same effect.
func migrate(ctx context.Context, db *sql.DB, ms []migration, now time.Time) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err = tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT NOT NULL PRIMARY KEY,
		name       TEXT   NOT NULL,
		applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	current, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("migrate: database schema version %d is newer than this binary's %d", current, len(ms))
	}
	for _, m := range ms[current:] {
		if err = applyMigration(ctx, tx, m, now); err != nil {
			return err
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// schemaVersion returns the highest applied version, 0 for a new database.
func schemaVersion(ctx context.Context, tx *sql.Tx) (int, error) {
	var v sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("migrate: read version: %w", err)
	}
	return int(v.Int64), nil
}

// applyMigration runs one migration and records it.
func applyMigration(ctx context.Context, tx *sql.Tx, m migration, now time.Time) error {
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migrate: apply %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.version, m.name, now.UnixNano()); err != nil {
		return fmt.Errorf("migrate: record %s: %w", m.name, err)
	}
	return nil
}
