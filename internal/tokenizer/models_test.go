package tokenizer

import (
	"testing"
	"time"
)

func TestForModel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		model string
		want  string
	}{
		{"deepseek-chat", "bpe"},
		{"deepseek-reasoner", "bpe"},
		{"DeepSeek-V3", "bpe"},
		{"gpt-4o", "o200k_base"},
		{"gpt-4o-mini-2024-07-18", "o200k_base"},
		{"gpt-4", "cl100k_base"},
		{"gpt-4-0613", "cl100k_base"},
		{"gpt-3.5-turbo", "cl100k_base"},
		{"llama-3-70b", "heuristic"},
		{"", "heuristic"},
	}
	for _, tt := range tests {
		var got string
		switch e := ForModel(tt.model).(type) {
		case *BPE:
			got = "bpe"
		case *lazyTiktoken:
			got = e.name
		case Heuristic:
			got = "heuristic"
		}
		if got != tt.want {
			t.Errorf("ForModel(%q) = %s, want %s", tt.model, got, tt.want)
		}
	}
}

// TestTiktokenCounts checks known cl100k_base and o200k_base counts, once
// the background load has finished.
func TestTiktokenCounts(t *testing.T) {
	t.Parallel()
	Preload("gpt-4", "gpt-4o")
	tests := []struct {
		model, text string
		want        int
	}{
		{"gpt-4", "hello world", 2},
		{"gpt-4", "tiktoken is great!", 6},
		{"gpt-4o", "hello world", 2},
		{"gpt-4", "<|endoftext|>", 7},
	}
	for _, tt := range tests {
		e := ForModel(tt.model).(*lazyTiktoken)
		deadline := time.Now().Add(30 * time.Second)
		for !e.ready() {
			if time.Now().After(deadline) {
				t.Fatalf("%s not loaded after 30s", e.name)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got := e.Count(tt.text); got != tt.want {
			t.Errorf("%s: Count(%q) = %d, want %d", tt.model, tt.text, got, tt.want)
		}
	}
}
