package dlp

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomChars returns n characters drawn from alphabet with a fixed seed.
func randomChars(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// longTokens are credentials longer than the default hold-back (256
// bytes), each at the longest length its format allows or close to it.
var longTokens = func() []struct{ desc, value string } {
	r := rand.New(rand.NewPCG(5, 5))
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"k1"}`))
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"1234567890","groups":["` + randomChars(r, tAlnum, 2200) + `"]}`))
	jwt := hdr + "." + claims + "." + randomChars(r, tB64URL, 342)
	pem := "-----BEGIN RSA PRIVATE KEY-----\n"
	for range 25 {
		pem += randomChars(r, tB64Std, 64) + "\n"
	}
	pem += "-----END RSA PRIVATE KEY-----"
	return []struct{ desc, value string }{
		{"jwt 3 KB", jwt},
		{"1password 4 KB", "ops_eyJ" + randomChars(r, tB64Std, 4096)},
		{"grafana 400", "glc_" + randomChars(r, tB64Std, 400)},
		{"vault batch 300", "hvb." + randomChars(r, tB64URL, 300)},
		{"private key", pem},
	}
}()

// channels are the two streamed channels of a chat completion; each gets
// its own masker, as in the gateway.
var channels = []string{"content", "reasoning_content"}

// streamBoth feeds the same text to one masker per channel, interleaving
// the channels' events as a reasoning model's stream does, and returns
// what each channel emitted.
func streamBoth(sc *Scanner, chunks []string) map[string]string {
	ms := map[string]*StreamMasker{}
	out := map[string]*strings.Builder{}
	for _, ch := range channels {
		ms[ch], out[ch] = sc.NewStreamMasker(Response, nil), &strings.Builder{}
	}
	for _, c := range chunks {
		for _, ch := range channels {
			out[ch].WriteString(ms[ch].Write(c))
		}
	}
	got := map[string]string{}
	for _, ch := range channels {
		out[ch].WriteString(ms[ch].Flush())
		got[ch] = out[ch].String()
	}
	return got
}

// TestStreamLongTokens splits each long token across two events at every
// byte offset (every seventh for the 4 KB one) and streams it in small
// events of several sizes, in content and in reasoning_content, and checks
// that each channel's output equals the whole text's and that no part of
// the token of 16 bytes or more is emitted.
func TestStreamLongTokens(t *testing.T) {
	t.Parallel()
	sc := mustScanner(t, Config{})
	for _, tk := range longTokens {
		t.Run(tk.desc, func(t *testing.T) {
			t.Parallel()
			text := strings.Repeat("Sure, here it is. ", 20) + "token:\n" + tk.value + "\nUse it with care. " + strings.Repeat("Anything else? ", 30)
			want, fs, _ := sc.Apply(text, Response, nil)
			if len(fs) != 1 || text[fs[0].ByteStart:fs[0].ByteEnd] != tk.value {
				t.Fatalf("whole text: findings %+v, want the token", fs)
			}
			check := func(how string, chunks []string) {
				t.Helper()
				for ch, got := range streamBoth(sc, chunks) {
					if got != want {
						t.Fatalf("%s, %s: output differs from the whole text's:\n%s", how, ch, leak(got, tk.value))
					}
				}
			}
			at := strings.Index(text, tk.value)
			step := 1
			if len(tk.value) > 2048 {
				step = 7
			}
			for i := at; i <= at+len(tk.value); i += step {
				check(fmt.Sprintf("split at %d", i-at), []string{text[:i], text[i:]})
			}
			for _, size := range []int{1, 3, 4, 16, 100, 300} {
				var chunks []string
				for i := 0; i < len(text); i += size {
					chunks = append(chunks, text[i:min(len(text), i+size)])
				}
				check(fmt.Sprintf("events of %d bytes", size), chunks)
			}
		})
	}
}

// leak describes the longest part of value found in got.
func leak(got, value string) string {
	best := ""
	for i := 0; i+16 <= len(value); i += 16 {
		n := 16
		for i+n <= len(value) && strings.Contains(got, value[i:i+n]) {
			n++
		}
		if n-1 > len(best) && strings.Contains(got, value[i:i+n-1]) {
			best = value[i : i+n-1]
		}
	}
	if best == "" {
		return fmt.Sprintf("no 16-byte part of the token leaked; got %d bytes", len(got))
	}
	return fmt.Sprintf("%d bytes of the token leaked: %.60q...", len(best), best)
}

// TestStreamReleasesLongTokenAtOnce checks that a held long token is
// emitted, masked, by the event that ends it, not hold-back bytes later,
// and that ordinary text before it was not held longer than the
// hold-back.
func TestStreamReleasesLongTokenAtOnce(t *testing.T) {
	t.Parallel()
	sc := mustScanner(t, Config{})
	for _, tk := range longTokens[:4] {
		t.Run(tk.desc, func(t *testing.T) {
			t.Parallel()
			head := strings.Repeat("Sure, here it is. ", 20) + "token: "
			text := head + tk.value + "\nUse it with care. " + strings.Repeat("Anything else? ", 30)
			m := sc.NewStreamMasker(Response, nil)
			var out strings.Builder
			end := len(head) + len(tk.value)
			for i := 0; i < len(text); i += 4 {
				out.WriteString(m.Write(text[i:min(len(text), i+4)]))
				switch got := out.String(); {
				case i+4 > len(head)+DefaultHoldBack && i+4 <= end && len(got) < len(head)-DefaultHoldBack:
					t.Fatalf("at byte %d inside the token: only %d bytes out, the text before it was held", i+4, len(got))
				case strings.Contains(got, tk.value[:16]):
					t.Fatalf("at byte %d: token head emitted", i+4)
				case i+4 > end && (len(m.Findings()) == 0 || !strings.HasSuffix(strings.TrimRight(got, "\n"), "token: ["+Label(m.Findings()[0].Type)+"]")):
					t.Fatalf("event ending the token at byte %d: output ends %q, want the masked token", i+4, got[max(0, len(got)-40):])
				}
				if i+4 > end {
					return
				}
			}
		})
	}
}

// TestStreamHoldBounded checks the bounds of the hold-back: ordinary prose
// is held at most hold_back bytes, and a run that starts like a long token
// but never ends is held at most max_hold_back bytes, then released.
func TestStreamHoldBounded(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 9))
	endless := "eyJ" + randomChars(r, tB64URL, 12<<10)
	cases := []struct {
		desc  string
		cfg   Config
		text  string
		bound int
	}{
		{"prose", Config{}, strings.Repeat("The quick brown fox jumps over the lazy dog. ", 200), DefaultHoldBack},
		{"endless token, default cap", Config{}, "x " + endless, DefaultMaxHoldBack},
		{"endless token, max_hold_back 4096", Config{MaxHoldBack: 4096}, "x " + endless, 4096},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			m := mustScanner(t, tc.cfg).NewStreamMasker(Response, nil)
			emitted := 0
			for i := 0; i < len(tc.text); i += 4 {
				emitted += len(m.Write(tc.text[i:min(len(tc.text), i+4)]))
				if len(m.pending) > tc.bound+4 {
					t.Fatalf("at byte %d: %d bytes held, bound %d", i+4, len(m.pending), tc.bound)
				}
			}
			if emitted < len(tc.text)-tc.bound-4 {
				t.Fatalf("only %d of %d bytes emitted before Flush", emitted, len(tc.text))
			}
		})
	}
}

func TestMaxHoldBackValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{HoldBack: 512, MaxHoldBack: 512}, true},
		{Config{HoldBack: 512, MaxHoldBack: 511}, false},
		{Config{MaxHoldBack: 64<<10 + 1}, false},
		{Config{HoldBack: 16 << 10}, true}, // the default cap follows a larger hold-back
	} {
		sc, err := New(tc.cfg)
		if (err == nil) != tc.ok {
			t.Errorf("New(%+v): err %v, want ok %v", tc.cfg, err, tc.ok)
		}
		if err == nil && sc.Config().MaxHoldBack < sc.Config().HoldBack {
			t.Errorf("New(%+v): max_hold_back %d below hold_back %d", tc.cfg, sc.Config().MaxHoldBack, sc.Config().HoldBack)
		}
	}
}
