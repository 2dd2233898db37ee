package dlp

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// prompt2KB is a realistic 2 KB prompt: prose, code, numbers and a few
// values to find.
var prompt2KB = func() string {
	base := "Please review this deployment note. The service listens on port 8080 and was released on 2024-03-01 " +
		"as version 1.4.2; about 1,250 users saw errors between 10:30 and 11:15. Contact jane.doe@example.com " +
		"or call +44 20 7946 0958 if the card 4111 1111 1111 1111 is declined again.\n" +
		"```go\nfunc handler(w http.ResponseWriter, r *http.Request) {\n\tcfg := config.Load(\"app.yaml\")\n" +
		"\tif err := db.Ping(); err != nil {\n\t\thttp.Error(w, err.Error(), 500)\n\t}\n}\n```\n" +
		"Summarise the incident in three bullet points and suggest a fix for the retry loop. "
	var b strings.Builder
	for b.Len() < 2048 {
		b.WriteString(base)
	}
	return b.String()[:2048]
}()

func BenchmarkScan2KB(b *testing.B) {
	sc := mustScanner(b, Config{})
	b.SetBytes(int64(len(prompt2KB)))
	b.ReportAllocs()
	for b.Loop() {
		sc.Scan(prompt2KB)
	}
}

func BenchmarkScan2KBClean(b *testing.B) {
	sc := mustScanner(b, Config{})
	text := strings.Repeat("The quick brown fox jumps over the lazy dog and keeps running. ", 33)[:2048]
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		sc.Scan(text)
	}
}

func BenchmarkApply2KB(b *testing.B) {
	sc := mustScanner(b, Config{})
	b.SetBytes(int64(len(prompt2KB)))
	b.ReportAllocs()
	for b.Loop() {
		sc.Apply(prompt2KB, Request, nil)
	}
}

// BenchmarkStreamWrite measures one SSE event: a delta of a few tokens
// written to a masker that holds the default 256 bytes.
func BenchmarkStreamWrite(b *testing.B) {
	sc := mustScanner(b, Config{})
	deltas := strings.Fields(prompt2KB)
	m := sc.NewStreamMasker(Response, NewVault())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Write(deltas[i%len(deltas)] + " ")
		i++
	}
}

// BenchmarkStreamWriteLongToken measures SSE events of 4 bytes while a
// stream carries a 3 KB JWT: the masker holds the token whole until it
// ends, without rescanning it on every event. Besides the mean it reports
// the 99th percentile of one event's time (p99-ns/event).
func BenchmarkStreamWriteLongToken(b *testing.B) {
	sc := mustScanner(b, Config{})
	text := "Here is the token:\n" + longTokens[0].value + "\nUse it with care. " + strings.Repeat("Anything else? ", 20)
	var chunks []string
	for i := 0; i < len(text); i += 4 {
		chunks = append(chunks, text[i:min(len(text), i+4)])
	}
	b.ReportAllocs()
	var m *StreamMasker
	var times []time.Duration
	i := 0
	for b.Loop() {
		if i%len(chunks) == 0 {
			m = sc.NewStreamMasker(Response, nil)
		}
		t0 := time.Now()
		m.Write(chunks[i%len(chunks)])
		times = append(times, time.Since(t0))
		i++
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "p99-ns/event")
}
