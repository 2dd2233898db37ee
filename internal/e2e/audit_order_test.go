package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/sim"
)

// auditPageIDs follows the admin API's cursors for query, pages of limit
// records, and returns the request IDs in the order the pages gave them.
func auditPageIDs(e *env, query string, limit int) []string {
	e.t.Helper()
	var ids []string
	cursor := ""
	for range 20 {
		rows, next := e.auditRows(query + "&limit=" + strconv.Itoa(limit) + "&cursor=" + url.QueryEscape(cursor))
		for _, r := range rows {
			ids = append(ids, r.RequestID)
		}
		if next == "" {
			return ids
		}
		cursor = next
	}
	e.t.Fatalf("%s: more than 20 pages", query)
	return nil
}

// auditError asks the admin API for query and returns the status and the
// code and message of its OpenAI-style error answer, as "code: message".
func auditError(t *testing.T, e *env, query string) (int, string) {
	t.Helper()
	resp, err := http.Get(e.admin + "/admin/v1/audit?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Error struct {
			Message string `json:"message"`
			Code    string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Error.Code == "" {
		t.Fatalf("%s: answer %q is not an OpenAI-style error: %v", query, b, err)
	}
	return resp.StatusCode, out.Error.Code + ": " + out.Error.Message
}

// TestAuditOrderNewest pages through the audit trail newest first and
// oldest first, and checks the refusals of a bad order and of a cursor of
// the other order.
func TestAuditOrderNewest(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	var sent []string
	for i := range 5 {
		resp, _ := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
		sent = append(sent, resp.Header.Get("X-Request-Id"))
	}
	waitFor(t, 5*time.Second, func() bool { rows, _ := e.auditRows("limit=1000"); return len(rows) == len(sent) })

	newest := slices.Clone(sent)
	slices.Reverse(newest)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"order=newest", newest},
		{"order=oldest", sent},
		{"order=", sent},
		{"principal=static:test", sent},
		{"principal=static:test&order=newest", newest},
	} {
		for _, limit := range []int{1, 2, 5} {
			if got := auditPageIDs(e, tc.query, limit); !slices.Equal(got, tc.want) {
				t.Errorf("%s, pages of %d:\n got %v\nwant %v", tc.query, limit, got, tc.want)
			}
		}
	}

	// The newest record comes first with the default limit too.
	if rows, _ := e.auditRows("order=newest"); len(rows) != len(sent) || rows[0].RequestID != sent[len(sent)-1] {
		t.Errorf("order=newest: %+v, want %s first", rows, sent[len(sent)-1])
	}

	for _, q := range []string{"order=latest", "order=NEWEST", "order=desc"} {
		status, msg := auditError(t, e, q)
		if status != 400 || !strings.Contains(msg, "order") || !strings.Contains(msg, "oldest") || !strings.Contains(msg, "newest") {
			t.Errorf("%s: %d %q, want 400 naming order, oldest and newest", q, status, msg)
		}
	}

	_, newNext := e.auditRows("order=newest&limit=2")
	_, oldNext := e.auditRows("order=oldest&limit=2")
	if newNext == "" || oldNext == "" {
		t.Fatalf("no next cursor: newest %q, oldest %q", newNext, oldNext)
	}
	for _, q := range []string{
		"order=oldest&cursor=" + url.QueryEscape(newNext),
		"cursor=" + url.QueryEscape(newNext),
		"order=newest&cursor=" + url.QueryEscape(oldNext),
	} {
		if status, msg := auditError(t, e, q); status != 400 || !strings.HasPrefix(msg, "invalid_cursor: ") {
			t.Errorf("%s: %d %q, want 400 invalid_cursor", q, status, msg)
		}
	}
}
