package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgMigrationFiles holds the PostgreSQL schema, numbered independently of
// SQLite's: NNNN_description.sql. A released file is never edited.
//
//go:embed migrations_pg/*.sql
var pgMigrationFiles embed.FS

// Bounds of the PostgreSQL backend. A DSN may override the connection
// ones (connect_timeout, statement_timeout, pool_max_conns).
const (
	// pgConnectTimeout bounds one connection attempt.
	pgConnectTimeout = 10 * time.Second
	// pgStatementTimeout bounds every statement on the server, so a
	// blocked query (a lock held by a stuck instance) fails instead of
	// holding a pooled connection forever.
	pgStatementTimeout = "30s"
	// pgIdleInTxTimeout ends a session left idle inside a transaction.
	pgIdleInTxTimeout = "60s"
	// pgOpenTimeout bounds Open: ping, then the migrations, which may wait
	// for another instance's migrations.
	pgOpenTimeout = 2 * time.Minute
)

// pgMigrateLock names the advisory lock that serialises migrations. It is
// combined with the schema's name, so that instances using different
// schemas of one database do not wait for each other.
const pgMigrateLock = "rampart.schema_migrations."

// pgStore is the PostgreSQL backend: one pool shared by every table.
type pgStore struct {
	pool      *pgxpool.Pool
	keys      *pgKeys
	audit     *pgAudit
	usage     *pgUsage
	kills     *pgKills
	closeOnce sync.Once
}

// OpenPostgres connects to the PostgreSQL database of dsn (URL or keyword
// form) and brings its schema up to date. Several instances may open the
// same database at once: migrations run under an advisory lock. Errors
// never contain the DSN's password.
func OpenPostgres(ctx context.Context, dsn string) (Store, error) {
	cfg, err := pgConfig(dsn)
	if err != nil {
		return nil, err
	}
	return openPostgres(ctx, cfg)
}

// pgConfig parses dsn and applies the backend's defaults where the DSN does
// not set them.
func pgConfig(dsn string) (*pgxpool.Config, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, errors.New("open postgres: empty DSN")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parser's message quotes the DSN; its redaction is best
		// effort, so none of it is repeated here.
		return nil, errors.New("open postgres: the DSN cannot be parsed (expected postgres://USER:PASSWORD@HOST:PORT/DB or host=HOST user=USER password=PASSWORD dbname=DB)")
	}
	cc := cfg.ConnConfig
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = pgConnectTimeout
	}
	for k, v := range map[string]string{
		"statement_timeout":                   pgStatementTimeout,
		"idle_in_transaction_session_timeout": pgIdleInTxTimeout,
		"application_name":                    "rampart",
	} {
		if _, ok := cc.RuntimeParams[k]; !ok {
			cc.RuntimeParams[k] = v
		}
	}
	return cfg, nil
}

// openPostgres opens the pool of cfg, checks it and migrates.
func openPostgres(ctx context.Context, cfg *pgxpool.Config) (*pgStore, error) {
	where := fmt.Sprintf("open postgres %s/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Database)
	ctx, cancel := context.WithTimeout(ctx, pgOpenTimeout)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, hidePassword(err, cfg.ConnConfig.Password))
	}
	if err := preparePostgres(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%s: %w", where, hidePassword(err, cfg.ConnConfig.Password))
	}
	return &pgStore{
		pool:  pool,
		keys:  &pgKeys{keyTable: keyTable{c: pgConn{pool}, now: time.Now}, pool: pool},
		audit: &pgAudit{pool: pool},
		usage: &pgUsage{pool: pool},
		kills: &pgKills{pool: pool},
	}, nil
}

// hidePassword replaces the password wherever a driver or server message
// repeats it; the driver's own messages name only the user and database.
func hidePassword(err error, password string) error {
	if password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), password, "[REDACTED]"))
}

// pgText returns s as PostgreSQL's TEXT accepts it: bytes that are not
// UTF-8 and NUL characters, which it refuses, become U+FFFD. Text a client
// controls (a path, a model name, a prompt) may hold either, and one
// refused value would fail the whole batch it is written in.
func pgText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// preparePostgres checks the connection and applies migrations.
func preparePostgres(ctx context.Context, pool *pgxpool.Pool) error {
	if err := pool.Ping(ctx); err != nil {
		return err
	}
	ms, err := loadMigrations(pgMigrationFiles, "migrations_pg")
	if err != nil {
		return err
	}
	return migratePostgres(ctx, pool, ms, time.Now())
}

// migratePostgres applies the pending migrations in one transaction, under
// a transaction-scoped advisory lock keyed on the current schema: instances
// that start at the same moment apply each migration exactly once, the
// others wait for the lock and then find nothing to do. PostgreSQL DDL is
// transactional, so a failed migration leaves the schema as it was.
func migratePostgres(ctx context.Context, pool *pgxpool.Pool, ms []migration, now time.Time) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Waiting for another instance's migrations, or a migration that
		// rewrites a large table, may outlast the per-statement bound; the
		// context (pgOpenTimeout) bounds the whole instead.
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1::text || current_schema(), 0))`,
			pgMigrateLock); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    BIGINT NOT NULL PRIMARY KEY,
			name       TEXT   NOT NULL,
			applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("migrate: create schema_migrations: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("migrate: read version: %w", err)
		}
		if current > len(ms) {
			return fmt.Errorf("migrate: database schema version %d is newer than this binary's %d", current, len(ms))
		}
		for _, m := range ms[current:] {
			// No arguments: the simple protocol, which accepts a file of
			// several statements.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migrate: apply %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx,
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, now.UnixNano()); err != nil {
				return fmt.Errorf("migrate: record %s: %w", m.name, err)
			}
		}
		return nil
	})
}

// Keys returns the API key table.
func (s *pgStore) Keys() KeyStore { return s.keys }

// Audit returns the audit trail.
func (s *pgStore) Audit() AuditStore { return s.audit }

// Usage returns the usage counters.
func (s *pgStore) Usage() UsageStore { return s.usage }

// Kills returns the kill switch state.
func (s *pgStore) Kills() KillStore { return s.kills }

// Close closes the pool, waiting for connections in use to be released.
func (s *pgStore) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}

var _ Store = (*pgStore)(nil)
