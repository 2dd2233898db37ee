package store

import "testing"

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(1, "req-1"))
	f.Add("")
	f.Add("MTox")
	f.Fuzz(func(t *testing.T, c string) {
		ts, id, err := decodeCursor(c)
		if err != nil {
			return
		}
		if ts2, id2, err := decodeCursor(encodeCursor(ts, id)); err != nil || ts2 != ts || id2 != id {
			t.Fatalf("cursor %q does not round-trip", c)
		}
	})
}
