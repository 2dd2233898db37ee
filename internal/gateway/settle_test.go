package gateway

import (
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/limits"
	"github.com/rampart-gw/rampart/internal/record"
)

// TestSettledUsage checks what a finished request is charged: the
// upstream's usage when it reported one, and for a client that left
// before it, the reservation (or the tokens relayed, if more), never the
// relay's partial count alone.
func TestSettledUsage(t *testing.T) {
	reserved := limits.Usage{InputTokens: 100, OutputTokens: 50}
	tests := []struct {
		name string
		rec  *record.Record
		want limits.Usage
	}{
		{"upstream usage", &record.Record{Status: 200, Upstream: "u",
			Usage: record.Usage{PromptTokens: 90, CompletionTokens: 20, TotalTokens: 110}},
			limits.Usage{InputTokens: 90, OutputTokens: 20}},
		{"stream broken by the upstream: the tokens relayed", &record.Record{Status: 200, Upstream: "u",
			Usage: record.Usage{CompletionTokens: 7, TotalTokens: 7}},
			limits.Usage{OutputTokens: 7}},
		{"client left before the upstream answered", &record.Record{Status: 499, Upstream: "u"},
			limits.Usage{InputTokens: 100}},
		{"client left mid-stream: the reservation", &record.Record{Status: 499, Upstream: "u", TTFT: time.Millisecond,
			Usage: record.Usage{CompletionTokens: 7, TotalTokens: 7}},
			limits.Usage{InputTokens: 100, OutputTokens: 50}},
		{"client left mid-stream after more than reserved", &record.Record{Status: 499, Upstream: "u", TTFT: time.Millisecond,
			Usage: record.Usage{CompletionTokens: 80, TotalTokens: 80}},
			limits.Usage{InputTokens: 100, OutputTokens: 80}},
		{"client left mid-stream after the usage chunk", &record.Record{Status: 499, Upstream: "u", TTFT: time.Millisecond,
			Usage: record.Usage{PromptTokens: 90, CompletionTokens: 20, TotalTokens: 110}},
			limits.Usage{InputTokens: 90, OutputTokens: 20}},
		{"client left before any upstream", &record.Record{Status: 499}, limits.Usage{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := settledUsage(tc.rec, reserved); got != tc.want {
				t.Errorf("charged %+v, want %+v", got, tc.want)
			}
		})
	}
}
