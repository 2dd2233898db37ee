package store

import (
	"context"
	"testing"
	"time"
)

func TestUsageAddQuery(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	ctx := context.Background()
	h := func(day, hour int) time.Time { return time.Date(2026, 10, day, hour, 0, 0, 0, time.UTC) }
	row := func(b time.Time, key, team, model string, req int64) UsageRow {
		return UsageRow{Bucket: b, PrincipalID: key, Team: team, Model: model,
			UsageCounts: UsageCounts{Requests: req, PromptTokens: 10 * req, TotalTokens: 15 * req, CostNanos: 7 * req}}
	}
	// Two flushes for the same group are summed.
	for range 2 {
		if err := st.Usage().Add(ctx, []UsageRow{
			row(h(1, 9), "k1", "t1", "deepseek-chat", 1),
			row(h(1, 10), "k1", "t1", "deepseek-reasoner", 2),
			row(h(2, 9), "k2", "t1", "deepseek-chat", 3),
			row(h(31, 23), "k3", "t2", "gpt-4o", 4),
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Usage().Add(ctx, []UsageRow{row(h(1, 9).Add(time.Minute), "k", "", "", 1)}); err == nil {
		t.Error("a bucket that is not an hour start was accepted")
	}
	tests := []struct {
		desc string
		q    UsageQuery
		want []UsageRow
	}{
		{"total", UsageQuery{From: h(1, 0), To: h(31, 0).Add(48 * time.Hour), Granularity: GranularityTotal},
			[]UsageRow{{UsageCounts: UsageCounts{Requests: 20, PromptTokens: 200, TotalTokens: 300, CostNanos: 140}}}},
		{"by key per day", UsageQuery{From: h(1, 0), To: h(3, 0), Granularity: GranularityDay, GroupBy: []string{UsageByKey}},
			[]UsageRow{
				{Bucket: h(1, 0), PrincipalID: "k1", UsageCounts: UsageCounts{Requests: 6, PromptTokens: 60, TotalTokens: 90, CostNanos: 42}},
				{Bucket: h(2, 0), PrincipalID: "k2", UsageCounts: UsageCounts{Requests: 6, PromptTokens: 60, TotalTokens: 90, CostNanos: 42}},
			}},
		{"team filter by model, month", UsageQuery{From: h(1, 0), To: h(31, 23).Add(time.Hour), Team: "t1", Granularity: GranularityMonth, GroupBy: []string{UsageByModel}},
			[]UsageRow{
				{Bucket: h(1, 0), Model: "deepseek-chat", UsageCounts: UsageCounts{Requests: 8, PromptTokens: 80, TotalTokens: 120, CostNanos: 56}},
				{Bucket: h(1, 0), Model: "deepseek-reasoner", UsageCounts: UsageCounts{Requests: 4, PromptTokens: 40, TotalTokens: 60, CostNanos: 28}},
			}},
		{"to is exclusive", UsageQuery{From: h(1, 0), To: h(1, 10), Granularity: GranularityHour, PrincipalID: "k1"},
			[]UsageRow{{Bucket: h(1, 9), UsageCounts: UsageCounts{Requests: 2, PromptTokens: 20, TotalTokens: 30, CostNanos: 14}}}},
		{"nothing", UsageQuery{From: h(5, 0), To: h(6, 0)}, []UsageRow{}},
	}
	for _, tt := range tests {
		got, err := st.Usage().Query(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.desc, err)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.desc, got, tt.want)
			continue
		}
		for i := range got {
			if !got[i].Bucket.Equal(tt.want[i].Bucket) || got[i].PrincipalID != tt.want[i].PrincipalID ||
				got[i].Team != tt.want[i].Team || got[i].Model != tt.want[i].Model || got[i].UsageCounts != tt.want[i].UsageCounts {
				t.Errorf("%s: row %d %+v, want %+v", tt.desc, i, got[i], tt.want[i])
			}
		}
	}
	for _, q := range []UsageQuery{{GroupBy: []string{"route"}}, {Granularity: "week"}} {
		if _, err := st.Usage().Query(ctx, q); err == nil {
			t.Errorf("query %+v: no error", q)
		}
	}
}
