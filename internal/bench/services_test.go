package bench

import (
	"net"
	"strings"
	"testing"
)

func TestParseListenLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		line   string
		want   string
		wantOK bool
	}{
		{"announced line", "simulator listening on http://127.0.0.1:41234 (flavor deepseek)", "127.0.0.1:41234", true},
		{"after a log prefix", `time=... msg="simulator listening on http://127.0.0.1:5 (flavor vllm)"`, "127.0.0.1:5", true},
		{"trailing slash", "simulator listening on http://127.0.0.1:8000/ (flavor x)", "127.0.0.1:8000", true},
		{"IPv6", "simulator listening on http://[::1]:9000 (flavor x)", "[::1]:9000", true},
		{"port zero was never bound", "simulator listening on http://127.0.0.1:0 (flavor x)", "", false},
		{"no port", "simulator listening on http://127.0.0.1 (flavor x)", "", false},
		{"named port", "simulator listening on http://127.0.0.1:http (flavor x)", "", false},
		{"empty host", "simulator listening on http://:8080 (flavor x)", "", false},
		{"other line", "gateway listening on http://127.0.0.1:8080", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, ok := parseListenLine(tt.line)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("parseListenLine() = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzParseListenLine(f *testing.F) {
	f.Add("simulator listening on http://127.0.0.1:41234 (flavor deepseek)")
	f.Add("simulator listening on http://[::1]:1")
	f.Add("simulator listening on http://a:b:c")
	f.Fuzz(func(t *testing.T, line string) {
		addr, ok := parseListenLine(line)
		if !ok {
			return
		}
		if _, _, err := net.SplitHostPort(addr); err != nil || strings.ContainsAny(addr, " /") {
			t.Errorf("accepted address %q from %q: %v", addr, line, err)
		}
	})
}
