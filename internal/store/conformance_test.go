package store

// The conformance suite: every test here runs against each backend, SQLite
// always and PostgreSQL when RAMPART_TEST_POSTGRES holds a DSN. Each
// PostgreSQL test works in a schema of its own, created for it and dropped
// at the end, so tests run in parallel and leave nothing behind.

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/pgtest"
	"github.com/rampart-gw/rampart/internal/record"
)

// testDB is one backend's store under test, with what a few tests need
// beyond the Store interface.
type testDB struct {
	st Store
	// reopen opens another handle on the same database, as a second
	// instance would.
	reopen func(t *testing.T) Store
	// exec runs SQL on the database directly, to set up states that the
	// interface cannot reach quickly.
	exec func(t *testing.T, sql string, args ...any)
}

// forEachBackend runs fn, in parallel, on a fresh store of each backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, db *testDB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		st, path := openTemp(t)
		fn(t, &testDB{
			st: st,
			reopen: func(t *testing.T) Store {
				st2, err := OpenSQLite(t.Context(), path)
				if err != nil {
					t.Fatalf("reopen sqlite: %v", err)
				}
				t.Cleanup(func() { _ = st2.Close() })
				return st2
			},
			exec: func(t *testing.T, sql string, args ...any) {
				if _, err := st.(*sqliteStore).db.ExecContext(t.Context(), sql, args...); err != nil {
					t.Fatalf("exec: %v", err)
				}
			},
		})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		schema := pgTestSchema(t)
		st := openPGTest(t, schema)
		fn(t, &testDB{
			st:     st,
			reopen: func(t *testing.T) Store { return openPGTest(t, schema) },
			exec: func(t *testing.T, sql string, args ...any) {
				if _, err := st.pool.Exec(t.Context(), sql, args...); err != nil {
					t.Fatalf("exec: %v", err)
				}
			},
		})
	})
}

// pgTestDSN returns the test database's DSN, or skips the test when none
// is configured.
func pgTestDSN(t testing.TB) string {
	t.Helper()
	return pgtest.DSN(t)
}

// pgTestSchema creates an empty schema with a random name in the test
// database and drops it, with everything in it, when the test ends. An
// unreachable database fails the test: the variable promised one.
func pgTestSchema(t testing.TB) string {
	t.Helper()
	return pgtest.Schema(t, "rampart_test_")
}

// openPGTest opens a store whose connections use schema, and closes it at
// the end of the test (before the schema is dropped).
func openPGTest(t testing.TB, schema string) *pgStore {
	t.Helper()
	st, err := openPGTestErr(t, schema)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	return st
}

// openPGTestErr is openPGTest returning the error.
func openPGTestErr(t testing.TB, schema string) (*pgStore, error) {
	cfg, err := pgConfig(pgTestDSN(t))
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	st, err := openPostgres(t.Context(), cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, nil
}

// setKeyClock replaces the clock that stamps UpdatedAt.
func setKeyClock(t *testing.T, ks KeyStore, now func() time.Time) {
	t.Helper()
	switch k := ks.(type) {
	case *sqlKeys:
		k.now = now
	case *pgKeys:
		k.now = now
	default:
		t.Fatalf("no clock to set on %T", ks)
	}
}

func TestKeyInsertGet(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ks, ctx := db.st.Keys(), t.Context()
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
	})
}

func TestKeyInsertEmptyModels(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		k := &KeyRecord{ID: "cccccccccccc", Name: "n", Hash: []byte{9}}
		if err := db.st.Keys().Insert(t.Context(), k); err != nil {
			t.Fatal(err)
		}
		got, err := db.st.Keys().Get(t.Context(), k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Models != nil || got.ExpiresAt != nil || got.RevokedAt != nil || got.LastUsedAt != nil {
			t.Errorf("optional fields not empty: %+v", got)
		}
		if got.CreatedAt.IsZero() {
			t.Error("CreatedAt not defaulted")
		}
	})
}

func TestKeyList(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ks, ctx := db.st.Keys(), t.Context()
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
		if got := strings.Join(ids(all), " "); got != "k2 k1 k3" {
			t.Errorf("List order = %v, want creation order [k2 k1 k3]", got)
		}
	})
}

func TestKeyRevoke(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ks, ctx := db.st.Keys(), t.Context()
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
	})
}

func TestKeyTouchLastUsed(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ks, ctx := db.st.Keys(), t.Context()
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
			k    *KeyRecord
			want time.Time
		}{{a, t1}, {b, t0}} {
			got, err := ks.Get(ctx, c.k.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.LastUsedAt == nil || !got.LastUsedAt.Equal(c.want) {
				t.Errorf("%s: LastUsedAt = %v, want %v", c.k.ID, got.LastUsedAt, c.want)
			}
			if !got.UpdatedAt.Equal(c.k.UpdatedAt) {
				t.Errorf("%s: TouchLastUsed changed UpdatedAt", c.k.ID)
			}
		}
		if _, err := ks.Get(ctx, "ghost"); !errors.Is(err, ErrNotFound) {
			t.Errorf("TouchLastUsed of an unknown id created it: %v", err)
		}
	})
}

func TestKeyChangedSince(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ks, ctx := db.st.Keys(), t.Context()
		clock := time.Unix(1700000000, 0)
		setKeyClock(t, ks, func() time.Time { return clock })
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
	})
}

// Two instances on one database: a key created or revoked by one is seen
// by the other's poll.
func TestKeyChangesSeenByAnotherInstance(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		a, b, ctx := db.st, db.reopen(t), t.Context()
		mark := time.Now()
		k := sampleKey("shared000001")
		if err := a.Keys().Insert(ctx, k); err != nil {
			t.Fatal(err)
		}
		got, err := b.Keys().ChangedSince(ctx, mark)
		if err != nil || len(got) != 1 || got[0].ID != k.ID || got[0].RevokedAt != nil {
			t.Fatalf("instance b sees %v, %v; want the new key %s", ids(got), err, k.ID)
		}
		mark = got[0].UpdatedAt.Add(time.Nanosecond)
		if err := b.Keys().Revoke(ctx, k.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err = a.Keys().ChangedSince(ctx, mark)
		if err != nil || len(got) != 1 || got[0].RevokedAt == nil {
			t.Fatalf("instance a sees %v, %v; want %s revoked", ids(got), err, k.ID)
		}
	})
}

func TestCloseTwice(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		if err := db.st.Close(); err != nil {
			t.Fatal(err)
		}
		if err := db.st.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

// seedAudit writes 25 records (pairs share a time, every fifth is a WAF
// block) and replays the first three.
func seedAudit(t *testing.T, st Store) time.Time {
	t.Helper()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var rs []*AuditRecord
	for i := range 25 {
		r := &AuditRecord{
			RequestID: fmt.Sprintf("req-%02d", i),
			Time:      base.Add(time.Duration(i/2) * time.Second), // pairs share a time
			Principal: AuditPrincipal{Kind: "api_key", ID: fmt.Sprintf("key%d", i%3)},
			Status:    200, Outcome: "ok", ModelRequested: "m1",
			Usage: record.Usage{PromptTokens: i, TotalTokens: i + 1},
		}
		if i%5 == 0 {
			r.Status, r.Outcome, r.ModelServed = 403, "blocked", "m2"
			r.Verdicts = []record.Verdict{{Stage: "waf", Rule: "942100", Action: "block", Score: 5}}
		}
		rs = append(rs, r)
	}
	if err := st.Audit().Insert(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	// A replay of the same records is skipped, not doubled or refused.
	if err := st.Audit().Insert(t.Context(), rs[:3]); err != nil {
		t.Fatalf("second insert: %v", err)
	}
	return base
}

func TestAuditQueryFilters(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		base := seedAudit(t, db.st)
		tests := []struct {
			desc string
			f    AuditFilter
			want int
		}{
			{"everything", AuditFilter{Limit: 1000}, 25},
			{"by request id", AuditFilter{RequestID: "req-07"}, 1},
			{"by principal", AuditFilter{PrincipalID: "key0"}, 9},
			{"by status", AuditFilter{Status: 403}, 5},
			{"by outcome", AuditFilter{Outcome: "blocked"}, 5},
			{"by served model", AuditFilter{Model: "m2"}, 5},
			{"by verdict stage", AuditFilter{Verdict: "waf"}, 5},
			{"by verdict rule", AuditFilter{Verdict: "942100"}, 5},
			{"verdict is not a substring match", AuditFilter{Verdict: "94210"}, 0},
			{"verdict with LIKE wildcards", AuditFilter{Verdict: "9%"}, 0},
			{"time window", AuditFilter{From: base.Add(2 * time.Second), To: base.Add(4 * time.Second)}, 4},
			{"several filters", AuditFilter{Status: 403, PrincipalID: "key0", Model: "m1"}, 2},
			{"no match", AuditFilter{RequestID: "nope"}, 0},
		}
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				got, _, err := db.st.Audit().Query(t.Context(), tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != tc.want {
					t.Fatalf("got %d records, want %d", len(got), tc.want)
				}
			})
		}
	})
}

func TestAuditQueryRoundTrip(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		base := seedAudit(t, db.st)
		got, _, err := db.st.Audit().Query(t.Context(), AuditFilter{RequestID: "req-10"})
		if err != nil || len(got) != 1 {
			t.Fatalf("got %v, %v", got, err)
		}
		r := got[0]
		if !r.Time.Equal(base.Add(5*time.Second)) || r.Status != 403 || r.Principal.ID != "key1" ||
			len(r.Verdicts) != 1 || r.Verdicts[0].Rule != "942100" || r.Usage.TotalTokens != 11 {
			t.Fatalf("record did not round-trip: %+v", r)
		}
	})
}

func TestAuditEveryFieldRoundTrips(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		in := &AuditRecord{
			RequestID: "full-1", Time: time.Unix(1_800_000_000, 123).UTC(),
			Principal: AuditPrincipal{Kind: "api_key", ID: "k1", Name: "ci", Team: "search"},
			ClientIP:  "10.0.0.7", Method: "POST", Path: "/v1/chat/completions", Route: "chat",
			ModelRequested: "deepseek-chat", ModelServed: "deepseek-v3", Upstream: "ds", Attempts: 2,
			Stream: true, Status: 200, Outcome: "ok", ErrorCode: "none",
			Verdicts: []record.Verdict{{Stage: "dlp", Rule: "email", Action: "mask", Score: 1}},
			Usage:    record.Usage{PromptTokens: 1, CompletionTokens: 2, ReasoningTokens: 3, CachedTokens: 4, TotalTokens: 5},
			TTFT:     40 * time.Millisecond, Duration: 90 * time.Millisecond, GatewayTime: 1500 * time.Microsecond,
		}
		if err := db.st.Audit().Insert(t.Context(), []*AuditRecord{in}); err != nil {
			t.Fatal(err)
		}
		got, _, err := db.st.Audit().Query(t.Context(), AuditFilter{RequestID: in.RequestID})
		if err != nil || len(got) != 1 {
			t.Fatalf("query: %v %v", got, err)
		}
		if g, w := fmt.Sprintf("%+v", *got[0]), fmt.Sprintf("%+v", *in); g != w {
			t.Errorf("round trip:\n got %s\nwant %s", g, w)
		}
	})
}

func TestAuditPagination(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		seedAudit(t, db.st)
		seen := map[string]bool{}
		var last string
		cursor := ""
		for page := 0; page < 20; page++ {
			got, next, err := db.st.Audit().Query(t.Context(), AuditFilter{Limit: 4, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got {
				if seen[r.RequestID] {
					t.Fatalf("%s on two pages", r.RequestID)
				}
				if r.RequestID < last {
					t.Fatalf("out of order: %s after %s", r.RequestID, last)
				}
				seen[r.RequestID], last = true, r.RequestID
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != 25 {
			t.Fatalf("pages covered %d records, want 25", len(seen))
		}
		if _, _, err := db.st.Audit().Query(t.Context(), AuditFilter{Cursor: "!!"}); err != ErrBadCursor {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

func TestAuditPurge(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		base := seedAudit(t, db.st)
		n, err := db.st.Audit().Purge(t.Context(), base.Add(3*time.Second), 4)
		if err != nil || n != 4 {
			t.Fatalf("first batch: %d, %v", n, err)
		}
		n, err = db.st.Audit().Purge(t.Context(), base.Add(3*time.Second), 4)
		if err != nil || n != 2 {
			t.Fatalf("second batch: %d, %v", n, err)
		}
		got, _, _ := db.st.Audit().Query(t.Context(), AuditFilter{Limit: 1000})
		if len(got) != 19 {
			t.Fatalf("%d records left, want 19", len(got))
		}
	})
}

func TestAuditContentStoredQueriedAndPurged(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		a := db.st.Audit()
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		var rs []*AuditRecord
		for i := range 10 {
			r := &AuditRecord{RequestID: fmt.Sprintf("c-%02d", i), Time: base.Add(time.Duration(i) * time.Minute), Status: 200, Outcome: "ok"}
			if i != 3 { // one request without content
				r.Content = &AuditContent{Prompt: strings.Repeat("p", 60), Response: strings.Repeat("r", 40)}
			}
			rs = append(rs, r)
		}
		if err := a.Insert(t.Context(), rs); err != nil {
			t.Fatal(err)
		}
		got, _, err := a.Query(t.Context(), AuditFilter{RequestID: "c-01"})
		if err != nil || len(got) != 1 || got[0].Content != nil {
			t.Fatalf("without WithContent the content must stay out: %v %v", got, err)
		}
		got, _, err = a.Query(t.Context(), AuditFilter{WithContent: true, Limit: 100})
		if err != nil || len(got) != 10 {
			t.Fatalf("query = %d records, %v", len(got), err)
		}
		for _, r := range got {
			if (r.Content == nil) != (r.RequestID == "c-03") {
				t.Errorf("%s content = %v", r.RequestID, r.Content)
			}
			if r.Content != nil && (len(r.Content.Prompt) != 60 || len(r.Content.Response) != 40) {
				t.Errorf("%s content = %d+%d bytes, want 60+40", r.RequestID, len(r.Content.Prompt), len(r.Content.Response))
			}
		}
		count := func() int {
			got, _, err := a.Query(t.Context(), AuditFilter{WithContent: true, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range got {
				if r.Content != nil {
					n++
				}
			}
			return n
		}
		tests := []struct {
			desc     string
			before   time.Time
			maxBytes int64
			limit    int
			deleted  int
			left     int
		}{
			{"nothing old, no cap", base, 0, 100, 0, 9},
			{"by age: older than minute 2", base.Add(2 * time.Minute), 0, 100, 2, 7},
			{"by size: 7 rows of 100 bytes over a 450 byte cap", base, 450, 100, 3, 4},
			{"by size, bounded by limit", base, 150, 1, 1, 3},
			{"bounded by limit", base.Add(time.Hour), 0, 2, 2, 1},
			{"under the cap", base, 1000, 100, 0, 1},
		}
		for _, tc := range tests {
			n, err := a.PurgeContent(t.Context(), tc.before, tc.maxBytes, tc.limit)
			if err != nil || n != tc.deleted {
				t.Errorf("%s: deleted %d, %v; want %d", tc.desc, n, err, tc.deleted)
			}
			if left := count(); left != tc.left {
				t.Errorf("%s: %d contents left, want %d", tc.desc, left, tc.left)
			}
		}
		// The records themselves are untouched by the content's retention.
		if got, _, _ := a.Query(t.Context(), AuditFilter{Limit: 100}); len(got) != 10 {
			t.Errorf("%d records left, want 10", len(got))
		}
	})
}

func TestAuditGatewayTimeRoundTrip(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		r := &AuditRecord{RequestID: "g-1", Time: time.Unix(1_800_000_000, 0).UTC(), Status: 200, Outcome: "ok",
			TTFT: 40 * time.Millisecond, Duration: 90 * time.Millisecond, GatewayTime: 1500 * time.Microsecond}
		if err := db.st.Audit().Insert(t.Context(), []*AuditRecord{r}); err != nil {
			t.Fatal(err)
		}
		got, _, err := db.st.Audit().Query(t.Context(), AuditFilter{RequestID: "g-1"})
		if err != nil || len(got) != 1 {
			t.Fatalf("query: %v %v", got, err)
		}
		if g := got[0]; g.GatewayTime != r.GatewayTime || g.TTFT != r.TTFT || g.Duration != r.Duration {
			t.Errorf("latency breakdown = %v %v %v, want %v %v %v", g.GatewayTime, g.TTFT, g.Duration, r.GatewayTime, r.TTFT, r.Duration)
		}
	})
}

func TestUsageAddQuery(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		st, ctx := db.st, t.Context()
		h := func(day, hour int) time.Time { return time.Date(2026, 10, day, hour, 0, 0, 0, time.UTC) }
		row := func(b time.Time, key, team, model string, req int64) UsageRow {
			return UsageRow{Bucket: b, PrincipalID: key, Team: team, Model: model,
				UsageCounts: UsageCounts{Requests: req, PromptTokens: 10 * req, TotalTokens: 15 * req, CostNanos: 7 * req}}
		}
		// Two flushes for the same group are summed.
		for range 2 {
			if err := st.Usage().Add(ctx, []UsageRow{
				row(h(1, 9), "k1", "t1", "deepseek-chat", 1),
				row(h(1, 10), "k1", "t1", "deepseek-reasoner", 2),
				row(h(2, 9), "k2", "t1", "deepseek-chat", 3),
				row(h(31, 23), "k3", "t2", "gpt-4o", 4),
			}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Usage().Add(ctx, []UsageRow{row(h(1, 9).Add(time.Minute), "k", "", "", 1)}); err == nil {
			t.Error("a bucket that is not an hour start was accepted")
		}
		tests := []struct {
			desc string
			q    UsageQuery
			want []UsageRow
		}{
			{"total", UsageQuery{From: h(1, 0), To: h(31, 0).Add(48 * time.Hour), Granularity: GranularityTotal},
				[]UsageRow{{UsageCounts: UsageCounts{Requests: 20, PromptTokens: 200, TotalTokens: 300, CostNanos: 140}}}},
			{"by key per day", UsageQuery{From: h(1, 0), To: h(3, 0), Granularity: GranularityDay, GroupBy: []string{UsageByKey}},
				[]UsageRow{
					{Bucket: h(1, 0), PrincipalID: "k1", UsageCounts: UsageCounts{Requests: 6, PromptTokens: 60, TotalTokens: 90, CostNanos: 42}},
					{Bucket: h(2, 0), PrincipalID: "k2", UsageCounts: UsageCounts{Requests: 6, PromptTokens: 60, TotalTokens: 90, CostNanos: 42}},
				}},
			{"team filter by model, month", UsageQuery{From: h(1, 0), To: h(31, 23).Add(time.Hour), Team: "t1", Granularity: GranularityMonth, GroupBy: []string{UsageByModel}},
				[]UsageRow{
					{Bucket: h(1, 0), Model: "deepseek-chat", UsageCounts: UsageCounts{Requests: 8, PromptTokens: 80, TotalTokens: 120, CostNanos: 56}},
					{Bucket: h(1, 0), Model: "deepseek-reasoner", UsageCounts: UsageCounts{Requests: 4, PromptTokens: 40, TotalTokens: 60, CostNanos: 28}},
				}},
			{"to is exclusive", UsageQuery{From: h(1, 0), To: h(1, 10), Granularity: GranularityHour, PrincipalID: "k1"},
				[]UsageRow{{Bucket: h(1, 9), UsageCounts: UsageCounts{Requests: 2, PromptTokens: 20, TotalTokens: 30, CostNanos: 14}}}},
			{"key, team and model filters", UsageQuery{From: h(1, 0), To: h(3, 0), PrincipalID: "k1", Team: "t1", Model: "deepseek-reasoner", Granularity: GranularityTotal},
				[]UsageRow{{UsageCounts: UsageCounts{Requests: 4, PromptTokens: 40, TotalTokens: 60, CostNanos: 28}}}},
			{"nothing", UsageQuery{From: h(5, 0), To: h(6, 0)}, []UsageRow{}},
		}
		for _, tt := range tests {
			got, err := st.Usage().Query(ctx, tt.q)
			if err != nil {
				t.Fatalf("%s: %v", tt.desc, err)
			}
			if len(got) != len(tt.want) {
				t.Errorf("%s: %+v, want %+v", tt.desc, got, tt.want)
				continue
			}
			for i := range got {
				if !got[i].Bucket.Equal(tt.want[i].Bucket) || got[i].PrincipalID != tt.want[i].PrincipalID ||
					got[i].Team != tt.want[i].Team || got[i].Model != tt.want[i].Model || got[i].UsageCounts != tt.want[i].UsageCounts {
					t.Errorf("%s: row %d %+v, want %+v", tt.desc, i, got[i], tt.want[i])
				}
			}
		}
		for _, q := range []UsageQuery{{GroupBy: []string{"route"}}, {Granularity: "week"}} {
			if _, err := st.Usage().Query(ctx, q); err == nil {
				t.Errorf("query %+v: no error", q)
			}
		}
	})
}

// Several instances flush counters for the same groups at once: every
// count is kept.
func TestUsageConcurrentFlushesSum(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		bucket := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
		stores := []Store{db.st, db.reopen(t)}
		const flushes = 10
		var wg sync.WaitGroup
		for i, st := range stores {
			wg.Go(func() {
				for range flushes {
					// The two instances list the groups in opposite orders.
					rows := []UsageRow{
						{Bucket: bucket, PrincipalID: "a", UsageCounts: UsageCounts{Requests: 1}},
						{Bucket: bucket, PrincipalID: "b", UsageCounts: UsageCounts{Requests: 1}},
					}
					if i == 1 {
						rows[0], rows[1] = rows[1], rows[0]
					}
					if err := st.Usage().Add(t.Context(), rows); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		got, err := db.st.Usage().Query(t.Context(), UsageQuery{From: bucket, To: bucket.Add(time.Hour), GroupBy: []string{UsageByKey}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Requests != 2*flushes || got[1].Requests != 2*flushes {
			t.Errorf("usage = %+v, want %d requests for a and for b", got, 2*flushes)
		}
	})
}

func TestKillsPutListDelete(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx, ks := t.Context(), db.st.Kills()
		if list, seq, err := ks.List(ctx); err != nil || len(list) != 0 || seq != 0 {
			t.Fatalf("empty store: List = %v, %d, %v", list, seq, err)
		}
		at := time.Unix(1700000000, 42)
		var seqs []int64
		for _, k := range []KillRecord{
			{Target: "r1-sim", Actor: "alice", Reason: "leaks", At: at},
			{Target: "*", Actor: "bob", At: at.Add(time.Second)},
			// A second kill of the same target replaces the first.
			{Target: "r1-sim", Actor: "carol", Reason: "still leaks", At: at.Add(2 * time.Second)},
		} {
			s, err := ks.Put(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, s)
		}
		if fmt.Sprint(seqs) != "[1 2 3]" {
			t.Errorf("sequence numbers %v, want [1 2 3]", seqs)
		}
		list, seq, err := ks.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || seq != 3 || list[0].Target != "*" || list[1].Actor != "carol" ||
			list[1].Reason != "still leaks" || !list[1].At.Equal(at.Add(2*time.Second)) {
			t.Errorf("List = %v at %d", list, seq)
		}
		if s, err := ks.Delete(ctx, "r1-sim", "dave", at.Add(3*time.Second)); err != nil || s != 4 {
			t.Fatalf("Delete = %d, %v; want 4, nil", s, err)
		}
		if _, err := ks.Delete(ctx, "r1-sim", "dave", at); !errors.Is(err, ErrNotFound) {
			t.Errorf("second Delete: %v, want ErrNotFound", err)
		}
		if _, err := ks.Put(ctx, KillRecord{Actor: "a"}); err == nil {
			t.Error("Put with an empty target succeeded")
		}
		list, seq, err = ks.List(ctx)
		if err != nil || len(list) != 1 || list[0].Target != "*" || seq != 4 {
			t.Errorf("after Delete: List = %v, %d, %v", list, seq, err)
		}
		changes, err := ks.ChangedSince(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		for _, c := range changes {
			s += fmt.Sprintf("%d %s %s %s %s|", c.Seq, c.Action, c.Target, c.Actor, c.Reason)
		}
		if want := "2 kill * bob |3 kill r1-sim carol still leaks|4 revive r1-sim dave |"; s != want {
			t.Errorf("ChangedSince(1) = %q, want %q", s, want)
		}
		if !changes[2].At.Equal(at.Add(3 * time.Second)) {
			t.Errorf("revival at %v, want %v", changes[2].At, at.Add(3*time.Second))
		}
	})
}

// Flips from two instances get distinct, gapless sequence numbers, and the
// log replays to the listed state.
func TestKillsConcurrentFlipsFromTwoInstances(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		a, b, ctx := db.st, db.reopen(t), t.Context()
		const perInstance = 25
		var wg sync.WaitGroup
		seqs := make(chan int64, 2*perInstance)
		for i, st := range []Store{a, b} {
			wg.Go(func() {
				for j := range perInstance {
					seq, err := st.Kills().Put(ctx, KillRecord{Target: fmt.Sprintf("t%d", j%5), Actor: fmt.Sprintf("inst%d", i), At: time.Now()})
					if err != nil {
						t.Error(err)
						return
					}
					seqs <- seq
				}
			})
		}
		wg.Wait()
		close(seqs)
		seen := map[int64]bool{}
		for s := range seqs {
			if seen[s] {
				t.Errorf("sequence number %d handed out twice", s)
			}
			seen[s] = true
		}
		for s := int64(1); s <= 2*perInstance; s++ {
			if !seen[s] {
				t.Errorf("sequence number %d missing", s)
			}
		}
		changes, err := b.Kills().ChangedSince(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		replayed := map[string]string{}
		for i, c := range changes {
			if c.Seq != int64(i+1) {
				t.Fatalf("log entry %d has number %d", i, c.Seq)
			}
			replayed[c.Target] = c.Actor
		}
		list, seq, err := a.Kills().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != len(replayed) || seq != 2*perInstance {
			t.Fatalf("listed %d kills at %d, the log replays to %d at %d", len(list), seq, len(replayed), 2*perInstance)
		}
		for _, k := range list {
			if replayed[k.Target] != k.Actor {
				t.Errorf("kill %s by %s, the log says %s", k.Target, k.Actor, replayed[k.Target])
			}
		}
	})
}

func TestKillsLogIsPruned(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		// Jump the counter instead of writing a thousand flips.
		db.exec(t, `UPDATE kill_version SET version = $1`, killLogKeep+10)
		for i := range 3 {
			db.exec(t, `INSERT INTO kill_log (seq, action, target, actor, reason, at) VALUES ($1, 'kill', 'x', 'a', '', 0)`, i+1)
		}
		seq, err := db.st.Kills().Put(ctx, KillRecord{Target: "x", Actor: "a", At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		changes, err := db.st.Kills().ChangedSince(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(changes) != 1 || changes[0].Seq != seq {
			t.Errorf("after pruning the log holds %v, want only flip %d", changes, seq)
		}
	})
}

// TestTextAClientControlsIsStored: a NUL character (a JSON "\u0000" in a
// prompt or a model name, a %00 in a path) and bytes that are not UTF-8 (a
// %ff in a path) are text a client controls. PostgreSQL's TEXT refuses
// both; the write must still succeed, or one request would lose the audit
// batch it is in (replayed and refused forever), stop the usage flushes, or
// leave a trigger's kill unsaved.
func TestTextAClientControlsIsStored(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		at := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
		odd := &AuditRecord{RequestID: "odd-1", Time: at, Path: "/v1/\xff\x00x", ModelRequested: "m\x00",
			Principal: AuditPrincipal{ID: "k1"}, Status: 404, Outcome: "error",
			Content: &AuditContent{Prompt: "a\x00b", Response: "ok"}}
		plain := &AuditRecord{RequestID: "plain-1", Time: at, Path: "/v1/chat/completions", Status: 200, Outcome: "ok"}
		if err := db.st.Audit().Insert(ctx, []*AuditRecord{odd, plain}); err != nil {
			t.Fatalf("audit batch with a NUL and a non-UTF-8 byte: %v", err)
		}
		got, _, err := db.st.Audit().Query(ctx, AuditFilter{WithContent: true})
		if err != nil || len(got) != 2 {
			t.Fatalf("query: %d records, %v", len(got), err)
		}
		for _, r := range got {
			if r.RequestID == odd.RequestID && (!strings.HasPrefix(r.Path, "/v1/") || !strings.HasSuffix(r.Path, "x") ||
				r.Content == nil || !strings.HasPrefix(r.Content.Prompt, "a") || !strings.HasSuffix(r.Content.Prompt, "b")) {
				t.Errorf("odd record stored as %+v %+v", r, r.Content)
			}
		}
		if err := db.st.Usage().Add(ctx, []UsageRow{{Bucket: at, PrincipalID: "k1", Model: "m\x00", UsageCounts: UsageCounts{Requests: 1}},
			{Bucket: at, PrincipalID: "k1", Model: "m", UsageCounts: UsageCounts{Requests: 1}}}); err != nil {
			t.Fatalf("usage flush with a NUL in a model name: %v", err)
		}
		rows, err := db.st.Usage().Query(ctx, UsageQuery{From: at, To: at.Add(time.Hour), Granularity: GranularityTotal})
		if err != nil || len(rows) != 1 || rows[0].Requests != 2 {
			t.Fatalf("usage: %+v, %v", rows, err)
		}
		if _, err := db.st.Kills().Put(ctx, KillRecord{Target: "m\x00", Actor: "trigger:waf", Reason: "5 blocks", At: at}); err != nil {
			t.Fatalf("kill of a model name with a NUL: %v", err)
		}
		if _, err := db.st.Kills().Delete(ctx, "m\x00", "alice", at); err != nil {
			t.Fatalf("revival of a model name with a NUL: %v", err)
		}
	})
}
