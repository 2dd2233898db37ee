package alert

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/record"
)

// receiver is a loopback webhook that keeps every body it gets.
type receiver struct {
	mu     sync.Mutex
	bodies []map[string]any
	hdrs   []http.Header
	srv    *httptest.Server
	status int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{status: http.StatusOK}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("webhook body is not JSON: %q", b)
		}
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, m)
		rc.hdrs = append(rc.hdrs, r.Header.Clone())
		st := rc.status
		rc.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) got() []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]map[string]any(nil), rc.bodies...)
}

// waitCount polls until the receiver holds n bodies or fails after 5s.
func waitCount(t *testing.T, rc *receiver, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if len(rc.got()) >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("receiver got %d alerts, want %d", len(rc.got()), n)
}

func TestOneAlertPerIncident(t *testing.T) {
	t.Parallel()
	slack, generic := newReceiver(t), newReceiver(t)
	n := New(Options{Sinks: []Sink{
		{Name: "slack", URL: slack.srv.URL, Format: "slack"},
		{Name: "json", URL: generic.srv.URL, Format: "json", Headers: map[string]string{"Authorization": "Bearer hook-token"}},
	}})
	incidents := []Incident{
		KillSwitchChanged("deepseek-r1", "kill", "admin", "jailbreak wave"),
		UpstreamUnhealthy("vllm-a", "circuit breaker open"),
		BudgetExhausted("team-budget", "key_abc"),
		BlockedBurst("key_abc", 10, time.Minute, record.Verdict{Stage: "guard", Rule: "injection", Action: "block"}),
	}
	for _, inc := range incidents {
		// Each incident raised three times: the repeats are deduplicated.
		for range 3 {
			n.Raise(inc)
		}
	}
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, rc := range map[string]*receiver{"slack": slack, "json": generic} {
		got := rc.got()
		if len(got) != len(incidents) {
			t.Fatalf("%s sink got %d alerts, want exactly %d (one per incident): %v", name, len(got), len(incidents), got)
		}
	}
	for i, b := range slack.got() {
		text, _ := b["text"].(string)
		if !strings.Contains(text, incidents[i].Kind) || len(b) != 1 {
			t.Errorf("slack alert %d = %v, want only a text naming %s", i, b, incidents[i].Kind)
		}
	}
	for i, b := range generic.got() {
		inc, _ := b["incident"].(map[string]any)
		if b["source"] != "rampart" || inc["kind"] != incidents[i].Kind || inc["subject"] != incidents[i].Subject {
			t.Errorf("json alert %d = %v, want incident %s about %s", i, b, incidents[i].Kind, incidents[i].Subject)
		}
	}
	if h := generic.hdrs[0].Get("Authorization"); h != "Bearer hook-token" {
		t.Errorf("sink header Authorization = %q", h)
	}
	st := n.Stats()
	if st.Sent != 8 || st.Deduplicated != 8 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("stats = %+v, want 8 sent, 8 deduplicated", st)
	}
}

func TestDedupWindowExpires(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	n := New(Options{Sinks: []Sink{{Name: "a", URL: rc.srv.URL}}, Dedup: time.Minute, Now: clock})
	inc := UpstreamUnhealthy("u1", "down")
	tests := []struct {
		advance time.Duration
		queued  bool
	}{{0, true}, {30 * time.Second, false}, {31 * time.Second, true}, {time.Second, false}}
	for i, tc := range tests {
		mu.Lock()
		now = now.Add(tc.advance)
		mu.Unlock()
		if got := n.Raise(inc); got != tc.queued {
			t.Errorf("step %d: Raise = %v, want %v", i, got, tc.queued)
		}
	}
	_ = n.Close(context.Background())
	if got := len(rc.got()); got != 2 {
		t.Errorf("got %d alerts, want 2", got)
	}
}

func TestRateLimitAndQueueDropsAreCounted(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	n := New(Options{Sinks: []Sink{{Name: "slow", URL: srv.URL, Timeout: 10 * time.Second}}, MaxPerMinute: 5, Queue: 2})
	queued := 0
	for i := range 20 {
		if n.Raise(UpstreamUnhealthy("u"+string(rune('a'+i)), "down")) {
			queued++
		}
	}
	// One in flight, two in the queue at most, and at most five per minute.
	if queued < 2 || queued > 3 {
		t.Errorf("queued %d, want 2 or 3 (queue of 2 plus the one being sent)", queued)
	}
	if st := n.Stats(); st.Dropped != uint64(20-queued) {
		t.Errorf("dropped = %d, want %d", st.Dropped, 20-queued)
	}
}

func TestFailedDeliveryIsCountedAndNeverQuotesTheURL(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	rc.status = http.StatusInternalServerError
	n := New(Options{Sinks: []Sink{{Name: "a", URL: rc.srv.URL + "/T000/SECRET-TOKEN"}}})
	n.Raise(KillSwitchChanged("*", "kill", "admin", ""))
	_ = n.Close(context.Background())
	if st := n.Stats(); st.Failed != 1 || st.Sent != 0 {
		t.Errorf("stats = %+v, want 1 failed", st)
	}
	err := n.deliver(Sink{URL: "http://127.0.0.1:1/T000/SECRET-TOKEN"}, Incident{Kind: "x"})
	if err == nil || strings.Contains(err.Error(), "SECRET-TOKEN") {
		t.Errorf("deliver error %v must exist and not quote the URL", err)
	}
}

func TestWatcherBlockedBurstAndBudget(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	n := New(Options{Sinks: []Sink{{Name: "a", URL: rc.srv.URL}}})
	w := NewWatcher(n, 3, time.Minute)
	blocked := func(id string) *record.Record {
		r := &record.Record{Status: 403, Principal: record.Principal{ID: id}}
		r.AddVerdict(record.Verdict{Stage: "guard", Rule: "injection", Action: "block"})
		return r
	}
	ok := &record.Record{Status: 200, Principal: record.Principal{ID: "key_a"}}
	for range 2 {
		w.Record(blocked("key_a"))
		w.Record(ok)
		w.Record(blocked("key_b"))
	}
	if len(n.ch) != 0 || n.Stats().Sent != 0 {
		t.Fatal("an alert was raised before the burst")
	}
	w.Record(blocked("key_a")) // third block of key_a: the burst
	budget := &record.Record{Status: 429, ErrorCode: "insufficient_quota", Principal: record.Principal{ID: "key_c"}}
	budget.AddVerdict(record.Verdict{Stage: "limit", Rule: "monthly", Action: "block", Detail: "cost"})
	w.Record(budget)
	w.Record(budget) // the same budget again: deduplicated
	down := &record.Record{Status: 503, ErrorCode: "upstream_unavailable", Route: "chat"}
	w.Record(down)
	w.Record(down) // deduplicated
	rate := &record.Record{Status: 429, ErrorCode: "rate_limit_exceeded", Principal: record.Principal{ID: "key_c"}}
	rate.AddVerdict(record.Verdict{Stage: "limit", Rule: "rpm", Action: "block", Detail: "requests"})
	w.Record(rate) // a rate limit is not a budget
	waitCount(t, rc, 3)
	_ = n.Close(context.Background())
	got := rc.got()
	if len(got) != 3 {
		t.Fatalf("got %d alerts, want 3: %v", len(got), got)
	}
	kinds := map[string]string{}
	for _, b := range got {
		inc := b["incident"].(map[string]any)
		kinds[inc["kind"].(string)] = inc["subject"].(string)
	}
	if kinds[KindBlockedBurst] != "key_a" || kinds[KindBudgetExhausted] != "key_c" || kinds[KindUpstreamUnhealthy] != "route:chat" {
		t.Errorf("alerts = %v, want a burst for key_a, a budget for key_c and route chat unavailable", kinds)
	}
}

func TestNilNotifierIsOff(t *testing.T) {
	t.Parallel()
	var n *Notifier
	if n.Raise(UpstreamUnhealthy("u", "x")) || n.Close(context.Background()) != nil || n.Stats() != (Stats{}) {
		t.Error("a nil notifier must do nothing")
	}
	if New(Options{}) != nil || NewWatcher(nil, 1, 0) != nil {
		t.Error("no sinks must mean no notifier")
	}
}

func BenchmarkWatcherUnblocked(b *testing.B) {
	n := New(Options{Sinks: []Sink{{Name: "a", URL: "http://127.0.0.1:1"}}})
	defer n.Close(context.Background())
	w := NewWatcher(n, 10, time.Minute)
	rec := &record.Record{Status: 200}
	b.ReportAllocs()
	for b.Loop() {
		w.Record(rec)
	}
}
