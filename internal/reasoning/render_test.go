package reasoning

import (
	"errors"
	"strings"
	"testing"
)

func content(s string) Delta   { return Delta{Content: s, HasContent: true} }
func reasoning(s string) Delta { return Delta{Reasoning: s, HasReasoning: true} }

// transcript is what a client or a guard sees over a whole choice.
type transcript struct {
	content, reasoning string
	reasoningFields    int // deltas that carried a reasoning_content field
}

func (tr *transcript) add(d Delta) {
	tr.content += d.Content
	tr.reasoning += d.Reasoning
	if d.HasReasoning {
		tr.reasoningFields++
	}
}

// render runs deltas through a Renderer and returns the client's and the
// normalised transcripts.
func render(p Policy, m Mode, deltas []Delta) (out, norm transcript) {
	r := NewRenderer(p, m)
	for _, d := range deltas {
		o, n := r.Render(d)
		out.add(o)
		norm.add(n)
	}
	o, n := r.Flush()
	out.add(o)
	norm.add(n)
	return out, norm
}

var (
	deepseekDeltas = []Delta{
		{Content: "", HasContent: true}, reasoning("Let me"), reasoning(" add."),
		content("Four"), content("."),
	}
	ollamaDeltas = []Delta{
		content("<th"), content("ink>\nLet me"), content(" add.\n</"), content("think>\n"), content("\nFour"), content("."),
	}
	distillDeltas = []Delta{
		content("Let me"), content(" add.\n"), content("</think>"), content("\n\nFour."),
	}
)

func TestRenderer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc            string
		policy          Policy
		mode            Mode
		deltas          []Delta
		content, reason string // what the client receives
		normReason      string
		normAnswer      string
	}{
		{"deepseek pass", Pass, ModeNone, deepseekDeltas, "Four.", "Let me add.", "Let me add.", "Four."},
		{"deepseek strip", Strip, ModeNone, deepseekDeltas, "Four.", "", "Let me add.", "Four."},
		{"deepseek separate", Separate, ModeNone, deepseekDeltas, "Four.", "Let me add.", "Let me add.", "Four."},
		{"ollama pass", Pass, ModeTags, ollamaDeltas, "<think>\nLet me add.\n</think>\n\nFour.", "", "\nLet me add.\n", "Four."},
		{"ollama strip", Strip, ModeTags, ollamaDeltas, "Four.", "", "\nLet me add.\n", "Four."},
		{"ollama separate", Separate, ModeTags, ollamaDeltas, "Four.", "\nLet me add.\n", "\nLet me add.\n", "Four."},
		{"distill pass", Pass, ModeImplicitOpen, distillDeltas, "Let me add.\n</think>\n\nFour.", "", "Let me add.\n", "Four."},
		{"distill strip", Strip, ModeImplicitOpen, distillDeltas, "Four.", "", "Let me add.\n", "Four."},
		{"distill separate", Separate, ModeImplicitOpen, distillDeltas, "Four.", "Let me add.\n", "Let me add.\n", "Four."},
		{"unfinished tag at the end is answer", Strip, ModeTags, []Delta{content("<thin")}, "<thin", "", "", "<thin"},
		{"plain answer in tags mode", Separate, ModeTags, []Delta{content("a < b")}, "a < b", "", "", "a < b"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			out, norm := render(tc.policy, tc.mode, tc.deltas)
			if out.content != tc.content || out.reasoning != tc.reason {
				t.Fatalf("client got content %q, reasoning %q; want %q, %q", out.content, out.reasoning, tc.content, tc.reason)
			}
			if norm.content != tc.normAnswer {
				t.Fatalf("normalised answer %q, want %q", norm.content, tc.normAnswer)
			}
			if norm.reasoning != tc.normReason {
				t.Fatalf("normalised reasoning %q, want %q", norm.reasoning, tc.normReason)
			}
			if tc.policy == Strip && out.reasoningFields > 0 {
				t.Fatalf("strip sent %d reasoning_content fields", out.reasoningFields)
			}
		})
	}
}

func TestRendererKeepsFieldPresence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		policy Policy
		mode   Mode
		in     Delta
		want   Delta
	}{
		{"strip empties but keeps content", Strip, ModeTags, content("<think>abc"), Delta{HasContent: true}},
		{"strip drops reasoning_content", Strip, ModeNone, reasoning("abc"), Delta{}},
		{"separate moves inline reasoning", Separate, ModeTags, content("<think>abc"),
			Delta{Reasoning: "abc", HasReasoning: true, HasContent: true}},
		{"pass is unchanged", Pass, ModeTags, content("<think>abc"), content("<think>abc")},
		{"absent content stays absent", Separate, ModeTags, Delta{}, Delta{}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			if out, _ := NewRenderer(tc.policy, tc.mode).Render(tc.in); out != tc.want {
				t.Fatalf("Render = %+v, want %+v", out, tc.want)
			}
		})
	}
}

// TestRendererNormIsPolicyFree checks that guards see the same text under
// every policy, chunk by chunk.
func TestRendererNormIsPolicyFree(t *testing.T) {
	t.Parallel()
	for _, deltas := range [][]Delta{deepseekDeltas, ollamaDeltas, distillDeltas} {
		for _, m := range []Mode{ModeNone, ModeTags, ModeImplicitOpen} {
			var views []string
			for _, p := range []Policy{Pass, Strip, Separate} {
				_, norm := render(p, m, deltas)
				views = append(views, norm.reasoning+"|"+norm.content)
			}
			if views[0] != views[1] || views[1] != views[2] {
				t.Fatalf("mode %d: normalised views differ: %q", m, views)
			}
		}
	}
}

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		in   string
		want Policy
		err  bool
	}{
		{"empty is pass", "", Pass, false},
		{"pass", "pass", Pass, false},
		{"strip", "strip", Strip, false},
		{"separate", "separate", Separate, false},
		{"unknown", "hide", Pass, true},
		{"case matters", "Strip", Pass, true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePolicy(tc.in)
			if got != tc.want || (err != nil) != tc.err {
				t.Fatalf("ParsePolicy(%q) = %v, %v", tc.in, got, err)
			}
			if err != nil && (!errors.Is(err, ErrUnknownPolicy) || !strings.Contains(err.Error(), tc.in)) {
				t.Fatalf("error %v does not wrap ErrUnknownPolicy with the value", err)
			}
			if err == nil && tc.in != "" && got.String() != tc.in {
				t.Fatalf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}
