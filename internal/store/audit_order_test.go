package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// auditPages follows the cursors of f from the first page to the last and
// returns the request IDs in the order the pages gave them.
func auditPages(t *testing.T, a AuditStore, f AuditFilter) []string {
	t.Helper()
	var ids []string
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatalf("more than 100 pages: the cursor does not advance (%d records so far)", len(ids))
		}
		got, next, err := a.Query(t.Context(), f)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if next != "" && len(got) == 0 {
			t.Fatalf("page %d: empty page with a next cursor", page)
		}
		for _, r := range got {
			ids = append(ids, r.RequestID)
		}
		if next == "" {
			return ids
		}
		f.Cursor = next
	}
}

// reqIDs returns the seeded IDs req-NN for the given NN, in that order.
func reqIDs(ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = fmt.Sprintf("req-%02d", n)
	}
	return out
}

// seq returns from, from+step, ... up to and including to.
func seq(from, to, step int) []int {
	var out []int
	for i := from; (step > 0 && i <= to) || (step < 0 && i >= to); i += step {
		out = append(out, i)
	}
	return out
}

// TestAuditOrder pages through seedAudit's records (pairs share a time,
// so page boundaries fall between records of one time) in both orders.
func TestAuditOrder(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		base := seedAudit(t, db.st)
		oldest := reqIDs(seq(0, 24, 1)...)
		newest := reqIDs(seq(24, 0, -1)...)
		tests := []struct {
			desc string
			f    AuditFilter
			want []string
		}{
			{"oldest, one page", AuditFilter{Limit: 1000}, oldest},
			{"oldest, pages of 1", AuditFilter{Limit: 1}, oldest},
			{"oldest, pages of 3", AuditFilter{Limit: 3}, oldest},
			{"oldest, pages of 4", AuditFilter{Limit: 4}, oldest},
			{"newest, one page", AuditFilter{Newest: true, Limit: 1000}, newest},
			{"newest, default limit", AuditFilter{Newest: true}, newest},
			{"newest, pages of 1", AuditFilter{Newest: true, Limit: 1}, newest},
			{"newest, pages of 3", AuditFilter{Newest: true, Limit: 3}, newest},
			{"newest, pages of 4", AuditFilter{Newest: true, Limit: 4}, newest},
			{"newest, pages of 24", AuditFilter{Newest: true, Limit: 24}, newest},
			{"newest, pages of 25", AuditFilter{Newest: true, Limit: 25}, newest},
			{"newest, by principal, pages of 2", AuditFilter{Newest: true, PrincipalID: "key0", Limit: 2}, reqIDs(seq(24, 0, -3)...)},
			{"newest, by status, pages of 2", AuditFilter{Newest: true, Status: 403, Limit: 2}, reqIDs(20, 15, 10, 5, 0)},
			{"newest, time window, pages of 3", AuditFilter{
				Newest: true, From: base.Add(2 * time.Second), To: base.Add(5 * time.Second), Limit: 3,
			}, reqIDs(9, 8, 7, 6, 5, 4)},
			{"oldest, time window, pages of 3", AuditFilter{
				From: base.Add(2 * time.Second), To: base.Add(5 * time.Second), Limit: 3,
			}, reqIDs(4, 5, 6, 7, 8, 9)},
			{"newest, no match", AuditFilter{Newest: true, RequestID: "nope"}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				if got := auditPages(t, db.st.Audit(), tc.f); !slices.Equal(got, tc.want) {
					t.Errorf("got  %v\nwant %v", got, tc.want)
				}
			})
		}
	})
}

// TestAuditCursorOrder checks that a cursor continues only the order that
// issued it, and that a cursor issued before newest-first order existed
// still continues the oldest-first order.
func TestAuditCursorOrder(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		seedAudit(t, db.st)
		a := db.st.Audit()
		_, oldNext, err := a.Query(t.Context(), AuditFilter{Limit: 3})
		if err != nil || oldNext == "" {
			t.Fatalf("oldest first page: %q, %v", oldNext, err)
		}
		_, newNext, err := a.Query(t.Context(), AuditFilter{Newest: true, Limit: 3})
		if err != nil || newNext == "" {
			t.Fatalf("newest first page: %q, %v", newNext, err)
		}
		tests := []struct {
			desc    string
			f       AuditFilter
			wantErr error
			want    []string
		}{
			{"oldest cursor, oldest order", AuditFilter{Cursor: oldNext}, nil, reqIDs(seq(3, 24, 1)...)},
			{"newest cursor, newest order", AuditFilter{Newest: true, Cursor: newNext}, nil, reqIDs(seq(21, 0, -1)...)},
			{"oldest cursor, newest order", AuditFilter{Newest: true, Cursor: oldNext}, ErrBadCursor, nil},
			{"newest cursor, oldest order", AuditFilter{Cursor: newNext}, ErrBadCursor, nil},
			// base64url("1767323046000000000:req-03"): the time of
			// req-02 and req-03, as every cursor was written before
			// newest-first order existed.
			{"earlier cursor, oldest order", AuditFilter{Cursor: "MTc2NzMyMzA0NjAwMDAwMDAwMDpyZXEtMDM"}, nil, reqIDs(seq(4, 24, 1)...)},
			{"earlier cursor, newest order", AuditFilter{Newest: true, Cursor: "MTc2NzMyMzA0NjAwMDAwMDAwMDpyZXEtMDM"}, ErrBadCursor, nil},
			{"garbage, newest order", AuditFilter{Newest: true, Cursor: "!!"}, ErrBadCursor, nil},
		}
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				tc.f.Limit = 1000
				got, next, err := a.Query(t.Context(), tc.f)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if err != nil {
					return
				}
				var ids []string
				for _, r := range got {
					ids = append(ids, r.RequestID)
				}
				if !slices.Equal(ids, tc.want) || next != "" {
					t.Errorf("got  %v (next %q)\nwant %v", ids, next, tc.want)
				}
			})
		}
	})
}
