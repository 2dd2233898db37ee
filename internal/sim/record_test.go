package sim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestRecordingBounds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc      string
		max       int
		sent      int
		wantKept  int
		wantFirst int // index of the first kept request in send order
	}{
		{"under the cap", 5, 3, 3, 0},
		{"drops the oldest", 3, 7, 3, 4},
		{"disabled", -1, 4, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			s, ts := startSim(t, Options{MaxRecorded: c.max})
			for i := range c.sent {
				_, _ = readAll(t, post(testCtx(t), t, ts.URL+"/v1/chat/completions", fmt.Sprintf(`{"model":"deepseek-chat","messages":[{"role":"user","content":"n%d"}]}`, i), nil))
			}
			if err := s.WaitRequests(testCtx(t), c.sent); err != nil {
				t.Fatal(err)
			}
			recs := s.Requests()
			if len(recs) != c.wantKept {
				t.Fatalf("kept %d, want %d", len(recs), c.wantKept)
			}
			for i, r := range recs {
				want := fmt.Sprintf(`"n%d"`, c.wantFirst+i)
				if !strings.Contains(string(r.Body), want) {
					t.Errorf("record %d has body %s, want %s", i, r.Body, want)
				}
			}
			s.Reset()
			if len(s.Requests()) != 0 {
				t.Error("Reset kept requests")
			}
			ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Millisecond)
			defer cancel()
			if err := s.WaitRequests(ctx, 1); err == nil {
				t.Error("WaitRequests after Reset returned before any request")
			}
		})
	}
}
