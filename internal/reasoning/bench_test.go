package reasoning

import "testing"

// fragment is a typical 40-byte streamed content fragment; it contains a
// '<' near its end so the partial-tag check does real work.
const fragment = "so the sum is 2 + 2, which is 4 (a < b)."

func BenchmarkSplitterFeedReasoning(b *testing.B) {
	s := NewSplitter(ModeImplicitOpen)
	s.Feed("Okay, ")
	b.SetBytes(int64(len(fragment)))
	b.ReportAllocs()
	for b.Loop() {
		if r, _ := s.Feed(fragment); len(r) != len(fragment) {
			b.Fatalf("reasoning %q", r)
		}
	}
}

func BenchmarkSplitterFeedAnswer(b *testing.B) {
	s := NewSplitter(ModeTags)
	s.Feed("<think>a</think>\n\nb")
	b.ReportAllocs()
	for b.Loop() {
		if _, a := s.Feed(fragment); len(a) != len(fragment) {
			b.Fatalf("answer %q", a)
		}
	}
}

func BenchmarkRenderSeparate(b *testing.B) {
	r := NewRenderer(Separate, ModeImplicitOpen)
	in := content(fragment)
	b.ReportAllocs()
	for b.Loop() {
		if out, _ := r.Render(in); len(out.Reasoning) != len(fragment) {
			b.Fatalf("out %+v", out)
		}
	}
}
