package openai

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/rampart-gw/rampart/internal/apierr"
)

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"m","stream":true,"stream_options":{"include_usage":false},"max_tokens":5,"messages":[{"role":"assistant","content":null,"reasoning_content":"r","tool_calls":[{"function":{"arguments":"{}"}}]}]}`))
	f.Add([]byte(`{"model":"\u00e9","messages":[{"role":"user","content":[{"type":"text","text":"a\nb"},{"type":"image_url","image_url":{"url":"x"}}]}],"Model":"y"}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user"}],"x":{"a":1,"a":2}}`))
	f.Add(chatBody(f))
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		r, err := Decode(Chat, body, Limits{MaxDepth: 16})
		skipped, serr := Decode(Chat, body, Limits{MaxDepth: 16, SkipTexts: true})
		sameAsSkipped(t, body, r, err, skipped, serr)
		if err != nil {
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Code == "" {
				t.Fatalf("error %v is not a 400 with a code", err)
			}
			return
		}
		if !bytes.Equal(body, orig) {
			t.Fatal("Decode modified the body")
		}
		same, err := r.AppendUpstreamBody(nil, Edits{})
		if err != nil || !bytes.Equal(same, body) {
			t.Fatalf("no edits changed the body (err %v)", err)
		}
		edited, err := r.AppendUpstreamBody(nil, Edits{Model: "x"})
		if err != nil {
			t.Fatalf("edit model: %v", err)
		}
		r2, err := Decode(Chat, edited, Limits{MaxDepth: 16})
		if err != nil {
			t.Fatalf("edited body %q does not decode: %v", edited, err)
		}
		if r2.Model != "x" {
			t.Fatalf("model %q after edit", r2.Model)
		}
		if !reflect.DeepEqual(exported(r.Messages), exported(r2.Messages)) {
			t.Fatalf("messages changed by a model edit:\n%+v\n%+v", r.Messages, r2.Messages)
		}
		stripped, err := r.AppendUpstreamBody(nil, Edits{StripReasoning: true, ForceIncludeUsage: true, MaxTokens: 3})
		if err != nil {
			t.Fatalf("edit: %v", err)
		}
		r3, err := Decode(Chat, stripped, Limits{MaxDepth: 16})
		if err != nil {
			t.Fatalf("edited body %q does not decode: %v", stripped, err)
		}
		for i, m := range r3.Messages {
			if m.HasReasoning || m.Content != r.Messages[i].Content {
				t.Fatalf("message %d after strip: %+v", i, m)
			}
		}
		if r3.MaxTokens != 3 || r3.Stream && !r3.IncludeUsage {
			t.Fatalf("edits not applied: %+v", r3)
		}
	})
}

// sameAsSkipped checks that decoding without keeping texts accepts and
// rejects exactly what a full decode does, with the same error, and gives
// the same request apart from the texts.
func sameAsSkipped(t *testing.T, body []byte, r *Request, err error, s *Request, serr error) {
	t.Helper()
	if (err == nil) != (serr == nil) || err != nil && err.Error() != serr.Error() {
		t.Fatalf("body %q: error %v, with SkipTexts %v", body, err, serr)
	}
	if err != nil {
		return
	}
	if s.Prompt != nil || s.Input != nil {
		t.Fatalf("SkipTexts kept prompt %q, input %q", s.Prompt, s.Input)
	}
	if len(s.Messages) != len(r.Messages) {
		t.Fatalf("SkipTexts: %d messages, want %d", len(s.Messages), len(r.Messages))
	}
	for i, m := range s.Messages {
		if m.Content != "" || m.Name != "" || m.ToolCallArgs != nil {
			t.Fatalf("SkipTexts kept the texts of message %d: %+v", i, m)
		}
		w := r.Messages[i]
		if m.Role != w.Role || m.HasReasoning != w.HasReasoning || m.start != w.start || m.end != w.end {
			t.Fatalf("message %d with SkipTexts %+v, want %+v", i, m, w)
		}
	}
	if s.Model != r.Model || s.Stream != r.Stream || s.IncludeUsage != r.IncludeUsage || s.MaxTokens != r.MaxTokens ||
		s.HasTools != r.HasTools || !reflect.DeepEqual(s.members, r.members) {
		t.Fatalf("SkipTexts changed the request:\n%+v\n%+v", s, r)
	}
	for _, e := range []Edits{{}, {StripReasoning: true, ForceIncludeUsage: true, MaxTokens: 3, Model: "x"}} {
		want, werr := r.AppendUpstreamBody(nil, e)
		got, gerr := s.AppendUpstreamBody(nil, e)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("edits %+v: upstream body with SkipTexts %q (%v), want %q (%v)", e, got, gerr, want, werr)
		}
	}
}

// exported keeps the exported fields of messages, for comparison.
func exported(ms []Message) []Message {
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = Message{Role: m.Role, Content: m.Content, HasReasoning: m.HasReasoning, ToolCallArgs: m.ToolCallArgs, Name: m.Name}
	}
	return out
}

func FuzzParseChunk(f *testing.F) {
	for _, s := range []string{deepseekReasoning, deepseekContent, deepseekUsage, vllmReasoning, vllmReasoningNew,
		vllmUsageOnly, vllmError, vllmTopError, ollamaChunk, openaiTool, openaiText} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Chunk
		err := ParseChunk(data, &c)
		if err != nil {
			if !errors.Is(err, ErrInvalidResponse) {
				t.Fatalf("error %v does not wrap ErrInvalidResponse", err)
			}
			return
		}
		var set []DeltaEdit
		for _, ch := range c.Choices {
			set = append(set, DeltaEdit{Index: ch.Index, Content: ptr("c"), Reasoning: ptr("r")})
		}
		out, err := AppendChunkWithDeltas(nil, data, set)
		if err != nil {
			t.Fatalf("edit of a parsed chunk failed: %v", err)
		}
		var c2 Chunk
		if err := ParseChunk(out, &c2); err != nil {
			t.Fatalf("edited chunk %q does not parse: %v", out, err)
		}
		if len(c2.Choices) != len(c.Choices) {
			t.Fatalf("choices %d, want %d", len(c2.Choices), len(c.Choices))
		}
	})
}
