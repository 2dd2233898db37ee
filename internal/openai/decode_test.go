package openai

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/rampart-gw/rampart/internal/apierr"
)

func TestDecodeRejects(t *testing.T) {
	t.Parallel()
	deep := `{"model":"m","messages":[{"role":"user","content":"x"}],"x":` +
		strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`
	tests := []struct {
		desc  string
		ep    Endpoint
		body  string
		code  string
		param string
	}{
		{"empty body", Chat, ``, CodeInvalidJSON, ""},
		{"malformed", Chat, `{"model":"m",}`, CodeInvalidJSON, "model"},
		{"unterminated string", Chat, `{"model":"m`, CodeInvalidJSON, "model"},
		{"bare word", Chat, `{"x":mm}`, CodeInvalidJSON, "x"},
		{"trailing garbage", Chat, `{"model":"m","messages":[{"role":"user"}]} x`, CodeInvalidJSON, ""},
		{"two objects", Chat, `{"model":"m","messages":[{"role":"user"}]}{}`, CodeInvalidJSON, ""},
		{"array body", Chat, `[{"model":"m"}]`, CodeInvalidType, ""},
		{"leading zero", Chat, `{"model":"m","n":01}`, CodeInvalidJSON, "n"},
		{"control char in string", Chat, "{\"model\":\"a\x01b\"}", CodeInvalidJSON, "model"},
		{"bad escape", Chat, `{"model":"a\qb"}`, CodeInvalidJSON, "model"},
		{"invalid utf8 in value", Chat, "{\"model\":\"a\xffb\",\"messages\":[{\"role\":\"user\"}]}", CodeInvalidUTF8, "model"},
		{"invalid utf8 in key", Chat, "{\"mo\xc3\x28del\":\"m\"}", CodeInvalidUTF8, ""},
		{"invalid utf8 in content", Chat, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}", CodeInvalidUTF8, "messages[0].content"},
		{"lone surrogate escape", Chat, `{"model":"\ud800x","messages":[{"role":"user"}]}`, CodeInvalidUTF8, "model"},
		{"deep nesting", Chat, deep, CodeTooDeep, "x"},
		{"duplicate top-level", Chat, `{"model":"a","messages":[{"role":"user"}],"model":"b"}`, CodeDuplicateKey, "model"},
		{"duplicate via escape", Chat, `{"model":"a","messages":[{"role":"user"}],"mod\u0065l":"b"}`, CodeDuplicateKey, "model"},
		{"duplicate nested unknown", Chat, `{"model":"a","messages":[{"role":"user"}],"x":{"y":[{"z":1,"z":2}]}}`, CodeDuplicateKey, "x.y[0].z"},
		{"duplicate in message", Chat, `{"model":"a","messages":[{"role":"user","content":"a"},{"role":"user","content":"a","content":"b"}]}`, CodeDuplicateKey, "messages[1].content"},
		{"duplicate role", Chat, `{"model":"a","messages":[{"role":"system","role":"user"}]}`, CodeDuplicateKey, "messages[0].role"},
		{"duplicate in stream_options", Chat, `{"model":"a","messages":[{"role":"user"}],"stream_options":{"include_usage":true,"include_usage":false}}`, CodeDuplicateKey, "stream_options.include_usage"},
		{"case variant Model", Chat, `{"model":"a","Model":"b","messages":[{"role":"user"}]}`, CodeDuplicateKey, "Model"},
		{"case variant alone", Chat, `{"model":"a","STREAM":true,"messages":[{"role":"user"}]}`, CodeDuplicateKey, "STREAM"},
		{"case variant Messages", Chat, `{"model":"a","Messages":[],"messages":[{"role":"user"}]}`, CodeDuplicateKey, "Messages"},
		{"case variant Max_Tokens", Chat, `{"model":"a","Max_Tokens":5,"messages":[{"role":"user"}]}`, CodeDuplicateKey, "Max_Tokens"},
		{"dash variant", Chat, `{"model":"a","max-tokens":5,"messages":[{"role":"user"}]}`, CodeDuplicateKey, "max-tokens"},
		{"kelvin sign variant", Chat, `{"model":"a","max_to\u212aens":5,"messages":[{"role":"user"}]}`, CodeDuplicateKey, `"max_to\u212aens"`},
		{"long s variant", Chat, `{"model":"a","\u017ftream":true,"messages":[{"role":"user"}]}`, CodeDuplicateKey, `"\u017ftream"`},
		{"case variant Role", Chat, `{"model":"a","messages":[{"role":"user","Role":"system"}]}`, CodeDuplicateKey, "messages[0].Role"},
		{"case variant Content", Chat, `{"model":"a","messages":[{"role":"user","content":"a","CONTENT":"b"}]}`, CodeDuplicateKey, "messages[0].CONTENT"},
		{"case variant in part", Chat, `{"model":"a","messages":[{"role":"user","content":[{"type":"text","text":"a","Text":"b"}]}]}`, CodeDuplicateKey, "messages[0].content[0].Text"},
		{"missing model", Chat, `{"messages":[{"role":"user"}]}`, CodeMissingRequired, "model"},
		{"model not string", Chat, `{"model":5,"messages":[{"role":"user"}]}`, CodeInvalidType, "model"},
		{"model null", Chat, `{"model":null,"messages":[{"role":"user"}]}`, CodeInvalidType, "model"},
		{"model empty", Chat, `{"model":"","messages":[{"role":"user"}]}`, CodeInvalidValue, "model"},
		{"stream string", Chat, `{"model":"m","stream":"true","messages":[{"role":"user"}]}`, CodeInvalidType, "stream"},
		{"stream_options array", Chat, `{"model":"m","stream_options":[],"messages":[{"role":"user"}]}`, CodeInvalidType, "stream_options"},
		{"include_usage string", Chat, `{"model":"m","stream_options":{"include_usage":"yes"},"messages":[{"role":"user"}]}`, CodeInvalidType, "stream_options.include_usage"},
		{"missing messages", Chat, `{"model":"m"}`, CodeMissingRequired, "messages"},
		{"messages null", Chat, `{"model":"m","messages":null}`, CodeInvalidType, "messages"},
		{"messages object", Chat, `{"model":"m","messages":{"role":"user"}}`, CodeInvalidType, "messages"},
		{"empty messages", Chat, `{"model":"m","messages":[]}`, CodeInvalidValue, "messages"},
		{"message not object", Chat, `{"model":"m","messages":["hi"]}`, CodeInvalidType, "messages[0]"},
		{"missing role", Chat, `{"model":"m","messages":[{"role":"user"},{"content":"x"}]}`, CodeMissingRequired, "messages[1].role"},
		{"unknown role", Chat, `{"model":"m","messages":[{"role":"user"},{"role":"user"},{"role":"admin"}]}`, CodeInvalidValue, "messages[2].role"},
		{"role case", Chat, `{"model":"m","messages":[{"role":"User"}]}`, CodeInvalidValue, "messages[0].role"},
		{"role number", Chat, `{"model":"m","messages":[{"role":1}]}`, CodeInvalidType, "messages[0].role"},
		{"content number", Chat, `{"model":"m","messages":[{"role":"user","content":1}]}`, CodeInvalidType, "messages[0].content"},
		{"content object", Chat, `{"model":"m","messages":[{"role":"user","content":{"type":"text"}}]}`, CodeInvalidType, "messages[0].content"},
		{"content part string", Chat, `{"model":"m","messages":[{"role":"user","content":["hi"]}]}`, CodeInvalidType, "messages[0].content[0]"},
		{"content part without type", Chat, `{"model":"m","messages":[{"role":"user","content":[{"text":"hi"}]}]}`, CodeMissingRequired, "messages[0].content[0].type"},
		{"content part type number", Chat, `{"model":"m","messages":[{"role":"user","content":[{"type":1}]}]}`, CodeInvalidType, "messages[0].content[0].type"},
		{"text part without text", Chat, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":5}]}]}`, CodeInvalidType, "messages[0].content[0].text"},
		{"reasoning number", Chat, `{"model":"m","messages":[{"role":"assistant","reasoning_content":5}]}`, CodeInvalidType, "messages[0].reasoning_content"},
		{"tool_calls object", Chat, `{"model":"m","messages":[{"role":"assistant","tool_calls":{}}]}`, CodeInvalidType, "messages[0].tool_calls"},
		{"arguments object", Chat, `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"function":{"arguments":{}}}]}]}`, CodeInvalidType, "messages[0].tool_calls[0].function.arguments"},
		{"max_tokens 0", Chat, `{"model":"m","max_tokens":0,"messages":[{"role":"user"}]}`, CodeInvalidValue, "max_tokens"},
		{"max_tokens -1", Chat, `{"model":"m","max_tokens":-1,"messages":[{"role":"user"}]}`, CodeInvalidValue, "max_tokens"},
		{"max_tokens 1.5", Chat, `{"model":"m","max_tokens":1.5,"messages":[{"role":"user"}]}`, CodeInvalidType, "max_tokens"},
		{"max_tokens 10.0", Chat, `{"model":"m","max_tokens":10.0,"messages":[{"role":"user"}]}`, CodeInvalidType, "max_tokens"},
		{"max_tokens 1e3", Chat, `{"model":"m","max_tokens":1e3,"messages":[{"role":"user"}]}`, CodeInvalidType, "max_tokens"},
		{"max_tokens string", Chat, `{"model":"m","max_tokens":"10","messages":[{"role":"user"}]}`, CodeInvalidType, "max_tokens"},
		{"max_tokens huge", Chat, `{"model":"m","max_tokens":99999999999999999999,"messages":[{"role":"user"}]}`, CodeInvalidValue, "max_tokens"},
		{"max_completion_tokens 0", Chat, `{"model":"m","max_completion_tokens":0,"messages":[{"role":"user"}]}`, CodeInvalidValue, "max_completion_tokens"},
		{"both max fields differ", Chat, `{"model":"m","max_tokens":10,"max_completion_tokens":20,"messages":[{"role":"user"}]}`, CodeInvalidValue, "max_completion_tokens"},
		{"tools object", Chat, `{"model":"m","tools":{},"messages":[{"role":"user"}]}`, CodeInvalidType, "tools"},
		{"tool not object", Chat, `{"model":"m","tools":[1],"messages":[{"role":"user"}]}`, CodeInvalidType, "tools[0]"},
		{"missing prompt", Completions, `{"model":"m"}`, CodeMissingRequired, "prompt"},
		{"prompt number", Completions, `{"model":"m","prompt":5}`, CodeInvalidType, "prompt"},
		{"prompt empty array", Completions, `{"model":"m","prompt":[]}`, CodeInvalidValue, "prompt"},
		{"prompt mixed", Completions, `{"model":"m","prompt":["a",1]}`, CodeInvalidType, "prompt[1]"},
		{"prompt negative token", Completions, `{"model":"m","prompt":[1,-2]}`, CodeInvalidValue, "prompt[1]"},
		{"prompt case variant", Completions, `{"model":"m","prompt":"a","Prompt":"b"}`, CodeDuplicateKey, "Prompt"},
		{"missing input", Embeddings, `{"model":"m"}`, CodeMissingRequired, "input"},
		{"input object", Embeddings, `{"model":"m","input":{}}`, CodeInvalidType, "input"},
		{"input token float", Embeddings, `{"model":"m","input":[[1,2.5]]}`, CodeInvalidValue, "input[0][1]"},
		{"embeddings messages checked", Embeddings, `{"model":"m","input":"a","messages":[{"role":"x"}]}`, CodeInvalidValue, "messages[0].role"},
		{"lone surrogate in arguments", Chat, `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"function":{"arguments":"\udc00"}}]}]}`, CodeInvalidUTF8, "messages[0].tool_calls[0].function.arguments"},
		{"invalid utf8 in text part", Chat, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\xffb\"}]}]}", CodeInvalidUTF8, "messages[0].content[0].text"},
		{"bad escape in name", Chat, `{"model":"m","messages":[{"role":"user","name":"\x"}]}`, CodeInvalidJSON, "messages[0].name"},
		{"control char in prompt", Completions, "{\"model\":\"m\",\"prompt\":[\"a\x02\"]}", CodeInvalidJSON, "prompt[0]"},
		{"invalid utf8 in input", Embeddings, "{\"model\":\"m\",\"input\":\"\xc3\"}", CodeInvalidUTF8, "input"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			r, err := Decode(tc.ep, []byte(tc.body), Limits{})
			if err == nil {
				t.Fatalf("Decode accepted %q: %+v", tc.body, r)
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *apierr.Error", err)
			}
			if ae.Status != http.StatusBadRequest || ae.Type != apierr.TypeInvalidRequest {
				t.Errorf("status %d type %s, want 400 invalid_request_error", ae.Status, ae.Type)
			}
			if ae.Code != tc.code || ae.Param != tc.param {
				t.Errorf("code %q param %q, want %q %q (message %q)", ae.Code, ae.Param, tc.code, tc.param, ae.Message)
			}
			if len(ae.Message) > 200 {
				t.Errorf("message too long (%d bytes): %q", len(ae.Message), ae.Message)
			}
			// Not keeping the texts checks them all the same.
			skipped, serr := Decode(tc.ep, []byte(tc.body), Limits{SkipTexts: true})
			sameAsSkipped(t, []byte(tc.body), r, err, skipped, serr)
		})
	}
}

func TestDecodeErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		body string
		want string
	}{
		{"role", `{"model":"m","messages":[{"role":"user"},{"role":"user"},{"role":"admin"}]}`,
			"'messages[2].role' must be one of system, user, assistant, tool, developer, function"},
		{"variant", `{"model":"m","Model":"x","messages":[{"role":"user"}]}`,
			"'Model' is a variant of the field name 'model'"},
		{"duplicate", `{"model":"m","model":"x"}`, "'model' appears more than once"},
		{"long key is cut", `{"model":"m","` + strings.Repeat("k", 300) + `":1,"` + strings.Repeat("k", 300) + `":2}`,
			`'"kkkkkkkkkkkkkkkkkkkkkkkk"...' appears more than once`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			_, err := Decode(Chat, []byte(tc.body), Limits{})
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *apierr.Error", err)
			}
			if !strings.Contains(ae.Message, tc.want) {
				t.Errorf("message %q does not contain %q", ae.Message, tc.want)
			}
		})
	}
}

func TestDecodeMaxDepthLimit(t *testing.T) {
	t.Parallel()
	body := `{"model":"m","messages":[{"role":"user","content":"x"}],"x":[[[1]]]}`
	if _, err := Decode(Chat, []byte(body), Limits{MaxDepth: 4}); err != nil {
		t.Fatalf("depth 4 rejected with MaxDepth 4: %v", err)
	}
	_, err := Decode(Chat, []byte(body), Limits{MaxDepth: 3})
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != CodeTooDeep {
		t.Fatalf("depth 4 with MaxDepth 3: got %v, want too_deeply_nested", err)
	}
}

func TestDecodeAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		ep   Endpoint
		body string
		want Request
	}{
		{"minimal chat", Chat, `{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]}`,
			Request{Model: "deepseek-chat", Messages: []Message{{Role: "user", Content: "hi"}}}},
		{"whitespace and flags", Chat, " \n{ \"model\" : \"m\" , \"stream\" : true, \"stream_options\": {\"include_usage\": true, \"x\": 1},\n\"max_completion_tokens\": 64, \"tools\": [{\"type\":\"function\"}],\n\"messages\" : [ {\"role\":\"developer\",\"content\":null} ] }\n",
			Request{Model: "m", Stream: true, IncludeUsage: true, MaxTokens: 64, HasTools: true, Messages: []Message{{Role: "developer"}}}},
		{"nulls are absent", Chat, `{"model":"m","stream":null,"stream_options":null,"max_tokens":null,"tools":null,"messages":[{"role":"user","content":null,"name":null}]}`,
			Request{Model: "m", Messages: []Message{{Role: "user"}}}},
		{"both max fields equal", Chat, `{"model":"m","max_tokens":7,"max_completion_tokens":7,"messages":[{"role":"user"}]}`,
			Request{Model: "m", MaxTokens: 7, Messages: []Message{{Role: "user"}}}},
		{"empty tools", Chat, `{"model":"m","tools":[],"messages":[{"role":"user"}]}`,
			Request{Model: "m", Messages: []Message{{Role: "user"}}}},
		{"content parts", Chat, `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"look at "},{"type":"image_url","image_url":{"url":"data:x"}},{"text":"this","type":"text"}]}]}`,
			Request{Model: "m", Messages: []Message{{Role: "user", Content: "look at this"}}}},
		{"null content with tool calls", Chat, `{"model":"m","messages":[{"role":"user","content":"w?"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get","arguments":"{\"city\":\"Oslo\"}"}},{"id":"c2","type":"function","function":{"name":"get","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"5C"}]}`,
			Request{Model: "m", Messages: []Message{{Role: "user", Content: "w?"}, {Role: "assistant", ToolCallArgs: []string{`{"city":"Oslo"}`, "{}"}}, {Role: "tool", Content: "5C"}}}},
		{"unicode and escapes", Chat, `{"model":"m\u00e9","messages":[{"role":"us\u0065r","name":"J\u00f6rg","content":"\u003cscript\u003e \"q\" \\ \/ \b\f\n\r\t 日本語 \ud83d\ude00 😀"}]}`,
			Request{Model: "mé", Messages: []Message{{Role: "user", Name: "Jörg", Content: "<script> \"q\" \\ / \b\f\n\r\t 日本語 😀 😀"}}}},
		{"reasoning in history", Chat, `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","reasoning_content":"r"},{"role":"assistant","content":"c","reasoning":null},{"role":"user","content":"d","reasoning_content":"x"}]}`,
			Request{Model: "m", Messages: []Message{{Role: "user", Content: "a"}, {Role: "assistant", Content: "b", HasReasoning: true}, {Role: "assistant", Content: "c", HasReasoning: true}, {Role: "user", Content: "d"}}}},
		{"lower-case unknown keys", Chat, `{"model":"m","messages":[{"role":"user","content":"a","x_model":1}],"temperature":0.5,"top_p":1e-3,"modelx":"y","user":"u","extra":{"Model":1}}`,
			Request{Model: "m", Messages: []Message{{Role: "user", Content: "a"}}}},
		{"completions string", Completions, `{"model":"m","prompt":"say hi","max_tokens":16}`,
			Request{Model: "m", MaxTokens: 16, Prompt: []string{"say hi"}}},
		{"completions strings", Completions, `{"model":"m","prompt":["a","b\n"]}`,
			Request{Model: "m", Prompt: []string{"a", "b\n"}}},
		{"completions tokens", Completions, `{"model":"m","prompt":[1,2,3]}`, Request{Model: "m"}},
		{"completions token arrays", Completions, `{"model":"m","prompt":[[1,2],[3]]}`, Request{Model: "m"}},
		{"embeddings string", Embeddings, `{"model":"e","input":"text","encoding_format":"float"}`,
			Request{Model: "e", Input: []string{"text"}}},
		{"embeddings strings", Embeddings, `{"model":"e","input":["a","b"]}`,
			Request{Model: "e", Input: []string{"a", "b"}}},
		{"many members", Chat, manyMembers(100), Request{Model: "m", Messages: []Message{{Role: "user"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			r, err := Decode(tc.ep, []byte(tc.body), Limits{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			tc.want.Endpoint = tc.ep
			assertRequest(t, r, &tc.want)
			skipped, serr := Decode(tc.ep, []byte(tc.body), Limits{SkipTexts: true})
			sameAsSkipped(t, []byte(tc.body), r, err, skipped, serr)
		})
	}
}

// manyMembers builds a body with n extra members, enough to exercise the
// map-based duplicate check.
func manyMembers(n int) string {
	var sb strings.Builder
	sb.WriteString(`{"model":"m","messages":[{"role":"user"}]`)
	for i := range n {
		sb.WriteString(`,"k`)
		sb.WriteString(strings.Repeat("x", i))
		sb.WriteString(`":1`)
	}
	sb.WriteString("}")
	return sb.String()
}

func TestDecodeManyMembersDuplicate(t *testing.T) {
	t.Parallel()
	body := strings.TrimSuffix(manyMembers(100), "}") + `,"kxxxxx":2}`
	_, err := Decode(Chat, []byte(body), Limits{})
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != CodeDuplicateKey || ae.Param != "kxxxxx" {
		t.Fatalf("got %v, want duplicate_key on kxxxxx", err)
	}
}

// assertRequest compares the exported, decided fields.
func assertRequest(t *testing.T, got, want *Request) {
	t.Helper()
	type view struct {
		Endpoint             Endpoint
		Model                string
		Stream, IncludeUsage bool
		MaxTokens            int
		HasTools             bool
		Messages             []Message
		Prompt, Input        []string
	}
	strip := func(r *Request) view {
		v := view{r.Endpoint, r.Model, r.Stream, r.IncludeUsage, r.MaxTokens, r.HasTools, nil, r.Prompt, r.Input}
		for _, m := range r.Messages {
			v.Messages = append(v.Messages, Message{Role: m.Role, Content: m.Content, HasReasoning: m.HasReasoning, ToolCallArgs: m.ToolCallArgs, Name: m.Name})
		}
		return v
	}
	if g, w := strip(got), strip(want); !reflect.DeepEqual(g, w) {
		t.Errorf("decoded\n%+v\nwant\n%+v", g, w)
	}
}
