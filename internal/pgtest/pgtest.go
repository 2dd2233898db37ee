// Package pgtest gives tests a PostgreSQL schema of their own in the
// database that RAMPART_TEST_POSTGRES names: created empty with a random
// name, dropped with everything in it when the test ends, so that tests
// run in parallel and leave nothing behind.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env is the variable that names the test database.
const Env = "RAMPART_TEST_POSTGRES"

// DSN returns the test database's DSN, or skips the test when none is
// configured.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" {
		t.Skipf("%s is not set: PostgreSQL not tested (set it to a DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", Env)
	}
	return dsn
}

// Schema creates an empty schema with a random name whose prefix is
// prefix, and drops it when the test ends. An unreachable database fails
// the test: the variable promised one.
func Schema(t testing.TB, prefix string) string {
	t.Helper()
	dsn := DSN(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := prefix + hex.EncodeToString(b)
	ident := pgx.Identifier{schema}.Sanitize()
	if err := exec(dsn, `CREATE SCHEMA `+ident); err != nil {
		t.Fatalf("%s is set but the database cannot be used: %v", Env, err)
	}
	t.Cleanup(func() {
		if err := exec(dsn, `DROP SCHEMA `+ident+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// SchemaDSN is Schema, and the DSN whose connections use the schema.
func SchemaDSN(t testing.TB, prefix string) (schema, dsn string) {
	t.Helper()
	schema = Schema(t, prefix)
	dsn = DSN(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return schema, dsn + sep + "search_path=" + schema
}

func exec(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
