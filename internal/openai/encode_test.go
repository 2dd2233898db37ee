package openai

import (
	"bytes"
	"errors"
	"testing"
)

func mustDecode(t testing.TB, body string) *Request {
	t.Helper()
	r, err := Decode(Chat, []byte(body), Limits{})
	if err != nil {
		t.Fatalf("Decode(%s): %v", body, err)
	}
	return r
}

func TestAppendUpstreamBody(t *testing.T) {
	t.Parallel()
	const history = `{"model":"deepseek-reasoner", "x_top":{"a": [1, 2]},` +
		`"messages":[{"role":"user","content":"hi","x_msg":{"k":"v"}},` +
		`{"role":"assistant","content":"yo","reasoning_content":"think\n","x_msg":1},` +
		`{"role":"user","content":"more","reasoning_content":"kept: not assistant"}],` +
		`"stream":true,"stream_options":{"chunk":5, "include_usage":false},"max_completion_tokens":100}`
	tests := []struct {
		desc  string
		body  string
		edits Edits
		want  string
	}{
		{"no edits", history, Edits{}, history},
		{"same model is no edit", history, Edits{Model: "deepseek-reasoner", MaxTokens: 100}, history},
		{"model replaced", `{"model":"a", "n":1 ,"messages":[{"role":"user"}]}`, Edits{Model: "b\"<"},
			`{"model":"b\"<","n":1,"messages":[{"role":"user"}]}`},
		{"include_usage forced, other members kept", history, Edits{ForceIncludeUsage: true},
			`{"model":"deepseek-reasoner","x_top":{"a": [1, 2]},"messages":[{"role":"user","content":"hi","x_msg":{"k":"v"}},` +
				`{"role":"assistant","content":"yo","reasoning_content":"think\n","x_msg":1},` +
				`{"role":"user","content":"more","reasoning_content":"kept: not assistant"}],` +
				`"stream":true,"stream_options":{"chunk":5,"include_usage":true},"max_completion_tokens":100}`},
		{"include_usage added to options", `{"model":"a","stream":true,"stream_options":{"x":1},"messages":[{"role":"user"}]}`,
			Edits{ForceIncludeUsage: true}, `{"model":"a","stream":true,"stream_options":{"x":1,"include_usage":true},"messages":[{"role":"user"}]}`},
		{"stream_options added", `{"model":"a","stream":true,"messages":[{"role":"user"}]}`,
			Edits{ForceIncludeUsage: true}, `{"model":"a","stream":true,"messages":[{"role":"user"}],"stream_options":{"include_usage":true}}`},
		{"stream_options null replaced", `{"model":"a","stream":true,"stream_options":null,"messages":[{"role":"user"}]}`,
			Edits{ForceIncludeUsage: true}, `{"model":"a","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user"}]}`},
		{"include_usage not forced without stream", `{"model":"a","messages":[{"role":"user"}]}`,
			Edits{ForceIncludeUsage: true}, `{"model":"a","messages":[{"role":"user"}]}`},
		{"reasoning stripped from assistant only", history, Edits{StripReasoning: true},
			`{"model":"deepseek-reasoner","x_top":{"a": [1, 2]},"messages":[{"role":"user","content":"hi","x_msg":{"k":"v"}},` +
				`{"role":"assistant","content":"yo","x_msg":1},` +
				`{"role":"user","content":"more","reasoning_content":"kept: not assistant"}],` +
				`"stream":true,"stream_options":{"chunk":5, "include_usage":false},"max_completion_tokens":100}`},
		{"both reasoning fields stripped", `{"model":"a","messages":[{"reasoning":"r","role":"assistant","reasoning_content":"q","content":"c"}]}`,
			Edits{StripReasoning: true}, `{"model":"a","messages":[{"role":"assistant","content":"c"}]}`},
		{"max_completion_tokens set", history, Edits{MaxTokens: 50},
			`{"model":"deepseek-reasoner","x_top":{"a": [1, 2]},"messages":[{"role":"user","content":"hi","x_msg":{"k":"v"}},` +
				`{"role":"assistant","content":"yo","reasoning_content":"think\n","x_msg":1},` +
				`{"role":"user","content":"more","reasoning_content":"kept: not assistant"}],` +
				`"stream":true,"stream_options":{"chunk":5, "include_usage":false},"max_completion_tokens":50}`},
		{"max_tokens added", `{"model":"a","messages":[{"role":"user"}]}`, Edits{MaxTokens: 8},
			`{"model":"a","messages":[{"role":"user"}],"max_tokens":8}`},
		{"null max_tokens set in place", `{"max_tokens":null,"model":"a","messages":[{"role":"user"}]}`, Edits{MaxTokens: 8},
			`{"max_tokens":8,"model":"a","messages":[{"role":"user"}]}`},
		{"both limits set", `{"model":"a","max_tokens":9,"max_completion_tokens":9,"messages":[{"role":"user"}]}`, Edits{MaxTokens: 8},
			`{"model":"a","max_tokens":8,"max_completion_tokens":8,"messages":[{"role":"user"}]}`},
		{"content replaced", `{"model":"a","messages":[{"role":"user","content":"my ssn is 078-05-1120","x":1},{"role":"user","content":[{"type":"text","text":"k"}]},{"role":"assistant"}]}`,
			Edits{SetContent: map[int]string{0: "my ssn is [SSN]", 1: "masked", 2: "added"}},
			`{"model":"a","messages":[{"role":"user","content":"my ssn is [SSN]","x":1},{"role":"user","content":"masked"},{"role":"assistant","content":"added"}]}`},
		{"system note appended to the system message", `{"model":"a","messages":[{"role":"user","content":"u"},{"role":"system","content":"Be brief."},{"role":"system","content":"2"}]}`,
			Edits{SystemNote: "marker"},
			`{"model":"a","messages":[{"role":"user","content":"u"},{"role":"system","content":"Be brief.\n\nmarker"},{"role":"system","content":"2"}]}`},
		{"system note after masking", `{"model":"a","messages":[{"role":"developer","content":"key 123"}]}`,
			Edits{SystemNote: "marker", SetContent: map[int]string{0: "key [X]"}},
			`{"model":"a","messages":[{"role":"developer","content":"key [X]\n\nmarker"}]}`},
		{"system note as a new message", `{"model":"a","messages":[{"role":"user","content":"u"}]}`, Edits{SystemNote: "m\"k"},
			`{"model":"a","messages":[{"role":"system","content":"m\"k"},{"role":"user","content":"u"}]}`},
		{"system note before an array system prompt", `{"model":"a","messages":[{"role":"system","content":[{"type":"text","text":"s"}]}]}`,
			Edits{SystemNote: "m"},
			`{"model":"a","messages":[{"role":"system","content":"m"},{"role":"system","content":[{"type":"text","text":"s"}]}]}`},
		{"same content is no edit", `{"model":"a", "messages":[{"role":"user","content":"x"}]}`, Edits{SetContent: map[int]string{0: "x"}},
			`{"model":"a", "messages":[{"role":"user","content":"x"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			r := mustDecode(t, tc.body)
			prefix := []byte("prefix:")
			got, err := r.AppendUpstreamBody(prefix, tc.edits)
			if err != nil {
				t.Fatalf("AppendUpstreamBody: %v", err)
			}
			if !bytes.HasPrefix(got, []byte("prefix:")) {
				t.Fatalf("dst not kept: %q", got)
			}
			got = got[len("prefix:"):]
			if string(got) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			if _, err := Decode(Chat, got, Limits{}); err != nil {
				t.Errorf("re-encoded body does not decode: %v", err)
			}
		})
	}
}

func TestAppendUpstreamBodyNoEditsIsIdentical(t *testing.T) {
	t.Parallel()
	body := chatBody(t)
	r := mustDecode(t, string(body))
	got, err := r.AppendUpstreamBody(nil, Edits{Model: r.Model})
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("no-op edits changed the body (err %v)", err)
	}
}

func TestAppendUpstreamBodyBadIndex(t *testing.T) {
	t.Parallel()
	r := mustDecode(t, `{"model":"a","messages":[{"role":"user"}]}`)
	if _, err := r.AppendUpstreamBody(nil, Edits{SetContent: map[int]string{1: "x"}}); err == nil {
		t.Fatal("SetContent for a missing message was accepted")
	}
}

func TestAppendUpstreamBodySetTexts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		ep    Endpoint
		body  string
		edits Edits
		want  string
	}{
		{"string prompt stays a string", Completions, `{"model":"a", "prompt":"mail j@x.io","n":1}`,
			Edits{SetPrompt: []string{"mail [EMAIL]"}}, `{"model":"a","prompt":"mail [EMAIL]","n":1}`},
		{"prompt array", Completions, `{"model":"a","prompt":["a","b <c>"]}`,
			Edits{SetPrompt: []string{"a", "b \"<EMAIL_1>\""}}, `{"model":"a","prompt":["a","b \"<EMAIL_1>\""]}`},
		{"same prompt is no edit", Completions, `{"model":"a", "prompt":["x"]}`,
			Edits{SetPrompt: []string{"x"}}, `{"model":"a", "prompt":["x"]}`},
		{"string input", Embeddings, `{"input":"card 4111111111111111","model":"e"}`,
			Edits{SetInput: []string{"card ************1111"}}, `{"input":"card ************1111","model":"e"}`},
		{"one-element input array stays an array", Embeddings, `{"input":["x"],"model":"e"}`,
			Edits{SetInput: []string{"y"}}, `{"input":["y"],"model":"e"}`},
	}
	for _, tc := range tests {
		r, err := Decode(tc.ep, []byte(tc.body), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		got, err := r.AppendUpstreamBody(nil, tc.edits)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", tc.desc, got, err, tc.want)
		}
	}
	r, _ := Decode(Completions, []byte(`{"model":"a","prompt":["x","y"]}`), Limits{})
	if _, err := r.AppendUpstreamBody(nil, Edits{SetPrompt: []string{"x"}}); err == nil {
		t.Error("a prompt edit with the wrong number of strings was accepted")
	}
}

func TestReleaseKeepsScalarsAndRefusesBodies(t *testing.T) {
	t.Parallel()
	r := mustDecode(t, `{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":7,"tools":[{"type":"function"}],"messages":[{"role":"user","content":"secret text"}]}`)
	r.Release()
	if r.Model != "m" || !r.Stream || !r.IncludeUsage || r.MaxTokens != 7 || !r.HasTools || r.Endpoint != Chat {
		t.Fatalf("Release lost a scalar field: %+v", r)
	}
	if r.Body != nil || r.Messages != nil || r.Prompt != nil || r.Input != nil {
		t.Fatal("Release kept the body or the decoded texts")
	}
	if _, err := r.AppendUpstreamBody(nil, Edits{}); !errors.Is(err, errReleased) {
		t.Fatalf("a released request built a body: err %v", err)
	}
}
