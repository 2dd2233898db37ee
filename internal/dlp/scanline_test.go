package dlp

import (
	"testing"

	"github.com/go-json-experiment/json"
)

func TestScanLineContract(t *testing.T) {
	t.Parallel()
	sc := mustScanner(t, Config{Request: Policy{Types: map[string]Action{TypeSSN: ActionBlock, TypeIP: ActionLog}}})
	cases := []struct {
		desc, in, want string
	}{
		{"pass", `{"id": "a", "text": "hello there"}`,
			`{"id":"a","action":"pass","guards":[],"findings":[]}`},
		{"mask with code point offsets", `{"id": 7, "text": "Grüße, mail jane@example.com"}`,
			`{"id":7,"action":"mask","guards":[],"findings":[{"type":"EMAIL_ADDRESS","start":12,"end":28,"score":0.95}]}`},
		{"block wins", `{"id": "b", "text": "ip 10.1.2.3 ssn 308-63-0237"}`,
			`{"id":"b","action":"block","guards":[],"findings":[{"type":"IP_ADDRESS","start":3,"end":11,"score":0.85},{"type":"US_SSN","start":16,"end":27,"score":0.85}]}`},
		{"flag only", `{"id": "c", "text": "ip 10.1.2.3"}`,
			`{"id":"c","action":"flag","guards":[],"findings":[{"type":"IP_ADDRESS","start":3,"end":11,"score":0.85}]}`},
		{"assistant role uses response policy", `{"id": "d", "text": "mail jane@example.com", "role": "assistant"}`,
			`{"id":"d","action":"flag","guards":[],"findings":[{"type":"EMAIL_ADDRESS","start":5,"end":21,"score":0.95}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			var in ScanInput
			if err := json.Unmarshal([]byte(tc.in), &in); err != nil {
				t.Fatalf("decode: %v", err)
			}
			got, err := json.Marshal(ScanLine(sc, in))
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
