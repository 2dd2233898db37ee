package dlp

import (
	"strings"
	"testing"
)

// TestValidatePaths checks that every problem names its field inside the
// dlp section, without the section's own name (the configuration loader
// adds it), one problem per line and always in the same order.
func TestValidatePaths(t *testing.T) {
	t.Parallel()
	cfg := Config{
		MinScore:    2,
		HoldBack:    -1,
		MaxHoldBack: 1 << 20,
		TokenInput:  "maybe",
		Request:     Policy{Types: map[string]Action{"PHONE_NUMBER": "shred", TypeEmail: ActionHash}},
		Response:    Policy{Secrets: "explode"},
		Custom:      []CustomDetector{{Type: "employee_id", Pattern: "EMP-("}},
		Terms:       []TermDictionary{{Type: "PROJECT"}},
	}
	want := strings.Join([]string{
		`request.types.PHONE_NUMBER: unknown action "shred"`,
		`response.secrets: unknown action "explode"`,
		`hash_key: required when an action is hash`,
		`token_input: must be block or allow, not "maybe"`,
		`min_score: 2 is outside 0..1`,
		`hold_back: -1 is outside 0..65536`,
		`max_hold_back: 1048576 is outside hold_back..65536`,
		`custom[0].type: "employee_id" is not an upper-case entity type`,
		"custom[0].pattern: error parsing regexp: missing closing ): `EMP-(`",
		`terms[0].terms: required: at least one term`,
	}, "\n")
	for range 5 {
		err := cfg.Validate()
		if err == nil || err.Error() != want {
			t.Fatalf("Validate:\n%v\nwant:\n%s", err, want)
		}
	}
}

// TestSetDefaultsScores checks that the default confidence of configured
// detectors is filled in, so that a dump of the configuration shows it, and
// that defaulting a copy leaves the original's lists alone.
func TestSetDefaultsScores(t *testing.T) {
	t.Parallel()
	orig := Config{
		Custom: []CustomDetector{{Type: "EMP", Pattern: `EMP-\d+`}, {Type: "BADGE", Pattern: `B\d+`, Score: 0.6}},
		Terms:  []TermDictionary{{Type: "PROJECT", Terms: []string{"bluebird"}}, {Type: "CODE", Terms: []string{"x"}, Score: 0.7}},
	}
	c := orig
	c.SetDefaults()
	tests := []struct {
		desc      string
		got, want float64
	}{
		{"custom without a score", c.Custom[0].Score, DefaultCustomScore},
		{"custom with a score", c.Custom[1].Score, 0.6},
		{"terms without a score", c.Terms[0].Score, DefaultTermScore},
		{"terms with a score", c.Terms[1].Score, 0.7},
		{"original custom untouched", orig.Custom[0].Score, 0},
		{"original terms untouched", orig.Terms[0].Score, 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: score %v, want %v", tt.desc, tt.got, tt.want)
		}
	}
	// A scan reports the score SetDefaults shows.
	sc, err := New(orig)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"PROJECT": DefaultTermScore, "EMP": DefaultCustomScore}
	got := map[string]float64{}
	for _, f := range sc.Scan("the bluebird plan for EMP-1234") {
		got[f.Type] = f.Score
	}
	for typ, score := range want {
		if got[typ] != score {
			t.Errorf("%s reported with score %v, want %v (findings %v)", typ, got[typ], score, got)
		}
	}
}
