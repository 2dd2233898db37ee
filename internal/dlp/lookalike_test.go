package dlp

import (
	"math/rand/v2"
	"strings"
	"testing"
)

const (
	laB64  = "PtYgjmUhBel31iEl2hpChYgCfrL1spNxnyVmihA/2O76UMFxFkM/R5Kjp1vRt+1fjORS/6ilI8ihN5KXSc7Tvo" // 86
	laB43  = "/hBKqFYY/kv5ZJr3J1TWDtkwtDDb+xHKas1VOqg6YYZ"                                            // 43
	laHex  = "c3fc1626e53a13043b026c48bbf33feff9243a8f506b40928b5b7a767c76fb00"                       // 64
	laSHA  = "8f86bebb2737f6a6f0fb23c6f5da2cec255404e4"                                               // 40
	laGHP  = "ghp_N0MEQ7wjJJibaZUPgHV7iB3m03nbqnsGpWLu"
	laLive = "sk_live_qIA1id6Vw5DQL05HA064GiIj"
	laAWS  = "AKIAZ7VQX2M4TB3WJQ5N"
)

var b64url43 = strings.NewReplacer("/", "_", "+", "-").Replace(laB43)

// TestLookalikes checks the three kinds of false positive measured in
// eval/secrets: each look-alike is not reported at all, and a real-looking
// credential in the same place still is.
func TestLookalikes(t *testing.T) {
	t.Parallel()
	sc := mustScanner(t, Config{})
	cases := []struct {
		desc, text string
		typ, want  string // want "" means no finding of any type
	}{
		// Digests and revisions in lockfiles, manifests and git output.
		{"npm integrity", `      "integrity": "sha512-` + laB64 + `==",`, "", ""},
		{"npm integrity holding a token", `      "integrity": "` + laGHP + `",`, TypeGitHubToken, laGHP},
		{"yarn integrity", `  integrity sha512-` + laB64 + `==`, "", ""},
		{"go.sum h1", "golang.org/x/net v0.23.0 h1:" + laB43 + "=", "", ""},
		{"go.sum h1 dir", "golang.org/x/net v0.23.0/go.mod h1:" + laB43 + "=\n", "", ""},
		{"sha256 label", `      "hash": "sha256:` + laHex + `"`, "", ""},
		{"hash holding a key", `      "hash": "` + laAWS + `"`, TypeAWSAccessKey, laAWS},
		{"checksum", `checksum = "` + laHex + `"`, "", ""},
		{"checksum holding a key", `checksum = "` + laLive + `"`, TypeStripeKey, laLive},
		{"yarn resolved", `  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz#` + laSHA + `"`, "", ""},
		{"json sha", `"sha": "` + laSHA + `",`, "", ""},
		{"json sha holding a key", `"sha": "` + laAWS + `",`, TypeAWSAccessKey, laAWS},
		{"image digest", "image: ghcr.io/acme/api@sha256:" + laHex, "", ""},
		{"commit key", "commit: " + laSHA + "\n", "", ""},
		{"rev", `rev = "` + laSHA + `"`, "", ""},
		{"camel commitSha", `"commitSha": "` + laSHA + `"`, "", ""},
		{"bare git sha on its line", "see\n" + laSHA + "\nfor the fix", "", ""},
		{"quoted sha256", `"` + laHex + `"`, "", ""},
		{"hex key name keeps hex", "DD_APP_KEY=" + laSHA + "\n", TypeHighEntropy, laSHA},
		{"hash key is a secret", `hash_key = "` + laHex + `"`, TypeHighEntropy, laHex},
		{"shorter hex still reported", `"value": "` + laSHA[:32] + `"`, TypeHighEntropy, laSHA[:32]},
		{"base64 with neutral name", `mimi = "` + laB43 + `"`, TypeHighEntropy, laB43},
		{"openshift sha256~ token", "oc login --token=sha256~" + b64url43 + " ", "SECRET_OPENSHIFT_TOKEN", "sha256~" + b64url43},

		{"aws real id same line", "aws_access_key_id = " + laAWS, TypeAWSAccessKey, laAWS},
		{"aws real secret same line", "aws_secret_access_key = h3Kq9ZtV/x7LmR2pWc8yNb4sJf6Gd1EoUa5TiXvQ", TypeAWSSecretKey, "h3Kq9ZtV/x7LmR2pWc8yNb4sJf6Gd1EoUa5TiXvQ"},

		// Placeholders with a provider's prefix.
		{"ghp X", "GITHUB_TOKEN=ghp_" + strings.Repeat("X", 36), "", ""},
		{"ghp x", "token ghp_" + strings.Repeat("x", 36) + " here", "", ""},
		{"ghp zeros", "ghp_" + strings.Repeat("0", 36), "", ""},
		{"ghp counting", "ghp_" + strings.Repeat("1234567890", 4)[:36], "", ""},
		{"ghp partly masked", "ghp_1234" + strings.Repeat("X", 32), "", ""},
		{"deepseek counting", "sk-0123456789abcdef0123456789abcdef", "", ""},
		{"slack placeholder", "xoxb-0000000000-0000000000000-" + strings.Repeat("x", 24), "", ""},
		{"ghp real", "GITHUB_TOKEN=" + laGHP, TypeGitHubToken, laGHP},
		{"stripe real", "STRIPE_KEY=" + laLive, TypeStripeKey, laLive},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			fs := sc.Scan(tc.text)
			if tc.want == "" {
				if len(fs) > 0 {
					t.Fatalf("Scan(%q) = %s %q, want no finding", tc.text, fs[0].Type, tc.text[fs[0].ByteStart:fs[0].ByteEnd])
				}
				return
			}
			for _, f := range fs {
				if f.Type == tc.typ && tc.text[f.ByteStart:f.ByteEnd] == tc.want {
					return
				}
			}
			t.Fatalf("Scan(%q) = %+v, want %s %q", tc.text, fs, tc.typ, tc.want)
		})
	}
}

// TestExamplesReported: the vendors' documentation keys are reported like
// real ones (detect-secrets' fixtures use them as stand-ins for secrets).
func TestExamplesReported(t *testing.T) {
	t.Parallel()
	const text = "AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	if fs := mustScanner(t, Config{}).Scan(text); len(fs) != 2 {
		t.Fatalf("Scan found %+v, want both keys", fs)
	}
}

// TestFakeBodyNeverRejectsRandom draws random bodies in each token alphabet
// and length the rules use and checks that none is taken for a placeholder,
// so the filter costs no recall on generated keys.
func TestFakeBodyNeverRejectsRandom(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	alphabets := []string{tAlnum, tHex, tB64URL, tB64Std, tUpNum, tLowNum, "0123456789"}
	for _, a := range alphabets {
		for _, n := range []int{8, 12, 16, 20, 32, 36, 40, 64, 200} {
			for range 2000 {
				b := make([]byte, n)
				for i := range b {
					b[i] = a[r.IntN(len(a))]
				}
				if a == "0123456789" && n < 12 {
					continue // digit-only bodies this short are not used alone
				}
				if fakeBody(string(b)) {
					t.Fatalf("fakeBody(%q) = true for a random body", b)
				}
			}
		}
	}
}

func TestFakeBody(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body string
		want bool
	}{
		{strings.Repeat("X", 36), true},
		{strings.Repeat("ab", 18), true},
		{"1234567890123456789012345678901234", true},
		{"abcdefghijklmnopqrstuvwxyz", true},
		{"aB3d" + strings.Repeat("x", 8) + "Qz81LmN", true},
		{"N0MEQ7wjJJibaZUPgHV7iB3m03nbqnsGpWLu", false},
		{"aBcDeFgHiJkLmNoPqRsTuVwXyZ", false}, // case alternates: not a run
		{"short", false},
	}
	for _, tc := range cases {
		if got := fakeBody(tc.body); got != tc.want {
			t.Errorf("fakeBody(%q) = %v, want %v", tc.body, got, tc.want)
		}
	}
}
