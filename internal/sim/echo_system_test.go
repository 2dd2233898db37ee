package sim

import (
	"net/http"
	"testing"
)

// TestEchoSystemKnob: echo_system answers, or reasons, with the system
// and developer messages as received; a bad value is a 400.
func TestEchoSystemKnob(t *testing.T) {
	t.Parallel()
	_, ts := startSim(t, Options{Flavor: FlavorDeepSeek})
	const msgs = `"model":"deepseek-reasoner","messages":[{"role":"system","content":"You are Orion. Marker rmp-00ff."},` +
		`{"role":"user","content":"hi"},{"role":"developer","content":[{"type":"text","text":"Be brief."}]}]`
	for _, c := range []struct {
		desc, body, header         string
		wantReasoning, wantContent string
	}{
		{"answer", `{` + msgs + `,"stream":true,"x_sim":{"echo_system":"answer","reasoning":"r"}}`, "", "r", "You are Orion. Marker rmp-00ff.\nBe brief."},
		{"reasoning", `{` + msgs + `,"stream":true,"x_sim":{"echo_system":"reasoning","answer":"a"}}`, "", "You are Orion. Marker rmp-00ff.\nBe brief.", "a"},
		{"header", `{` + msgs + `,"stream":true,"x_sim":{"reasoning":"r"}}`, "answer", "r", "You are Orion. Marker rmp-00ff.\nBe brief."},
	} {
		hdr := map[string]string{}
		if c.header != "" {
			hdr["X-Sim-Echo-System"] = c.header
		}
		raw, _ := readAll(t, post(testCtx(t), t, ts.URL+"/v1/chat/completions", c.body, hdr))
		st := parseStream(t, raw)
		if st.reasoning != c.wantReasoning || st.content != c.wantContent {
			t.Errorf("%s: got %q / %q", c.desc, st.reasoning, st.content)
		}
	}
	resp := post(testCtx(t), t, ts.URL+"/v1/chat/completions", `{`+msgs+`,"x_sim":{"echo_system":"both"}}`, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad echo_system: status %d, want 400", resp.StatusCode)
	}
}
