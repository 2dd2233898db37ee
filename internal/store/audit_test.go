package store

import "testing"

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(1, "req-1", false))
	f.Add(encodeCursor(1, "req-1", true))
	f.Add("")
	f.Add("MTox")
	f.Fuzz(func(t *testing.T, c string) {
		for _, newest := range []bool{false, true} {
			ts, id, err := decodeCursor(c, newest)
			if err != nil {
				continue
			}
			if ts2, id2, err := decodeCursor(encodeCursor(ts, id, newest), newest); err != nil || ts2 != ts || id2 != id {
				t.Fatalf("cursor %q (newest %v) does not round-trip", c, newest)
			}
			if _, _, err := decodeCursor(c, !newest); err != ErrBadCursor {
				t.Fatalf("cursor %q of newest=%v is also accepted by newest=%v", c, newest, !newest)
			}
		}
	})
}
