package limits

import (
	"strings"
	"testing"
	"time"
)

func TestNewValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		rules []Rule
		want  []string // substrings of the error; none means valid
	}{
		{"valid", []Rule{{Name: "per-key", By: []Dimension{DimKey}, Window: Minute, Requests: 10}}, nil},
		{"concurrency needs no window", []Rule{{Name: "c", Concurrent: 2}}, nil},
		{"missing name", []Rule{{Window: Minute, Requests: 1}}, []string{"limits[0].name"}},
		{"bad name", []Rule{{Name: "a b", Window: Minute, Requests: 1}}, []string{"limits[0].name"}},
		{"limits nothing", []Rule{{Name: "a", Window: Minute}}, []string{"limits[0].requests: the rule limits nothing"}},
		{"bad window", []Rule{{Name: "a", Window: "week", Requests: 1}}, []string{`limits[0].window: "week"`}},
		{"no window", []Rule{{Name: "a", TotalTokens: 5}}, []string{"limits[0].window"}},
		{"bad dimension", []Rule{{Name: "a", Window: Day, Requests: 1, By: []Dimension{"org"}}}, []string{"limits[0].by[0]: unknown dimension"}},
		{"dimension twice", []Rule{{Name: "a", Window: Day, Requests: 1, By: []Dimension{DimKey, DimKey}}}, []string{"limits[0].by[1]"}},
		{"bad cidr", []Rule{{Name: "a", Window: Day, Requests: 1, Match: Selector{ClientIP: []string{"10.0.0.0/99"}}}}, []string{"limits[0].match.client_ip"}},
		{"negative", []Rule{{Name: "a", Window: Day, Requests: -1}}, []string{"limits[0].requests: -1"}},
		{"every problem at once", []Rule{
			{Name: "a", Window: Day, Requests: 1},
			{Name: "a", Window: Day, Requests: 1},
			{Name: "b", Window: "fortnight", Requests: 1},
		}, []string{"limits[1].name: duplicate", "limits[2].window"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.rules, NewMemory(MemoryOptions{}), Options{})
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New accepted invalid rules")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestWindowSpan(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 31, 23, 59, 30, 500, time.UTC)
	tests := []struct {
		desc       string
		w          Window
		start, end time.Time
	}{
		{"second", Second, now.Truncate(time.Second), now.Truncate(time.Second).Add(time.Second)},
		{"minute", Minute, time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"hour", Hour, time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"day", Day, time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"month", Month, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			s, e := tt.w.span(now)
			if !s.Equal(tt.start) || !e.Equal(tt.end) {
				t.Errorf("span = %v..%v, want %v..%v", s, e, tt.start, tt.end)
			}
		})
	}
}

func TestRuleMatching(t *testing.T) {
	t.Parallel()
	rules := []Rule{
		{Name: "ds", Match: Selector{Model: []string{"deepseek-*"}}, Window: Minute, Requests: 1},
		{Name: "lan", Match: Selector{ClientIP: []string{"10.0.0.0/8", "::1"}}, Window: Minute, Requests: 1},
		{Name: "team", Match: Selector{Team: []string{"red"}, Route: []string{"public"}}, Window: Minute, Requests: 1},
		{Name: "hook", MatchFunc: func(s Subject) bool { return s.User == "alice" }, Window: Minute, Requests: 1},
	}
	cs, err := compileRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		s    Subject
		want string // names of the rules that apply
	}{
		{"prefix model", Subject{Model: "deepseek-chat"}, "ds"},
		{"other model", Subject{Model: "gpt-4o"}, ""},
		{"cidr", Subject{ClientIP: "10.1.2.3"}, "lan"},
		{"mapped v4 in cidr", Subject{ClientIP: "::ffff:10.1.2.3"}, "lan"},
		{"exact v6", Subject{ClientIP: "::1"}, "lan"},
		{"outside cidr", Subject{ClientIP: "192.168.1.1"}, ""},
		{"not an ip", Subject{ClientIP: "ten"}, ""},
		{"both fields must match", Subject{Team: "red", Route: "private"}, ""},
		{"both fields match", Subject{Team: "red", Route: "public"}, "team"},
		{"hook", Subject{User: "alice", Model: "deepseek-reasoner"}, "ds,hook"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, c := range cs {
				if c.applies(&tt.s) {
					got = append(got, c.name)
				}
			}
			if g := strings.Join(got, ","); g != tt.want {
				t.Errorf("rules = %q, want %q", g, tt.want)
			}
		})
	}
}

func TestPriceCost(t *testing.T) {
	t.Parallel()
	p := Price{InputCacheHit: 0.028, InputCacheMiss: 0.28, Output: 0.42}
	tests := []struct {
		desc           string
		hit, miss, out int64
		want           int64
	}{
		{"one million misses", 0, 1_000_000, 0, 280_000_000},
		{"mixed", 1000, 1000, 1000, 28_000 + 280_000 + 420_000},
		{"rounds up", 0, 0, 1, 420},
		{"nothing", 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := p.cost(tt.hit, tt.miss, tt.out); got != tt.want {
				t.Errorf("cost = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestClampOutput(t *testing.T) {
	t.Parallel()
	l := mustNew(t, []Rule{
		{Name: "a", Window: Minute, TotalTokens: 1000, MaxOutputTokens: 500},
		{Name: "b", Match: Selector{Model: []string{"small"}}, Window: Minute, TotalTokens: 1000, MaxOutputTokens: 100},
	}, NewMemory(MemoryOptions{}), Options{})
	tests := []struct {
		desc      string
		model     string
		requested int64
		want      int64
	}{
		{"under cap", "big", 200, 200},
		{"over cap", "big", 900, 500},
		{"unset takes cap", "big", 0, 500},
		{"smallest cap wins", "small", 900, 100},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := l.ClampOutput(Subject{Model: tt.model}, tt.requested); got != tt.want {
				t.Errorf("ClampOutput = %d, want %d", got, tt.want)
			}
		})
	}
}
