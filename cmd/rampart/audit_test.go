package main

import (
	"bytes"
	"path/filepath"
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
		want    []string
		notWant []string
	}{
		{"table", []string{"--data", dir}, []string{"REQUEST ID", "req-a", "req-b", "req-old"}, nil},
		{"by request id", []string{"--data", dir, "--request-id", "req-b", "--jsonl"}, []string{`"request_id":"req-b"`}, []string{"req-a"}},
		{"since", []string{"--db", filepath.Join(dir, "rampart.db"), "--since", "1h"}, []string{"req-a"}, []string{"req-old"}},
		{"by status", []string{"--data", dir, "--status", "403"}, []string{"req-b"}, []string{"req-a"}},
		{"by principal and model", []string{"--data", dir, "--principal", "k1", "--model", "m1"}, []string{"req-a"}, []string{"req-b"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			if err := runAudit(t.Context(), tc.args, &out, &errb); err != nil {
				t.Fatalf("%v: %s", err, errb.String())
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
