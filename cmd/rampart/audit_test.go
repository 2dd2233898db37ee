package main

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/store"
)

func TestAuditVerb(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := store.OpenSQLite(t.Context(), filepath.Join(dir, "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = st.Audit().Insert(t.Context(), []*store.AuditRecord{
		{RequestID: "req-a", Time: now, Status: 200, Outcome: "ok", ModelRequested: "m1",
			Principal: store.AuditPrincipal{Kind: "api_key", ID: "k1"}},
		{RequestID: "req-b", Time: now, Status: 403, Outcome: "blocked", ModelRequested: "m2",
			Principal: store.AuditPrincipal{Kind: "api_key", ID: "k2"}},
		{RequestID: "req-old", Time: now.Add(-48 * time.Hour), Status: 200, Outcome: "ok"},
	})
	_ = st.Close()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc    string
		args    []string
		want    []string // in this order when inOrder
		notWant []string
		inOrder bool
	}{
		{"table", []string{"--data", dir}, []string{"REQUEST ID", "req-a", "req-b", "req-old"}, nil, false},
		{"by request id", []string{"--data", dir, "--request-id", "req-b", "--jsonl"}, []string{`"request_id":"req-b"`}, []string{"req-a"}, false},
		{"since", []string{"--db", filepath.Join(dir, "rampart.db"), "--since", "1h"}, []string{"req-a"}, []string{"req-old"}, false},
		{"by status", []string{"--data", dir, "--status", "403"}, []string{"req-b"}, []string{"req-a"}, false},
		{"by principal and model", []string{"--data", dir, "--principal", "k1", "--model", "m1"}, []string{"req-a"}, []string{"req-b"}, false},
		{"oldest first", []string{"--data", dir, "--limit", "1"}, []string{"req-old"}, []string{"req-a", "req-b"}, false},
		{"newest first", []string{"--data", dir, "--limit", "1", "--newest"}, []string{"req-b"}, []string{"req-a", "req-old"}, false},
		{"newest first, all", []string{"--data", dir, "--newest", "--jsonl"}, []string{"req-b", "req-a", "req-old"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			if err := runAudit(t.Context(), tc.args, &out, &errb); err != nil {
				t.Fatalf("%v: %s", err, errb.String())
			}
			if tc.inOrder {
				rest := out.String()
				for _, w := range tc.want {
					i := strings.Index(rest, w)
					if i < 0 {
						t.Fatalf("%q missing or out of order in:\n%s", w, out.String())
					}
					rest = rest[i+len(w):]
				}
			}
			// A page that leaves records out says so on stderr only.
			more := strings.Contains(errb.String(), "more records match")
			if wantMore := slices.Contains(tc.args, "--limit"); more != wantMore {
				t.Errorf("stderr %q, want the more-records note %v", errb.String(), wantMore)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out.String(), w) {
					t.Errorf("output holds %q:\n%s", w, out.String())
				}
			}
		})
	}
	if err := runAudit(t.Context(), []string{"--data", filepath.Join(dir, "none")}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("a missing store was not reported")
	}
}
