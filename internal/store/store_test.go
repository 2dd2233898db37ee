package store

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// openTemp opens a store in a fresh temporary folder and closes it at the
// end of the test.
func openTemp(t *testing.T) (Store, string) {
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

func TestKeyInsertGet(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	ks, ctx := st.Keys(), t.Context()
	in := sampleKey("bbbbbbbbbbbb")
	if err := ks.Insert(ctx, in); err != nil {
		t.Fatal(err)
	}
	if in.UpdatedAt.IsZero() {
		t.Error("Insert did not set UpdatedAt")
	}
	got, err := ks.Get(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertKey(t, got, in)
	if err := ks.Insert(ctx, sampleKey(in.ID)); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate Insert: %v, want ErrExists", err)
	}
	if _, err := ks.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get unknown: %v, want ErrNotFound", err)
	}
}

func TestKeyInsertEmptyModels(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	k := &KeyRecord{ID: "cccccccccccc", Name: "n", Hash: []byte{9}}
	if err := st.Keys().Insert(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	got, err := st.Keys().Get(t.Context(), k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Models != nil || got.ExpiresAt != nil || got.RevokedAt != nil || got.LastUsedAt != nil {
		t.Errorf("optional fields not empty: %+v", got)
	}
	if got.CreatedAt.IsZero() {
		t.Error("CreatedAt not defaulted")
	}
}

func TestKeyList(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	ks, ctx := st.Keys(), t.Context()
	for i, id := range []string{"k2", "k1", "k3"} {
		k := sampleKey(id)
		k.CreatedAt = time.Unix(int64(1000+i), 0)
		if err := ks.Insert(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	all, err := ks.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range all {
		ids = append(ids, k.ID)
	}
	if len(ids) != 3 || ids[0] != "k2" || ids[1] != "k1" || ids[2] != "k3" {
		t.Errorf("List order = %v, want creation order [k2 k1 k3]", ids)
	}
}

func TestKeyRevoke(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	ks, ctx := st.Keys(), t.Context()
	k := sampleKey("dddddddddddd")
	if err := ks.Insert(ctx, k); err != nil {
		t.Fatal(err)
	}
	first := time.Unix(1800000000, 0)
	if err := ks.Revoke(ctx, k.ID, first); err != nil {
		t.Fatal(err)
	}
	if err := ks.Revoke(ctx, k.ID, first.Add(time.Hour)); err != nil {
		t.Fatalf("second Revoke: %v", err)
	}
	got, err := ks.Get(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RevokedAt == nil || !got.RevokedAt.Equal(first) {
		t.Errorf("RevokedAt = %v, want the first revocation %v", got.RevokedAt, first)
	}
	if !got.UpdatedAt.After(k.UpdatedAt) {
		t.Errorf("UpdatedAt %v not after insert %v", got.UpdatedAt, k.UpdatedAt)
	}
	if err := ks.Revoke(ctx, "nope", first); !errors.Is(err, ErrNotFound) {
		t.Errorf("Revoke unknown: %v, want ErrNotFound", err)
	}
}

func TestKeyTouchLastUsed(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	ks, ctx := st.Keys(), t.Context()
	a, b := sampleKey("a"), sampleKey("b")
	for _, k := range []*KeyRecord{a, b} {
		if err := ks.Insert(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	t1, t0 := time.Unix(1750000000, 0), time.Unix(1740000000, 0)
	if err := ks.TouchLastUsed(ctx, map[string]time.Time{"a": t1, "b": t0, "ghost": t1}); err != nil {
		t.Fatal(err)
	}
	// An older time must not move last_used_at backwards.
	if err := ks.TouchLastUsed(ctx, map[string]time.Time{"a": t0}); err != nil {
		t.Fatal(err)
	}
	if err := ks.TouchLastUsed(ctx, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	for _, c := range []struct {
		id   string
		want time.Time
	}{{"a", t1}, {"b", t0}} {
		got, err := ks.Get(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(c.want) {
			t.Errorf("%s: LastUsedAt = %v, want %v", c.id, got.LastUsedAt, c.want)
		}
		if !got.UpdatedAt.Equal(map[string]*KeyRecord{"a": a, "b": b}[c.id].UpdatedAt) {
			t.Errorf("%s: TouchLastUsed changed UpdatedAt", c.id)
		}
	}
}

func TestKeyChangedSince(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	ks := st.Keys().(*sqlKeys)
	ctx := t.Context()
	clock := time.Unix(1700000000, 0)
	ks.now = func() time.Time { return clock }
	if err := ks.Insert(ctx, sampleKey("old")); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Minute)
	mark := clock
	if err := ks.Insert(ctx, sampleKey("new")); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Minute)
	if err := ks.Revoke(ctx, "old", clock); err != nil {
		t.Fatal(err)
	}
	got, err := ks.ChangedSince(ctx, mark)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "new" || got[1].ID != "old" || got[1].RevokedAt == nil {
		t.Fatalf("ChangedSince = %v, want [new, old(revoked)]", ids(got))
	}
	if got, _ := ks.ChangedSince(ctx, clock.Add(time.Nanosecond)); len(got) != 0 {
		t.Errorf("ChangedSince(future) = %v, want none", ids(got))
	}
}

func TestCloseTwice(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
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
