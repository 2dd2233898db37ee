package store

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// openTemp opens a store in a fresh temporary folder and closes it at the
// end of the test.
func openTemp(t testing.TB) (Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "rampart.db")
	st, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, path
}

// countMigrations returns the rows of schema_migrations.
func countMigrations(t *testing.T, st Store) int {
	t.Helper()
	var n int
	db := st.(*sqliteStore).db
	if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatalf("count migrations: %v", err)
	}
	return n
}

func sampleKey(id string) *KeyRecord {
	exp := time.Unix(2000000000, 0)
	return &KeyRecord{
		ID: id, Name: "ci " + id, Team: "search", Models: []string{"deepseek-*", "r1"},
		Hash: []byte{1, 2, 3, 4}, CreatedAt: time.Unix(1700000000, 5), ExpiresAt: &exp,
	}
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	t.Parallel()
	_, path := openTemp(t)
	for _, c := range []struct {
		desc string
		path string
		mode os.FileMode
	}{
		{"folder is private", filepath.Dir(path), 0o700},
		{"database file is private", path, 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		if got := fi.Mode().Perm(); got != c.mode {
			t.Errorf("%s: mode %o, want %o", c.desc, got, c.mode)
		}
	}
}

func TestOpenRejectsDSNLikePaths(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ desc, path string }{
		{"empty", ""},
		{"uri", "file:x.db"},
		{"query", filepath.Join(t.TempDir(), "x.db?mode=ro")},
		{"memory", ":memory:"},
	} {
		if st, err := OpenSQLite(t.Context(), c.path); err == nil {
			_ = st.Close()
			t.Errorf("%s: OpenSQLite(%q) succeeded", c.desc, c.path)
		}
	}
}

func TestMigrationsRunOnceAndReopenKeepsData(t *testing.T) {
	t.Parallel()
	st, path := openTemp(t)
	ctx := t.Context()
	if err := st.Keys().Insert(ctx, sampleKey("aaaaaaaaaaaa")); err != nil {
		t.Fatal(err)
	}
	want := countMigrations(t, st)
	if want == 0 {
		t.Fatal("no migration recorded")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		st2, err := OpenSQLite(ctx, path)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if got := countMigrations(t, st2); got != want {
			t.Errorf("reopen %d: %d migrations recorded, want %d", i, got, want)
		}
		if _, err := st2.Keys().Get(ctx, "aaaaaaaaaaaa"); err != nil {
			t.Errorf("reopen %d: key lost: %v", i, err)
		}
		_ = st2.Close()
	}
}

func TestConcurrentOpens(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rampart.db")
	const n = 8
	var wg sync.WaitGroup
	stores := make([]Store, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = OpenSQLite(t.Context(), path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := countMigrations(t, stores[0]), len(ms); got != want {
		t.Errorf("%d migrations recorded, want %d", got, want)
	}
	// Every handle writes at once: the busy timeout must absorb the lock
	// contention.
	for i := range n {
		wg.Go(func() {
			errs[i] = stores[i].Keys().Insert(t.Context(), sampleKey(string(rune('a'+i))+"00000000000"))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("insert via handle %d: %v", i, err)
		}
	}
	all, err := stores[0].Keys().List(t.Context())
	if err != nil || len(all) != n {
		t.Errorf("List = %d keys, %v; want %d", len(all), err, n)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	t.Parallel()
	st, path := openTemp(t)
	db := st.(*sqliteStore).db
	if _, err := db.ExecContext(t.Context(),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	if st2, err := OpenSQLite(t.Context(), path); err == nil {
		_ = st2.Close()
		t.Fatal("opened a database with a newer schema")
	}
}

func TestLoadMigrations(t *testing.T) {
	t.Parallel()
	sql := &fstest.MapFile{Data: []byte("SELECT 1;")}
	for _, c := range []struct {
		desc    string
		files   fstest.MapFS
		want    int
		wantErr bool
	}{
		{"ordered", fstest.MapFS{"m/0002_b.sql": sql, "m/0001_a.sql": sql, "m/README": sql}, 2, false},
		{"gap", fstest.MapFS{"m/0001_a.sql": sql, "m/0003_c.sql": sql}, 0, true},
		{"duplicate", fstest.MapFS{"m/0001_a.sql": sql, "m/1_b.sql": sql}, 0, true},
		{"no number", fstest.MapFS{"m/init.sql": sql}, 0, true},
		{"zero", fstest.MapFS{"m/0000_a.sql": sql}, 0, true},
	} {
		ms, err := loadMigrations(c.files, "m")
		if (err != nil) != c.wantErr || len(ms) != c.want {
			t.Errorf("%s: got %d migrations, err %v", c.desc, len(ms), err)
		}
	}
}

func TestEmbeddedMigrationsLoad(t *testing.T) {
	t.Parallel()
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil || len(ms) == 0 {
		t.Fatalf("embedded migrations: %d, %v", len(ms), err)
	}
}

func ids(ks []*KeyRecord) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.ID)
	}
	return out
}

func assertKey(t *testing.T, got, want *KeyRecord) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Team != want.Team ||
		string(got.Hash) != string(want.Hash) || len(got.Models) != len(want.Models) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range got.Models {
		if got.Models[i] != want.Models[i] {
			t.Errorf("Models = %v, want %v", got.Models, want.Models)
		}
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("times: got %v/%v, want %v/%v", got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
	}
	if got.ExpiresAt == nil || !got.ExpiresAt.Equal(*want.ExpiresAt) {
		t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, want.ExpiresAt)
	}
}
