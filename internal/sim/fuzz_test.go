package sim

import (
	"encoding/json"
	"net/http"
	"testing"
)

// FuzzDecodeChat checks that any request the decoder accepts yields a
// valid JSON response in every flavour, and that nothing panics.
func FuzzDecodeChat(f *testing.F) {
	f.Add([]byte(`{"model":"deepseek-reasoner","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"deepseek-chat","messages":[{"role":"user","content":[{"type":"text","text":"a\u0000b"}]}],"max_tokens":2}`))
	f.Add([]byte(`{"model":"deepseek-reasoner","messages":[{"role":"user","content":"x"}],"x_sim":{"answer":"\"quoted\" <b>","reasoning":"\ud800","events":3,"ttft":"1ms","tps":0.5}}`))
	f.Add([]byte(`{"model":"deepseek-reasoner","messages":null}`))
	f.Add([]byte(`[1,2,3]`))
	servers := make([]*Server, 0, len(flavors))
	for name := range flavors {
		servers = append(servers, New(Options{Flavor: name, Echo: true, MaxRecorded: -1}))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeChat(body)
		if err != nil {
			return
		}
		k := knobs{}
		k.merge(req.XSim)
		if k.Events != nil && *k.Events > 1000 || k.AnswerTokens != nil && *k.AnswerTokens > 1000 || k.ReasoningTokens != nil && *k.ReasoningTokens > 1000 {
			return
		}
		for _, s := range servers {
			c := s.newCompletion(req, *req.Model, true, k)
			var reasoning, content []byte
			c.plan.walk(func(ch int, text string) bool {
				if ch == chanReasoning {
					reasoning = append(reasoning, text...)
				} else {
					content = append(content, text...)
				}
				return true
			})
			out := s.appendChatBody(nil, c, reasoning, content)
			if !json.Valid(out) {
				t.Fatalf("%s: invalid JSON output %q", s.Flavor(), out)
			}
		}
	})
}

// FuzzHeaderKnobs checks that header knob parsing never panics and never
// yields a negative delay.
func FuzzHeaderKnobs(f *testing.F) {
	f.Add("503", "1.5", "250ms", "true", "3")
	f.Add("x", "-1s", "NaN", "maybe", "")
	f.Add("", "1e300", "9999999h", "1", "-4")
	f.Fuzz(func(t *testing.T, status, slow, ttft, hang, drop string) {
		h := http.Header{}
		for name, v := range map[string]string{"X-Sim-Status": status, "X-Sim-Slow-Headers": slow, "X-Sim-Ttft": ttft, "X-Sim-Hang": hang, "X-Sim-Drop-After": drop} {
			h.Set(name, v)
		}
		k, err := headerKnobs(h)
		if err != nil {
			return
		}
		for _, d := range []*duration{k.SlowHeaders, k.TTFT} {
			if d != nil && *d < 0 {
				t.Fatalf("negative duration %v", *d)
			}
		}
	})
}
