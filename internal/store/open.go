package store

import (
	"context"
	"fmt"
)

// Open opens the store a configuration names: PostgreSQL when dsn is set
// (a shared store that cannot be reached is an error, never a fallback to
// a local one), otherwise the SQLite file at path. Errors name the setting
// (store.postgres or store) and never the DSN's password.
func Open(ctx context.Context, dsn, path string) (Store, error) {
	if dsn != "" {
		st, err := OpenPostgres(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("store.postgres: %w", err)
		}
		return st, nil
	}
	st, err := OpenSQLite(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return st, nil
}
