package scan

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// prompt2KB is a 2 KB prompt of ordinary prose with one email address and
// one phone number, the common case on the hot path.
var prompt2KB = func() string {
	const para = "Please summarise the quarterly report for the board. Revenue grew in every region " +
		"except the north, where two large contracts moved to the next quarter. Keep the tone neutral, " +
		"list the three main risks and suggest questions the directors may ask. "
	var b strings.Builder
	b.WriteString("Hi, I am Jane from finance (jane.doe@example.com, +44 20 7946 0958). ")
	for b.Len() < 2048 {
		b.WriteString(para)
	}
	return b.String()[:2048]
}()

func BenchmarkJudgeLine2KB(b *testing.B) {
	j := testJudge(b)
	line := []byte(jsonLine("bench", prompt2KB, "user"))
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		j.line(b.Context(), 1, line, false)
	}
}

// BenchmarkScan2KB measures the whole verb on 2 KB lines: reading,
// judging on every CPU, writing in order.
func BenchmarkScan2KB(b *testing.B) {
	const lines = 256
	j := testJudge(b)
	var in bytes.Buffer
	for range lines {
		in.WriteString(jsonLine("bench", prompt2KB, "user"))
		in.WriteByte('\n')
	}
	b.ReportAllocs()
	b.SetBytes(int64(in.Len()))
	for b.Loop() {
		if err := j.stream(b.Context(), bytes.NewReader(in.Bytes()), io.Discard, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}
