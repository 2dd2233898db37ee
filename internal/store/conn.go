package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// conn is what the code shared by the SQLite and PostgreSQL backends needs
// of a database handle: database/sql and pgx run the same statements under
// other names, and report rows affected and a missing row each their own
// way. Transactions are not part of it: where a backend needs one, the two
// differ in more than names (prepared statements against batches,
// isolation levels), and each keeps its own code.
type conn interface {
	// exec runs a statement and returns how many rows it affected.
	exec(ctx context.Context, q string, args ...any) (int64, error)
	// queryRow runs a query of at most one row. Its Scan fails with an
	// error that noRows recognises when there is none.
	queryRow(ctx context.Context, q string, args ...any) scanner
	// query runs a query; the caller closes the rows.
	query(ctx context.Context, q string, args ...any) (openRows, error)
	// noRows reports whether err is the missing row of queryRow.
	noRows(err error) bool
	// placeholders returns q, written with ? placeholders, as the backend
	// takes it. SQL written with $N placeholders runs on both as it is.
	placeholders(q string) string
}

// scanner is one row of either driver, or the current row of their rows.
type scanner interface{ Scan(dest ...any) error }

// rowIter is what reading a query's rows needs, of database/sql's and
// pgx's rows alike.
type rowIter interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// openRows are the rows of conn.query, which the caller closes.
type openRows interface {
	rowIter
	Close()
}

// sqlConn is a conn on database/sql, as the SQLite backend uses it.
type sqlConn struct{ db *sql.DB }

func (c sqlConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c sqlConn) queryRow(ctx context.Context, q string, args ...any) scanner {
	return c.db.QueryRowContext(ctx, q, args...)
}

func (c sqlConn) query(ctx context.Context, q string, args ...any) (openRows, error) {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (sqlConn) noRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func (sqlConn) placeholders(q string) string { return q }

// sqlRows gives *sql.Rows the Close of openRows. The error of Close is
// dropped, as a deferred Close drops it: a failure while reading is
// reported by Err.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// pgConn is a conn on a pgx pool, as the PostgreSQL backend uses it.
type pgConn struct{ pool *pgxpool.Pool }

func (c pgConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.pool.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (c pgConn) queryRow(ctx context.Context, q string, args ...any) scanner {
	return c.pool.QueryRow(ctx, q, args...)
}

func (c pgConn) query(ctx context.Context, q string, args ...any) (openRows, error) {
	return c.pool.Query(ctx, q, args...)
}

func (pgConn) noRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

func (pgConn) placeholders(q string) string { return pgPlaceholders(q) }

var (
	_ conn = sqlConn{}
	_ conn = pgConn{}
)
