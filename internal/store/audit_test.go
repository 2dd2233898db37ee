package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/record"
)

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
	st, _ := openTemp(t)
	base := seedAudit(t, st)
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
		{"time window", AuditFilter{From: base.Add(2 * time.Second), To: base.Add(4 * time.Second)}, 4},
		{"no match", AuditFilter{RequestID: "nope"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			got, _, err := st.Audit().Query(t.Context(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("got %d records, want %d", len(got), tc.want)
			}
		})
	}
}

func TestAuditQueryRoundTrip(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	base := seedAudit(t, st)
	got, _, err := st.Audit().Query(t.Context(), AuditFilter{RequestID: "req-10"})
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	r := got[0]
	if !r.Time.Equal(base.Add(5*time.Second)) || r.Status != 403 || r.Principal.ID != "key1" ||
		len(r.Verdicts) != 1 || r.Verdicts[0].Rule != "942100" || r.Usage.TotalTokens != 11 {
		t.Fatalf("record did not round-trip: %+v", r)
	}
}

func TestAuditPagination(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	seedAudit(t, st)
	seen := map[string]bool{}
	var last string
	cursor := ""
	for page := 0; page < 20; page++ {
		got, next, err := st.Audit().Query(t.Context(), AuditFilter{Limit: 4, Cursor: cursor})
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
	if _, _, err := st.Audit().Query(t.Context(), AuditFilter{Cursor: "!!"}); err != ErrBadCursor {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestAuditPurge(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	base := seedAudit(t, st)
	n, err := st.Audit().Purge(t.Context(), base.Add(3*time.Second), 4)
	if err != nil || n != 4 {
		t.Fatalf("first batch: %d, %v", n, err)
	}
	n, err = st.Audit().Purge(t.Context(), base.Add(3*time.Second), 4)
	if err != nil || n != 2 {
		t.Fatalf("second batch: %d, %v", n, err)
	}
	got, _, _ := st.Audit().Query(t.Context(), AuditFilter{Limit: 1000})
	if len(got) != 19 {
		t.Fatalf("%d records left, want 19", len(got))
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(1, "req-1"))
	f.Add("")
	f.Add("MTox")
	f.Fuzz(func(t *testing.T, c string) {
		ts, id, err := decodeCursor(c)
		if err != nil {
			return
		}
		if ts2, id2, err := decodeCursor(encodeCursor(ts, id)); err != nil || ts2 != ts || id2 != id {
			t.Fatalf("cursor %q does not round-trip", c)
		}
	})
}
