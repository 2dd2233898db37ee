package dlp

import (
	"strings"
	"testing"
)

// fuzzSeeds are values that must never pass through the masker, whatever
// text surrounds them and however the stream is chunked.
var fuzzSeeds = []string{
	"jane.doe@example.com",
	"4111 1111 1111 1111",
	"GB82WEST12345698765432",
	"308-63-0237",
	"AKIAZ7VQX2M4TB3WJQ5N",
	"ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
	longTokens[0].value, // a 3 KB JWT, longer than any hold-back the fuzzer uses
	longTokens[2].value, // glc_ with a 400-byte body
}

// FuzzMask surrounds a seeded value with fuzzed text, masks it whole and as
// a stream cut into fuzzed chunk sizes, and checks that nothing panics and
// that the value never appears in the output. The value is set off by
// spaces: glued to arbitrary letters or digits it is a different token.
func FuzzMask(f *testing.F) {
	f.Add("hello ", " world", uint8(0), uint8(7), uint16(0))
	f.Add("card:", ".", uint8(1), uint8(1), uint16(3))
	f.Add("-----BEGIN RSA PRIVATE KEY-----\n", "\n-----END RSA PRIVATE KEY-----", uint8(4), uint8(13), uint16(5))
	f.Add("postgres://u:", "@db/x ", uint8(5), uint8(2), uint16(40))
	f.Add("born on 2/7/1961 <EMAIL_1", "> 日本語", uint8(2), uint8(64), uint16(0))
	sc := mustScanner(f, Config{HoldBack: 64})
	f.Fuzz(func(t *testing.T, before, after string, seed, chunk uint8, cut uint16) {
		if len(before)+len(after) > 4096 {
			return
		}
		value := fuzzSeeds[int(seed)%len(fuzzSeeds)]
		text := before + " " + value + " " + after
		out, _, _ := sc.Apply(text, Request, NewVault())
		if strings.Contains(out, value) && !strings.Contains(before+after, value) {
			t.Fatalf("Apply let %q through: %q", value, out)
		}
		m := sc.NewStreamMasker(Request, NewVault())
		size := int(chunk)%97 + 1
		first := min(int(cut), len(text))
		chunks := []string{text[:first]}
		for i := first; i < len(text); i += size {
			chunks = append(chunks, text[i:min(len(text), i+size)])
		}
		got := runStream(m, chunks...)
		if strings.Contains(got, value) && !strings.Contains(before+after, value) {
			t.Fatalf("stream let %q through: %q", value, got)
		}
	})
}
