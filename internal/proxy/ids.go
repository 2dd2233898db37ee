package proxy

import (
	"crypto/rand"
	"encoding/base32"
	"strconv"
	"sync/atomic"
)

// idSource makes request IDs: a random per-process prefix and a counter,
// unique across instances without a random read per request.
type idSource struct {
	prefix string
	n      *atomic.Uint64
}

func newIDSource() idSource {
	var b [10]byte
	_, _ = rand.Read(b[:])
	p := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
	return idSource{prefix: "req_" + lower(p) + "_", n: new(atomic.Uint64)}
}

func (s idSource) next() string {
	var buf [48]byte
	b := append(buf[:0], s.prefix...)
	b = strconv.AppendUint(b, s.n.Add(1), 36)
	return string(b)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
