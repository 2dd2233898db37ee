package tokenizer

import (
	"strings"
	"testing"
)

func TestHeuristic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		text string
		want int
	}{
		{"empty", "", 0},
		{"one short word", "hello", 2},
		{"prose", "The quick brown fox", 6},
		{"code", `if (a[i] > 0) { return; }`, 14},
		{"chinese", "你好，世界", 6},
		{"emoji", "😀", 2},
		{"line breaks fold", "a\n\n\nb", 3},
		{"accents", "café", 2},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := (Heuristic{}).Count(tt.text); got != tt.want {
				t.Errorf("Count(%q) = %d, want %d", tt.text, got, tt.want)
			}
		})
	}
}

// TestHeuristicLeansHigh compares with counts derived from typical BPE
// ratios (ten tokens for this English sentence, about 1.6 Chinese
// characters per token), not from a reference tokenizer: the estimate may
// be high, and must not be low by more than a tenth. Exact reference
// counts come with the exact tokenizer.
func TestHeuristicLeansHigh(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		text   string
		actual int
	}{
		{"english", strings.Repeat("Rate limits protect the upstream from bursts of traffic. ", 20), 200},
		{"chinese", strings.Repeat("速率限制保护上游免受突发流量的影响。", 20), 220},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got := (Heuristic{}).Count(tt.text)
			if float64(got) < 0.9*float64(tt.actual) {
				t.Errorf("Count = %d, below 90%% of %d", got, tt.actual)
			}
			t.Logf("estimate %d for about %d tokens", got, tt.actual)
		})
	}
}

func FuzzHeuristic(f *testing.F) {
	f.Add("hello, world")
	f.Add("你好\n\n世界 😀 {\"a\": [1, 2]}")
	f.Add("\xff\xfe invalid")
	f.Fuzz(func(t *testing.T, s string) {
		n := (Heuristic{}).Count(s)
		if n < 0 || n > len(s) {
			t.Fatalf("Count(%q) = %d, outside [0, %d]", s, n, len(s))
		}
		if s != "" && strings.TrimSpace(s) != "" && n == 0 {
			t.Fatalf("Count(%q) = 0 for visible text", s)
		}
	})
}

func BenchmarkHeuristic(b *testing.B) {
	text := strings.Repeat("func main() { fmt.Println(\"你好, world\") } // The quick brown fox.\n", 200)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		_ = (Heuristic{}).Count(text)
	}
}
