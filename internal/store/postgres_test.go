package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// countPGMigrations returns the rows of schema_migrations.
func countPGMigrations(t *testing.T, st *pgStore) int {
	t.Helper()
	var n int
	if err := st.pool.QueryRow(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatalf("count migrations: %v", err)
	}
	return n
}

func TestPostgresEmbeddedMigrationsLoad(t *testing.T) {
	t.Parallel()
	ms, err := loadMigrations(pgMigrationFiles, "migrations_pg")
	if err != nil || len(ms) == 0 {
		t.Fatalf("embedded migrations: %d, %v", len(ms), err)
	}
}

func TestPostgresMigrationsRunOnceAndReopenKeepsData(t *testing.T) {
	t.Parallel()
	schema := pgTestSchema(t)
	ctx := t.Context()
	st := openPGTest(t, schema)
	if err := st.Keys().Insert(ctx, sampleKey("aaaaaaaaaaaa")); err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations(pgMigrationFiles, "migrations_pg")
	if err != nil {
		t.Fatal(err)
	}
	if got := countPGMigrations(t, st); got != len(ms) {
		t.Fatalf("%d migrations recorded, want %d", got, len(ms))
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		st2 := openPGTest(t, schema)
		if got := countPGMigrations(t, st2); got != len(ms) {
			t.Errorf("reopen %d: %d migrations recorded, want %d", i, got, len(ms))
		}
		if _, err := st2.Keys().Get(ctx, "aaaaaaaaaaaa"); err != nil {
			t.Errorf("reopen %d: key lost: %v", i, err)
		}
		_ = st2.Close()
	}
}

// Gateways that start at the same moment on an empty database: every one
// opens, and each migration is applied once.
func TestPostgresConcurrentMigrations(t *testing.T) {
	t.Parallel()
	schema := pgTestSchema(t)
	const n = 6
	stores := make([]*pgStore, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = openPGTestErr(t, schema)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
	}
	ms, err := loadMigrations(pgMigrationFiles, "migrations_pg")
	if err != nil {
		t.Fatal(err)
	}
	if got := countPGMigrations(t, stores[0]); got != len(ms) {
		t.Errorf("%d migrations recorded, want %d", got, len(ms))
	}
	// Every handle works on the one schema.
	for i, st := range stores {
		if err := st.Keys().Insert(t.Context(), sampleKey(string(rune('a'+i))+"00000000000")); err != nil {
			t.Errorf("insert via handle %d: %v", i, err)
		}
	}
	if all, err := stores[n-1].Keys().List(t.Context()); err != nil || len(all) != n {
		t.Errorf("List = %d keys, %v; want %d", len(all), err, n)
	}
}

func TestPostgresNewerSchemaIsRefused(t *testing.T) {
	t.Parallel()
	schema := pgTestSchema(t)
	st := openPGTest(t, schema)
	if _, err := st.pool.Exec(t.Context(),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	_, err := openPGTestErr(t, schema)
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Fatalf("opening a database with a newer schema: %v", err)
	}
}

// Instances flushing last-use times for the same keys at once neither
// deadlock nor move a time backwards.
func TestPostgresConcurrentTouches(t *testing.T) {
	t.Parallel()
	schema := pgTestSchema(t)
	a, b := openPGTest(t, schema), openPGTest(t, schema)
	ids := []string{"k1", "k2", "k3", "k4", "k5"}
	for _, id := range ids {
		if err := a.Keys().Insert(t.Context(), sampleKey(id)); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Unix(1_800_000_000, 0)
	const rounds = 20
	var wg sync.WaitGroup
	for _, st := range []*pgStore{a, b} {
		wg.Go(func() {
			for r := range rounds {
				used := map[string]time.Time{}
				for _, id := range ids {
					used[id] = base.Add(time.Duration(r) * time.Second)
				}
				if err := st.Keys().TouchLastUsed(t.Context(), used); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		k, err := b.Keys().Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if want := base.Add((rounds - 1) * time.Second); k.LastUsedAt == nil || !k.LastUsedAt.Equal(want) {
			t.Errorf("%s: LastUsedAt = %v, want %v", id, k.LastUsedAt, want)
		}
	}
}

func TestPostgresSessionBounds(t *testing.T) {
	t.Parallel()
	st := openPGTest(t, pgTestSchema(t))
	for name, want := range map[string]string{"statement_timeout": "30s", "idle_in_transaction_session_timeout": "1min"} {
		var got string
		if err := st.pool.QueryRow(t.Context(), `SELECT current_setting($1)`, name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
}

func TestPostgresConfigDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, dsn        string
		statementTimeout string
		connectTimeout   time.Duration
	}{
		{"defaults", "postgres://u@db/app", pgStatementTimeout, pgConnectTimeout},
		{"keyword form", "host=db user=u dbname=app", pgStatementTimeout, pgConnectTimeout},
		{"DSN wins", "postgres://u@db/app?statement_timeout=5000&connect_timeout=3", "5000", 3 * time.Second},
	}
	for _, tc := range tests {
		cfg, err := pgConfig(tc.dsn)
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if got := cfg.ConnConfig.RuntimeParams["statement_timeout"]; got != tc.statementTimeout {
			t.Errorf("%s: statement_timeout = %q, want %q", tc.desc, got, tc.statementTimeout)
		}
		if got := cfg.ConnConfig.ConnectTimeout; got != tc.connectTimeout {
			t.Errorf("%s: connect timeout = %v, want %v", tc.desc, got, tc.connectTimeout)
		}
	}
}

// A DSN that does not parse or does not connect fails Open, and the error
// never shows the password. These need no database: port 1 refuses.
func TestPostgresOpenErrorsHidePassword(t *testing.T) {
	t.Parallel()
	const secret = "pw-s3cret-9f2a"
	tests := []struct{ desc, dsn string }{
		{"empty", ""},
		{"unparsable URL", "postgres://u:" + secret + "@db:port/app"},
		{"unparsable keyword form", "host=db password=" + secret + " sslmode=bogus"},
		{"refused, URL form", "postgres://u:" + secret + "@127.0.0.1:1/app?sslmode=disable&connect_timeout=5"},
		{"refused, keyword form", "host=127.0.0.1 port=1 user=u password=" + secret + " dbname=app sslmode=disable connect_timeout=5"},
	}
	for _, tc := range tests {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		st, err := OpenPostgres(ctx, tc.dsn)
		cancel()
		if err == nil {
			_ = st.Close()
			t.Errorf("%s: Open succeeded", tc.desc)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error shows the password: %v", tc.desc, err)
		}
	}
}

func TestHidePassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ msg, password, want string }{
		{"FATAL: bad pw hunter2 here", "hunter2", "FATAL: bad pw [REDACTED] here"},
		{"connection refused", "hunter2", "connection refused"},
		{"no password set", "", "no password set"},
	} {
		if got := hidePassword(errString(tc.msg), tc.password).Error(); got != tc.want {
			t.Errorf("hidePassword(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestPgPlaceholders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND (b = ? OR c = ?) LIMIT ?", "a = $1 AND (b = $2 OR c = $3) LIMIT $4"},
		{`verdicts LIKE ? ESCAPE '\'`, `verdicts LIKE $1 ESCAPE '\'`},
	} {
		if got := pgPlaceholders(tc.in); got != tc.want {
			t.Errorf("pgPlaceholders(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// BenchmarkStoreWrites measures the writes the gateway makes in the
// background, per backend: an audit batch of 256 records (audit.batch's
// default), a usage flush of 100 groups and a last-use flush of 100 keys.
func BenchmarkStoreWrites(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(tb testing.TB) Store
	}{
		{"sqlite", func(tb testing.TB) Store { st, _ := openTemp(tb); return st }},
		{"postgres", func(tb testing.TB) Store { return openPGTest(tb, pgTestSchema(tb)) }},
	} {
		b.Run(be.name, func(b *testing.B) {
			st, ctx := be.open(b), b.Context()
			keys := map[string]time.Time{}
			for i := range 100 {
				id := fmt.Sprintf("bench%07d", i)
				if err := st.Keys().Insert(ctx, sampleKey(id)); err != nil {
					b.Fatal(err)
				}
				keys[id] = time.Unix(0, 0)
			}
			b.Run("audit_batch_256", func(b *testing.B) {
				n := 0
				for b.Loop() {
					rs := make([]*AuditRecord, 256)
					for i := range rs {
						n++
						rs[i] = &AuditRecord{RequestID: fmt.Sprintf("r%09d", n), Time: time.Unix(0, int64(n)), Status: 200, Outcome: "ok"}
					}
					if err := st.Audit().Insert(ctx, rs); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("usage_flush_100", func(b *testing.B) {
				bucket := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
				rows := make([]UsageRow, 100)
				for i := range rows {
					rows[i] = UsageRow{Bucket: bucket, PrincipalID: fmt.Sprintf("k%d", i), UsageCounts: UsageCounts{Requests: 1}}
				}
				for b.Loop() {
					if err := st.Usage().Add(ctx, rows); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("touch_100", func(b *testing.B) {
				n := int64(0)
				for b.Loop() {
					n++
					for id := range keys {
						keys[id] = time.Unix(0, n)
					}
					if err := st.Keys().TouchLastUsed(ctx, keys); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
