package dlp

import (
	"strings"
	"testing"
)

// streamSamples are values of each kind, as they would appear in text.
var streamSamples = []struct{ desc, value string }{
	{"email", "jane.doe@example.com"},
	{"phone", "+44 20 7946 0958"},
	{"card", "4111 1111 1111 1111"},
	{"iban", "GB82WEST12345698765432"},
	{"ssn", "308-63-0237"},
	{"ipv4", "86.231.85.193"},
	{"ipv6", "fe80::1ff:fe23:4567:890a"},
	{"aws", "AKIAZ7VQX2M4TB3WJQ5N"},
	{"github", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"},
	{"jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"},
	{"unicode email", "jörg@example.de"},
}

// runStream feeds chunks through a masker and returns all it emitted.
func runStream(m *StreamMasker, chunks ...string) string {
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString(m.Write(c))
	}
	b.WriteString(m.Flush())
	return b.String()
}

// TestStreamSplitEverywhere splits each value at every byte offset across
// two chunks and checks that the stream's output equals the whole-text
// output and never holds the raw value, with the default hold-back and with
// a hold-back shorter than some values.
func TestStreamSplitEverywhere(t *testing.T) {
	t.Parallel()
	for _, hold := range []int{0, 24} {
		sc := mustScanner(t, Config{HoldBack: hold})
		for _, s := range streamSamples {
			t.Run(s.desc, func(t *testing.T) {
				t.Parallel()
				text := strings.Repeat("lorem ipsum ", 30) + "value " + s.value + " end of message. " + strings.Repeat("dolor sit ", 5)
				want, fs, _ := sc.Apply(text, Request, nil)
				if len(fs) != 1 {
					t.Fatalf("whole text: %d findings, want 1", len(fs))
				}
				at := strings.Index(text, s.value)
				for i := at; i <= at+len(s.value); i++ {
					m := sc.NewStreamMasker(Request, nil)
					got := runStream(m, text[:i], text[i:])
					if got != want {
						t.Fatalf("split at %d: got\n%q\nwant\n%q", i, got, want)
					}
					if strings.Contains(got, s.value) {
						t.Fatalf("split at %d: raw value emitted", i)
					}
					if n := len(m.Findings()); n != 1 {
						t.Fatalf("split at %d: %d findings", i, n)
					}
					if f := m.Findings()[0]; text[f.ByteStart:f.ByteEnd] != s.value {
						t.Fatalf("split at %d: finding covers %q", i, text[f.ByteStart:f.ByteEnd])
					}
				}
			})
		}
	}
}

// TestStreamRestoresSplitPlaceholders pseudonymizes values in a request,
// then streams a response holding their placeholders split at every byte
// offset, and checks that the client receives the original values.
func TestStreamRestoresSplitPlaceholders(t *testing.T) {
	t.Parallel()
	sc := mustScanner(t, Config{Request: Policy{PII: ActionPseudonymize, Secrets: ActionPseudonymize}})
	for _, s := range streamSamples {
		t.Run(s.desc, func(t *testing.T) {
			t.Parallel()
			v := NewVault()
			req, _, _ := sc.Apply("my value is "+s.value+" ok", Request, v)
			ph := strings.TrimSuffix(strings.TrimPrefix(req, "my value is "), " ok")
			if !strings.HasPrefix(ph, "<") || v.Len() != 1 {
				t.Fatalf("request %q: no placeholder", req)
			}
			resp := strings.Repeat("Sure. ", 60) + "Your value " + ph + " is noted."
			want := strings.Repeat("Sure. ", 60) + "Your value " + s.value + " is noted."
			at := strings.Index(resp, ph)
			for i := at; i <= at+len(ph); i++ {
				m := sc.NewStreamMasker(Response, v)
				if got := runStream(m, resp[:i], resp[i:]); got != want {
					t.Fatalf("split at %d: got %q", i, got[max(0, len(got)-60):])
				}
			}
		})
	}
}

func TestStreamTinyChunks(t *testing.T) {
	t.Parallel()
	sc := mustScanner(t, Config{})
	text := "Contact jane.doe@example.com, card 4111 1111 1111 1111. " + strings.Repeat("x ", 200) + "SSN 308-63-0237 bye"
	want, _, _ := sc.Apply(text, Request, nil)
	for _, size := range []int{1, 2, 3, 7, 64} {
		m := sc.NewStreamMasker(Request, nil)
		var chunks []string
		for i := 0; i < len(text); i += size {
			chunks = append(chunks, text[i:min(len(text), i+size)])
		}
		if got := runStream(m, chunks...); got != want {
			t.Fatalf("chunk size %d: got %q\nwant %q", size, got, want)
		}
	}
}

func TestStreamPrivateKey(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n", 30)
	text := "here is my key:\n-----BEGIN RSA PRIVATE KEY-----\n" + body + "-----END RSA PRIVATE KEY-----\nplease check it"
	sc := mustScanner(t, Config{})
	for _, size := range []int{5, 17, 100, 4096} {
		m := sc.NewStreamMasker(Request, nil)
		var chunks []string
		for i := 0; i < len(text); i += size {
			chunks = append(chunks, text[i:min(len(text), i+size)])
		}
		got := runStream(m, chunks...)
		if strings.Contains(got, "MIIEow") || strings.Contains(got, "0Z3VS5") {
			t.Fatalf("chunk size %d: key material emitted: %q", size, got)
		}
		if !strings.HasPrefix(got, "here is my key:\n[SECRET_PRIVATE_KEY]") || !strings.HasSuffix(got, "please check it") {
			t.Fatalf("chunk size %d: got %q", size, got)
		}
	}
}

func TestStreamBlock(t *testing.T) {
	t.Parallel()
	sc := mustScanner(t, Config{Response: Policy{Types: map[string]Action{TypeCreditCard: ActionBlock}}})
	m := sc.NewStreamMasker(Response, nil)
	got := runStream(m, "Your card is 4111 1111 ", "1111 1111 and more text after it")
	if m.Blocked() == nil || m.Blocked().Type != TypeCreditCard {
		t.Fatalf("Blocked() = %+v", m.Blocked())
	}
	if got != "Your card is [CREDIT_CARD]" {
		t.Fatalf("emitted %q", got)
	}
	if m.Write("more") != "" {
		t.Fatal("Write after block emitted text")
	}
}
