package limits

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// maxKeyValue is the longest subject value kept readable in a counter key;
// longer values (a model name is client input) are replaced by a digest so
// that keys stay short.
const maxKeyValue = 96

// bucket returns the hash tag for rule c and subject s: "{name:v1:v2}".
// Values are escaped so that no two subjects share a bucket and no value can
// end the hash tag early.
func (c *compiled) bucket(s *Subject) string {
	return string(c.appendBucket(make([]byte, 0, len(c.name)+2+24*len(c.by)), s))
}

// appendBucket appends the hash tag of bucket to b.
func (c *compiled) appendBucket(b []byte, s *Subject) []byte {
	b = append(b, '{')
	b = append(b, c.name...)
	for _, d := range c.by {
		b = append(b, ':')
		b = appendValue(b, s.value(d))
	}
	return append(b, '}')
}

// appendValue appends v percent-encoded: only letters, digits and ".-_@"
// pass through, so ':', '{', '}' and '%' never appear raw.
func appendValue(b []byte, v string) []byte {
	if len(v) > maxKeyValue {
		sum := sha256.Sum256([]byte(v))
		b = append(b, '~')
		return hex.AppendEncode(b, sum[:16])
	}
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(v); i++ {
		c := v[i]
		if plainByte(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}

// plainByte reports whether c may appear unescaped in a key.
func plainByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c == '_' || c == '@'
}

// counterKey returns the key of one quantity's counter in the window that
// starts at start (unix seconds); concurrency counters have no window.
func counterKey(bucket string, q quantity, start int64) string {
	return string(appendCounterKey(nil, []byte(bucket), q, start))
}

// appendCounterKey appends the key of counterKey to b.
func appendCounterKey(b, bucket []byte, q quantity, start int64) []byte {
	b = append(b, bucket...)
	b = append(b, ':')
	b = append(b, qSegment[q]...)
	if q == qConcurrent {
		return b
	}
	b = append(b, ':')
	return strconv.AppendInt(b, start, 10)
}
