package guard

import (
	"context"
	"strings"
	"testing"
)

// prompt2KB is a realistic benign 2 KB prompt with a few trigger words.
var prompt2KB = func() string {
	s := strings.Repeat("Please review the following design notes and ignore the typos. The system prompt for our support bot "+
		"should stay short; developer mode on test phones lets us bypass the cache during QA. Summarise the risks in bullets. ", 12)
	return s[:2048]
}()

func BenchmarkCheckInput2KB(b *testing.B) {
	g := mustNew(b, Config{Banned: BannedConfig{Topics: []Topic{{Name: "rivals", Keywords: []string{"globex"}}}, Substrings: []string{"falcon"}}})
	msgs := []Message{{Role: "user", Text: prompt2KB}}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(prompt2KB)))
	for b.Loop() {
		if _, err := g.CheckInput(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckInputTool2KB(b *testing.B) {
	g := mustNew(b, Config{})
	msgs := []Message{{Role: "tool", Text: prompt2KB}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.CheckInput(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOutputFeed measures one streamed event of about 24 bytes, the
// size of a typical token delta, on a checker with a full tail window.
func BenchmarkOutputFeed(b *testing.B) {
	g := mustNew(b, Config{})
	oc := g.NewOutputChecker(OutputOptions{SystemPrompt: prompt2KB[:600], Canary: NewCanary()})
	ctx := context.Background()
	words := strings.Fields(prompt2KB)
	for i := range 200 {
		_, _ = oc.Feed(ctx, "content", words[i%len(words)]+" ")
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := oc.Feed(ctx, "content", words[i%len(words)]+" and "); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
