package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	// The pure-Go SQLite driver: no cgo, so the gateway stays one static
	// binary.
	_ "modernc.org/sqlite"
)

// sqliteParams are applied by the driver to every new connection.
//
//   - busy_timeout(10000): a writer waits up to 10 s for the lock held by
//     another connection or process instead of failing with SQLITE_BUSY.
//   - foreign_keys(1): enforce references, off by default in SQLite.
//   - journal_mode(WAL): readers never block the writer and vice versa.
//   - synchronous(FULL): every commit is fsynced before it returns, so a
//     write that was acknowledged (a key created or revoked, an audit record)
//     survives a power loss, not only a process crash as with NORMAL. The
//     cost is one fsync per commit; key writes are rare and last-used times
//     are flushed in batches, so it is not on the request path.
//   - _txlock=immediate: every transaction takes the write lock at BEGIN, so
//     two transactions never deadlock upgrading a read lock, and concurrent
//     start-ups serialise their migrations.
const sqliteParams = "_pragma=busy_timeout(10000)" +
	"&_pragma=foreign_keys(1)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(FULL)" +
	"&_txlock=immediate"

// sqliteMaxConns bounds the pool. SQLite serialises writers anyway; a few
// connections let readers run beside the writer under WAL.
const sqliteMaxConns = 4

// sqliteStore is the embedded SQLite backend.
type sqliteStore struct {
	db        *sql.DB
	keys      *sqlKeys
	audit     *sqlAudit
	usage     *sqlUsage
	kills     *sqlKills
	closeOnce sync.Once
	closeErr  error
}

// OpenSQLite opens (and creates, if needed) the SQLite database at path and
// brings its schema up to date. The parent folder is created with mode 0700
// and a new database file with mode 0600, since the store holds key hashes
// and audit data. Several processes may open the same file at once.
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	if err := checkSQLitePath(path); err != nil {
		return nil, err
	}
	if err := createFile(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", path+"?"+sqliteParams)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(sqliteMaxConns)
	db.SetMaxIdleConns(sqliteMaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := prepareSQLite(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return &sqliteStore{db: db, keys: &sqlKeys{keyTable: keyTable{c: sqlConn{db}, now: time.Now}, db: db}, audit: &sqlAudit{db: db}, usage: &sqlUsage{db: db}, kills: &sqlKills{db: db}}, nil
}

// checkSQLitePath rejects names the driver would read as a DSN rather than a
// file name.
func checkSQLitePath(path string) error {
	switch {
	case path == "":
		return errors.New("open sqlite: empty path")
	case strings.HasPrefix(path, "file:"), strings.Contains(path, "?"):
		return fmt.Errorf("open sqlite %q: path must be a plain file name", path)
	case path == ":memory:":
		return errors.New("open sqlite: in-memory databases are not supported")
	}
	return nil
}

// createFile makes the parent folder (0700) and the file (0600) before
// SQLite does, because SQLite would create them with the process umask.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create store folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create store file: %w", err)
	}
	return f.Close()
}

// prepareSQLite checks the connection and applies migrations.
func prepareSQLite(ctx context.Context, db *sql.DB) error {
	if err := db.PingContext(ctx); err != nil {
		return err
	}
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	return migrate(ctx, db, ms, time.Now())
}

// Keys returns the API key table.
func (s *sqliteStore) Keys() KeyStore { return s.keys }

// Audit returns the audit trail.
func (s *sqliteStore) Audit() AuditStore { return s.audit }

// Usage returns the usage counters.
func (s *sqliteStore) Usage() UsageStore { return s.usage }

// Kills returns the kill switch state.
func (s *sqliteStore) Kills() KillStore { return s.kills }

// Close closes the database; WAL contents are checkpointed by SQLite when
// the last connection closes.
func (s *sqliteStore) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}

var _ Store = (*sqliteStore)(nil)
