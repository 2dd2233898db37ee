package store

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestAuditContentStoredQueriedAndPurged(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	a := st.Audit()
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
		{"bounded by limit", base.Add(time.Hour), 0, 2, 2, 2},
		{"under the cap", base, 1000, 100, 0, 2},
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
}

func TestAuditGatewayTimeRoundTrip(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	r := &AuditRecord{RequestID: "g-1", Time: time.Unix(1_800_000_000, 0).UTC(), Status: 200, Outcome: "ok",
		TTFT: 40 * time.Millisecond, Duration: 90 * time.Millisecond, GatewayTime: 1500 * time.Microsecond}
	if err := st.Audit().Insert(t.Context(), []*AuditRecord{r}); err != nil {
		t.Fatal(err)
	}
	got, _, err := st.Audit().Query(t.Context(), AuditFilter{RequestID: "g-1"})
	if err != nil || len(got) != 1 {
		t.Fatalf("query: %v %v", got, err)
	}
	if g := got[0]; g.GatewayTime != r.GatewayTime || g.TTFT != r.TTFT || g.Duration != r.Duration {
		t.Errorf("latency breakdown = %v %v %v, want %v %v %v", g.GatewayTime, g.TTFT, g.Duration, r.GatewayTime, r.TTFT, r.Duration)
	}
}
