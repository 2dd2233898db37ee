package proxy

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadLimited(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		body      string
		size, max int64
		want      string
		err       error
	}{
		{"unknown length", "hello", -1, 10, "hello", nil},
		{"unknown length over the cap", "hello world", -1, 5, "", errBadUpstream},
		{"announced", "hello", 5, 10, "hello", nil},
		{"announced over the cap", "hello", 5, 4, "", errBadUpstream},
		{"shorter than announced", "hel", 5, 10, "", io.ErrUnexpectedEOF},
		{"longer than announced", "hello!", 5, 10, "", errBadUpstream},
		{"empty", "", 0, 10, "", nil},
	} {
		got, err := readLimited(strings.NewReader(c.body), c.size, c.max)
		if !errors.Is(err, c.err) || (err == nil && string(got) != c.want) {
			t.Errorf("%s: got %q, %v; want %q, %v", c.name, got, err, c.want, c.err)
		}
	}
}
