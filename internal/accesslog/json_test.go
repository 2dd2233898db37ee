package accesslog

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rampart-gw/rampart/internal/record"
)

// keysAndValues decodes one JSON line into its keys, in order, and values.
func keysAndValues(t *testing.T, line []byte) ([]string, map[string]any) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("not one JSON object: %v: %s", err, line)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip any
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys, m
}

// The JSON writer's line is the slog JSON handler's line: the same keys in
// the same order with the same values, the time aside.
func TestJSONLineMatchesSlog(t *testing.T) {
	t.Parallel()
	full := &record.Record{
		ID: "req-1", ClientIP: "10.0.0.1", Method: "POST", Path: "/v1/chat/completions",
		Principal:      record.Principal{Kind: "api_key", ID: "key_abc", Team: "blue"},
		ModelRequested: "deepseek-chat", ModelServed: "deepseek-chat-v3", Route: "r", Upstream: "u", Attempts: 2,
		Stream: true, Status: 200, Outcome: "ok", Duration: 3 * time.Millisecond, TTFT: time.Millisecond,
		GatewayTime: 41 * time.Microsecond, ErrorCode: "upstream_timeout", Events: 17,
		Usage:   record.Usage{PromptTokens: 5, CompletionTokens: 7, ReasoningTokens: 3, CachedTokens: 2, TotalTokens: 12},
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
	}
	full.AddVerdict(record.Verdict{Stage: "dlp", Rule: "EMAIL_ADDRESS", Action: "mask"})
	full.AddVerdict(record.Verdict{Stage: "guard", Rule: "PI-1", Action: "flag"})
	odd := &record.Record{
		ID: "req-\"2\"", ClientIP: "::1", Method: "GET", Path: "/v1/\u2028x\\y\n\t\x01<&>\xff",
		ModelRequested: "m\u00e9\u2029", Status: 404, Outcome: "error",
	}
	for name, r := range map[string]*record.Record{"full": full, "empty": {}, "odd strings": odd} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var fast, slow bytes.Buffer
			NewJSON(&fast, slog.LevelInfo).Record(r)
			New(slog.New(slog.NewJSONHandler(&slow, nil))).Record(r)
			if !bytes.HasSuffix(fast.Bytes(), []byte("}\n")) || bytes.Count(fast.Bytes(), []byte("\n")) != 1 {
				t.Fatalf("not one line: %q", fast.Bytes())
			}
			fk, fv := keysAndValues(t, fast.Bytes())
			sk, sv := keysAndValues(t, slow.Bytes())
			if strings.Join(fk, ",") != strings.Join(sk, ",") {
				t.Errorf("keys\n%v\nwant\n%v", fk, sk)
			}
			if _, err := time.Parse(time.RFC3339Nano, fv["time"].(string)); err != nil {
				t.Errorf("time: %v", err)
			}
			delete(fv, "time")
			delete(sv, "time")
			fj, _ := json.Marshal(fv)
			sj, _ := json.Marshal(sv)
			if !bytes.Equal(fj, sj) {
				t.Errorf("values\n%s\nwant\n%s", fj, sj)
			}
		})
	}
}

func TestJSONLevelTurnsLinesOff(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	NewJSON(&buf, slog.LevelWarn).Record(&record.Record{ID: "x"})
	if buf.Len() != 0 {
		t.Fatalf("a WARN level wrote %q", buf.Bytes())
	}
	NewJSON(&buf, slog.LevelDebug).Record(&record.Record{ID: "x"})
	if buf.Len() == 0 {
		t.Fatal("a DEBUG level wrote nothing")
	}
}

// slogString is how slog's JSON handler writes s.
func slogString(s string) []byte {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == "time" || a.Key == "level" || a.Key == "msg" {
				return slog.Attr{}
			}
			return a
		},
	})).Info("", "s", s)
	b := bytes.TrimSuffix(buf.Bytes(), []byte("}\n"))
	return bytes.TrimPrefix(b, []byte(`{"s":`))
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\", "\n\r\t\x00\x1f\x7f", "<&>", "\xff\xfe", "\u2028\u2029", "日本語😀", "a\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString(nil, s)
		want := slogString(s)
		if utf8.ValidString(s) {
			if !bytes.Equal(got, want) {
				t.Fatalf("appendJSONString(%q) = %s, slog writes %s", s, got, want)
			}
			return
		}
		// slog writes an invalid byte as the escape \ufffd up to Go 1.26
		// and as the character itself from Go 1.27: the same JSON value.
		var g, w string
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("appendJSONString(%q) = %s, not a JSON string: %v", s, got, err)
		}
		if err := json.Unmarshal(want, &w); err != nil || g != w {
			t.Fatalf("appendJSONString(%q) = %s (%q), slog writes %s (%q, %v)", s, got, g, want, w, err)
		}
	})
}

func BenchmarkRecordJSON(b *testing.B) {
	r := &record.Record{ID: "req-1", ClientIP: "10.0.0.1", Method: "POST", Path: "/v1/chat/completions",
		Principal: record.Principal{ID: "key_abc"}, ModelRequested: "deepseek-chat", Route: "r", Upstream: "u",
		Attempts: 1, Status: 200, Outcome: "ok", Duration: 3 * time.Millisecond, TTFT: time.Millisecond,
		Usage: record.Usage{PromptTokens: 5, CompletionTokens: 7, TotalTokens: 12}}
	for name, l := range map[string]*Logger{
		"slog": New(slog.New(slog.NewJSONHandler(io.Discard, nil))),
		"json": NewJSON(io.Discard, slog.LevelInfo),
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.Record(r)
			}
		})
	}
}
