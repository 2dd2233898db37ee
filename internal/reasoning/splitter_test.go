package reasoning

import (
	"strings"
	"testing"
)

// refSplit is an obviously correct whole-text splitter the streaming one is
// checked against. It also returns the parts it removed, so that tests can
// check that no byte is lost or duplicated.
func refSplit(text string, m Mode) (reasoning, answer string, parts []string) {
	if m == ModeNone {
		return "", text, []string{text}
	}
	body := text
	trimmed := strings.TrimLeft(text, spaces)
	lead := text[:len(text)-len(trimmed)]
	if len(lead) <= maxLead && strings.HasPrefix(trimmed, openTag) {
		body = trimmed[len(openTag):]
		parts = []string{lead, openTag}
	} else if m == ModeTags {
		return "", text, []string{text}
	}
	i := strings.Index(body, closeTag)
	if i < 0 {
		return body, "", append(parts, body)
	}
	after := body[i+len(closeTag):]
	answer = strings.TrimLeft(after, spaces)
	sep := after[:len(after)-len(answer)]
	return body[:i], answer, append(parts, body[:i], closeTag, sep, answer)
}

// checkAgainstRef fails t unless Split and every given chunking of text
// agree with refSplit, and refSplit's parts add up to text.
func checkAgainstRef(t *testing.T, text string, m Mode, chunkings ...[]string) {
	t.Helper()
	wr, wa, parts := refSplit(text, m)
	if strings.Join(parts, "") != text {
		t.Fatalf("mode %d: parts %q do not add up to %q", m, parts, text)
	}
	if r, a := Split(text, m); r != wr || a != wa {
		t.Fatalf("mode %d: Split(%q) = %q, %q; want %q, %q", m, text, r, a, wr, wa)
	}
	for _, chunks := range chunkings {
		r, a := feedAll(NewSplitter(m), chunks)
		if r != wr || a != wa {
			t.Fatalf("mode %d: chunks %q gave %q, %q; want %q, %q", m, chunks, r, a, wr, wa)
		}
	}
}

// feedAll feeds every chunk and flushes, concatenating the outputs.
func feedAll(s *Splitter, chunks []string) (reasoning, answer string) {
	var rb, ab strings.Builder
	for _, c := range chunks {
		r, a := s.Feed(c)
		rb.WriteString(r)
		ab.WriteString(a)
	}
	r, a := s.Flush()
	rb.WriteString(r)
	ab.WriteString(a)
	return rb.String(), ab.String()
}

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc              string
		text              string
		mode              Mode
		reasoning, answer string
	}{
		{"none mode leaves tags alone", "<think>x</think>y", ModeNone, "", "<think>x</think>y"},
		{"tags block and answer", "<think>\nhmm\n</think>\n\nFour.", ModeTags, "\nhmm\n", "Four."},
		{"tags after leading whitespace", " \n<think>a</think>b", ModeTags, "a", "b"},
		{"tags with text before the tag", "Hi <think>a</think>b", ModeTags, "", "Hi <think>a</think>b"},
		{"tags absent", "just an answer", ModeTags, "", "just an answer"},
		{"less-than that is no tag", "a < b", ModeTags, "", "a < b"},
		{"unfinished opening tag at the end", "<think", ModeTags, "", "<think"},
		{"partial opening tag then text", "<thin k>", ModeTags, "", "<thin k>"},
		{"whitespace only", " \n ", ModeTags, "", " \n "},
		{"unclosed block is reasoning", "<think>still thinking", ModeTags, "still thinking", ""},
		{"partial closing tag at the end is reasoning", "<think>x</thi", ModeTags, "x</thi", ""},
		{"later tags in the answer are text", "<think>a</think>b<think>c</think>", ModeTags, "a", "b<think>c</think>"},
		{"less-than inside reasoning", "<think>a<b </ c <</think>d", ModeTags, "a<b </ c <", "d"},
		{"only whitespace after closing tag", "<think>a</think>\n\n", ModeTags, "a", ""},
		{"too much leading whitespace means no tag", strings.Repeat(" ", maxLead+1) + "<think>a</think>b", ModeTags, "",
			strings.Repeat(" ", maxLead+1) + "<think>a</think>b"},
		{"leading whitespace up to the limit", strings.Repeat(" ", maxLead) + "<think>a</think>b", ModeTags, "a", "b"},
		{"implicit without opening tag", "Okay, so 2+2.\n</think>\n\nFour.", ModeImplicitOpen, "Okay, so 2+2.\n", "Four."},
		{"implicit with opening tag", "<think>x</think>y", ModeImplicitOpen, "x", "y"},
		{"implicit never closed is reasoning", "no tags at all", ModeImplicitOpen, "no tags at all", ""},
		{"implicit closing tag right away", "</think>answer", ModeImplicitOpen, "", "answer"},
		{"implicit keeps leading whitespace", "\n\nhmm</think>a", ModeImplicitOpen, "\n\nhmm", "a"},
		{"implicit partial opening tag", "<thi</think>a", ModeImplicitOpen, "<thi", "a"},
		{"empty", "", ModeImplicitOpen, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			if r, a := Split(tc.text, tc.mode); r != tc.reasoning || a != tc.answer {
				t.Fatalf("Split = %q, %q; want %q, %q", r, a, tc.reasoning, tc.answer)
			}
			checkAgainstRef(t, tc.text, tc.mode, everyCut(tc.text)...)
		})
	}
}

// everyCut returns the text cut at every pair of byte offsets, and byte by
// byte.
func everyCut(text string) [][]string {
	var out [][]string
	for i := 0; i <= len(text); i++ {
		for j := i; j <= len(text); j++ {
			out = append(out, []string{text[:i], text[i:j], text[j:]})
		}
	}
	bytewise := make([]string, len(text))
	for i := 0; i < len(text); i++ {
		bytewise[i] = text[i : i+1]
	}
	return append(out, bytewise)
}

func TestSplitterHeldBytesAreReleased(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc      string
		mode      Mode
		chunks    []string
		reasoning []string // expected reasoning per Feed
		answer    []string // expected answer per Feed
	}{
		{"opening tag split across fragments", ModeTags, []string{"<thi", "nk>abc"}, []string{"", "abc"}, []string{"", ""}},
		{"closing tag split across fragments", ModeTags, []string{"<think>ab</th", "ink>\n\nc"}, []string{"ab", ""}, []string{"", "c"}},
		{"held less-than turns out to be text", ModeTags, []string{"<think>a<", "b"}, []string{"a", "<b"}, []string{"", ""}},
		{"held partial opening tag turns out to be text", ModeTags, []string{"<thi", "s"}, []string{"", ""}, []string{"", "<this"}},
		{"separator split across fragments", ModeTags, []string{"<think>a</think>\n", "\n", "b"}, []string{"a", "", ""}, []string{"", "", "b"}},
		{"answer passes through at once", ModeTags, []string{"<think>a</think>", "b<", "c"}, []string{"a", "", ""}, []string{"", "b<", "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			s := NewSplitter(tc.mode)
			for i, c := range tc.chunks {
				if r, a := s.Feed(c); r != tc.reasoning[i] || a != tc.answer[i] {
					t.Fatalf("Feed(%q) = %q, %q; want %q, %q", c, r, a, tc.reasoning[i], tc.answer[i])
				}
			}
			if r, a := s.Flush(); r != "" || a != "" {
				t.Fatalf("Flush = %q, %q; want nothing left", r, a)
			}
		})
	}
}

func TestSplitterReset(t *testing.T) {
	t.Parallel()
	s := NewSplitter(ModeTags)
	s.Feed("<think>abc</th")
	s.Reset(ModeImplicitOpen)
	if r, a := feedAll(s, []string{"x</think>y"}); r != "x" || a != "y" {
		t.Fatalf("after Reset got %q, %q; want %q, %q", r, a, "x", "y")
	}
	var zero Splitter
	if r, a := feedAll(&zero, []string{"<think>a</think>b"}); r != "" || a != "<think>a</think>b" {
		t.Fatalf("zero Splitter got %q, %q; want the text as answer", r, a)
	}
}
