package config

import "path/filepath"

// SQLitePath is the SQLite file of the store: store.sqlite, or
// rampart.db in the data folder.
func (c *Config) SQLitePath() string {
	if c.Store.SQLite != "" {
		return c.Store.SQLite
	}
	return filepath.Join(c.DataDir, "rampart.db")
}
