package e2e_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"
)

// auditFull is the part of an audit record the failure-injection suite
// reads: how the request ended and what it cost.
type auditFull struct {
	RequestID string `json:"request_id"`
	Stream    bool   `json:"stream"`
	Status    int    `json:"status"`
	Outcome   string `json:"outcome"`
	ErrorCode string `json:"error_code"`
	Usage     struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

// auditOf waits for the audit record of request id (the writer commits in
// batches) and checks that there is exactly one.
func (e *env) auditOf(t *testing.T, id string) auditFull {
	t.Helper()
	if id == "" {
		t.Fatal("no request id to look up in the audit trail")
	}
	var rows []auditFull
	waitFor(t, 5*time.Second, func() bool {
		st, body := e.adminGet("/admin/v1/audit?request_id=" + url.QueryEscape(id))
		var out struct {
			Records []auditFull `json:"records"`
		}
		if st != 200 || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("audit query: %d %s", st, body)
		}
		rows = out.Records
		return len(rows) > 0
	})
	if len(rows) != 1 {
		t.Fatalf("request %s: %d audit records, want 1: %+v", id, len(rows), rows)
	}
	return rows[0]
}

// auditWant is what the audit record of one request must say.
type auditWant struct {
	status int
	code   string // error code; empty for a success
	// tokens: the record counts completion tokens (the whole answer's, or
	// those relayed before the stream broke).
	tokens bool
}

// checkAudit asserts the audit record of request id.
func (e *env) checkAudit(t *testing.T, id string, w auditWant) auditFull {
	t.Helper()
	r := e.auditOf(t, id)
	if r.Status != w.status || r.ErrorCode != w.code {
		t.Errorf("audit record %s: status %d code %q, want %d %q", id, r.Status, r.ErrorCode, w.status, w.code)
	}
	if w.tokens && r.Usage.CompletionTokens <= 0 {
		t.Errorf("audit record %s counts %d completion tokens, want some: %+v", id, r.Usage.CompletionTokens, r)
	}
	if !w.tokens && r.Usage.CompletionTokens != 0 {
		t.Errorf("audit record %s counts %d completion tokens, want none: %+v", id, r.Usage.CompletionTokens, r)
	}
	return r
}

// auditAll returns every audit record so far.
func (e *env) auditAll(t *testing.T) []auditFull {
	t.Helper()
	st, body := e.adminGet("/admin/v1/audit?limit=1000")
	var out struct {
		Records []auditFull `json:"records"`
	}
	if st != 200 || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("audit query: %d %s", st, body)
	}
	return out.Records
}
