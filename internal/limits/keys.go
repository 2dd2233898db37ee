package limits

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// maxKeyValue is the longest subject value kept readable in a counter key;
// longer values (a model name is client input) are replaced by a digest so
// that keys stay short.
const maxKeyValue = 96

// bucket returns the hash tag for rule c and subject s: "{name:v1:v2}".
// Values are escaped so that no two subjects share a bucket and no value can
// end the hash tag early.
func (c *compiled) bucket(s *Subject) string {
	if len(c.by) == 0 {
		return "{" + c.name + "}"
	}
	var b strings.Builder
	b.Grow(len(c.name) + 2 + 24*len(c.by))
	b.WriteByte('{')
	b.WriteString(c.name)
	for _, d := range c.by {
		b.WriteByte(':')
		writeValue(&b, s.value(d))
	}
	b.WriteByte('}')
	return b.String()
}

// writeValue writes v percent-encoded: only letters, digits and ".-_@" pass
// through, so ':', '{', '}' and '%' never appear raw.
func writeValue(b *strings.Builder, v string) {
	if len(v) > maxKeyValue {
		sum := sha256.Sum256([]byte(v))
		b.WriteByte('~')
		b.WriteString(hex.EncodeToString(sum[:16]))
		return
	}
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(v); i++ {
		c := v[i]
		if plainByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
}

// plainByte reports whether c may appear unescaped in a key.
func plainByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c == '_' || c == '@'
}

// counterKey returns the key of one quantity's counter in the window that
// starts at start (unix seconds); concurrency counters have no window.
func counterKey(bucket string, q quantity, start int64) string {
	if q == qConcurrent {
		return bucket + ":" + qSegment[q]
	}
	var num [20]byte
	n := strconv.AppendInt(num[:0], start, 10)
	return bucket + ":" + qSegment[q] + ":" + string(n)
}
