package waf

import (
	"bytes"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

func TestEnvelope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		in   string
		want string
	}{
		{"contents, vocabulary and scalars left out, envelope kept",
			`{"model":"m","messages":[{"role":"user","content":"cat /etc/passwd","name":"bob"}],"temperature":0.2,"stream":true,"user":"u-1"}`,
			`{"model":"m","messages":[{"name":"bob"}],"user":"u-1"}`},
		{"content parts left out",
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"<script>"},{"type":"image_url","image_url":{"url":"data:x"}}]}]}`,
			`{"model":"m"}`},
		{"reasoning and refusal left out",
			`{"messages":[{"role":"assistant","content":null,"reasoning_content":"think","refusal":"no","name":"a"}]}`,
			`{"messages":[{"name":"a"}]}`},
		{"tool call arguments left out, name and ID kept",
			`{"messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"run","arguments":"{\"sql\":\"DROP TABLE t\"}"}}]}]}`,
			`{"messages":[{"tool_calls":[{"id":"c1","function":{"name":"run"}}]}]}`},
		{"tool descriptions left out, names and schema kept",
			`{"tools":[{"type":"function","function":{"name":"q","description":"Run SQL: SELECT 1","parameters":{"type":"object","properties":{"sql":{"type":"string","description":"the query"}}}}}]}`,
			`{"tools":[{"function":{"name":"q"}}]}`},
		{"prompt and input left out",
			`{"model":"m","prompt":["a' OR 1=1","b"],"input":"<img onerror=x>","suffix":"s"}`,
			`{"model":"m","suffix":"s"}`},
		{"escaped member name left out",
			`{"messages":[{"role":"user","\u0063ontent":"rm -rf /","name":"n"}]}`,
			`{"messages":[{"name":"n"}]}`},
		{"repeated messages inspected once",
			`{"messages":[{"role":"user","name":"a"},{"role":"assistant","name":"a"},{"role":"user","name":"b"}]}`,
			`{"messages":[{"name":"a"},{"name":"b"}]}`},
		{"nested messages elsewhere kept",
			`{"metadata":{"messages":[{"content":"x"}]},"content":"y"}`,
			`{"metadata":{"messages":[{"content":"x"}]},"content":"y"}`},
		{"stop sequences kept", `{"stop":["\n\n","User:"]}`, `{"stop":["\n\n","User:"]}`},
		{"white space dropped", " {\n \"model\" : \"m\" , \"messages\" : [ { \"content\" : \"x\" } ] }\n", `{"model":"m"}`},
		{"nothing to inspect", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`, `{}`},
		{"top-level scalar", `"just a string"`, `"just a string"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			got, err := Envelope([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestEnvelopeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		in   string
	}{
		{"empty", ""},
		{"truncated", `{"messages":[{"content":"x"`},
		{"trailing data", `{"a":1} {"b":2}`},
		{"trailing garbage", `{"a":1}x`},
		{"duplicate member names", `{"messages":[],"messages":[{"content":"x"}]}`},
		{"duplicate content", `{"messages":[{"content":"","content":"rm -rf /"}]}`},
		{"invalid UTF-8", "{\"model\":\"\xff\"}"},
		{"bad escape", `{"a":"\q"}`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			if got, err := Envelope([]byte(tc.in)); err == nil {
				t.Fatalf("no error; got %q", got)
			}
		})
	}
}

func TestIsJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ct   string
		want bool
	}{
		{"application/json", true},
		{"Application/JSON; charset=utf-8", true},
		{"application/jsonx", true}, // Coraza's rule 200001 is a prefix match
		{"application/vnd.api+json", true},
		{"text/plain", false},
		{"multipart/form-data; boundary=x", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := isJSON(tc.ct); got != tc.want {
			t.Errorf("isJSON(%q) = %v, want %v", tc.ct, got, tc.want)
		}
	}
}

// FuzzEnvelope checks that any valid JSON document yields an envelope, that
// the envelope is valid JSON no longer than the input, and that taking the
// envelope is idempotent.
func FuzzEnvelope(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"messages":[{"content":[{"type":"text","text":"x"}],"tool_calls":[{"function":{"arguments":"{}"}}]}]}`))
	f.Add([]byte(`{"prompt":["a","b"],"input":{"x":["y"]}}`))
	f.Add([]byte(`[1,"two",{"three":null}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Envelope(in)
		valid := jsontext.Value(bytes.Clone(in)).IsValid()
		if err != nil {
			if valid {
				t.Fatalf("valid JSON %q rejected: %v", in, err)
			}
			return
		}
		if !valid {
			t.Fatalf("invalid JSON %q accepted", in)
		}
		if len(out) > len(in) || !jsontext.Value(out).IsValid() {
			t.Fatalf("envelope %q of %q is invalid or longer", out, in)
		}
		again, err := Envelope(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("the envelope is not idempotent: %q then %q (%v)", out, again, err)
		}
	})
}
