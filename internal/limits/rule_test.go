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
		{"missing name", []Rule{{Window: Minute, Requests: 1}}, []string{"rules[0].name: required"}},
		{"bad name", []Rule{{Name: "a b", Window: Minute, Requests: 1}}, []string{`rules[0].name: "a b" must be 1-64`}},
		{"limits nothing", []Rule{{Name: "a", Window: Minute}}, []string{"rules[0].requests: the rule limits nothing"}},
		{"bad window", []Rule{{Name: "a", Window: "week", Requests: 1}}, []string{`rules[0].window: "week"`}},
		{"no window", []Rule{{Name: "a", TotalTokens: 5}}, []string{"rules[0].window"}},
		{"bad dimension", []Rule{{Name: "a", Window: Day, Requests: 1, By: []Dimension{"org"}}}, []string{"rules[0].by[0]: unknown dimension"}},
		{"dimension twice", []Rule{{Name: "a", Window: Day, Requests: 1, By: []Dimension{DimKey, DimKey}}}, []string{"rules[0].by[1]"}},
		{"bad cidr", []Rule{{Name: "a", Window: Day, Requests: 1, Match: Selector{ClientIP: []string{"10.0.0.0/99"}}}}, []string{`rules[0].match.client_ip[0]: "10.0.0.0/99" is not a CIDR`}},
		{"client ip that is no address", []Rule{{Name: "a", Window: Day, Requests: 1, Match: Selector{ClientIP: []string{"10.0.0.1", "not-an-ip"}}}},
			[]string{`rules[0].match.client_ip[1]: "not-an-ip" is not an IP address or a CIDR`}},
		{"client ip with a zone", []Rule{{Name: "a", Window: Day, Requests: 1, Match: Selector{ClientIP: []string{"fe80::1%eth0"}}}}, []string{"rules[0].match.client_ip[0]"}},
		{"client ip prefix that is no address", []Rule{{Name: "a", Window: Day, Requests: 1, Match: Selector{ClientIP: []string{"office*"}}}}, []string{"rules[0].match.client_ip[0]"}},
		{"client ips, cidrs and address prefixes", []Rule{{Name: "a", Window: Day, Requests: 1,
			Match: Selector{ClientIP: []string{"10.0.0.1", "2001:db8::1", "::ffff:192.0.2.1", "10.0.0.0/8", "fd00::/8", "192.168.*"}}}}, nil},
		{"a key may be any string", []Rule{{Name: "a", Window: Day, Requests: 1, Match: Selector{Key: []string{"not-an-ip", "ci-*"}}}}, nil},
		{"negative", []Rule{{Name: "a", Window: Day, Requests: -1}}, []string{"rules[0].requests: -1"}},
		{"every problem at once", []Rule{
			{Name: "a", Window: Day, Requests: 1},
			{Name: "a", Window: Day, Requests: 1},
			{Name: "b", Window: "fortnight", Requests: 1},
		}, []string{"rules[1].name: duplicate", "rules[2].window"}},
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

// TestValidateRules checks that the loader's entry point reports what New
// refuses, with paths relative to the limits section.
func TestValidateRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		rules []Rule
		want  string
	}{
		{"valid", []Rule{{Name: "a", Window: Minute, Requests: 1}, {Name: "b", Concurrent: 1}}, ""},
		{"none", nil, ""},
		{"every problem of every rule", []Rule{
			{Window: Minute, Requests: 1},
			{Name: "b", Window: "fortnight", Requests: 1},
			{Name: "c", Window: Minute, Requests: -1, By: []Dimension{"colour"}},
			{Name: "d", Window: Minute},
			{Name: "has spaces", Window: Minute, Requests: 1, Match: Selector{ClientIP: []string{"not-an-ip"}}},
		}, "rules[0].name: required\n" +
			`rules[1].window: "fortnight" must be second, minute, hour, day or month` + "\n" +
			`rules[2].by[0]: unknown dimension "colour" (want key, user, team, model, route or client_ip)` + "\n" +
			"rules[2].requests: -1 must not be negative\n" +
			"rules[3].requests: the rule limits nothing; set at least one of requests, input_tokens, output_tokens, total_tokens, cost or concurrent\n" +
			`rules[4].name: "has spaces" must be 1-64 letters, digits, '_', '-' or '.'` + "\n" +
			`rules[4].match.client_ip[0]: "not-an-ip" is not an IP address or a CIDR`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			err := ValidateRules(tt.rules)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("ValidateRules:\n%s\nwant:\n%s", got, tt.want)
			}
			_, nerr := New(tt.rules, NewMemory(MemoryOptions{}), Options{})
			if (nerr == nil) != (err == nil) {
				t.Errorf("New returned %v where ValidateRules returned %v", nerr, err)
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
		{Name: "lan", Match: Selector{ClientIP: []string{"10.0.0.0/8", "::1", "2001:DB8::7", "192.0.2.9", "172.16.*"}}, Window: Minute, Requests: 1},
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
		{"exact v6 written in upper case", Subject{ClientIP: "2001:db8::7"}, "lan"},
		{"exact v4 seen mapped", Subject{ClientIP: "::ffff:192.0.2.9"}, "lan"},
		{"address prefix", Subject{ClientIP: "172.16.4.4"}, "lan"},
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
