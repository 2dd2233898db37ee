// Package dlp finds personal data and secrets in text and applies the
// configured action to each finding: allow, log, block, redact, mask, hash or
// pseudonymize. It works on whole texts (Scanner.Apply) and on streams of
// fragments with a bounded hold-back (StreamMasker).
package dlp

import (
	"cmp"
	"slices"
	"unicode/utf8"
)

// Entity types that follow Presidio's names, so that evaluations and users'
// scripts can compare findings across tools.
const (
	TypeEmail      = "EMAIL_ADDRESS"
	TypePhone      = "PHONE_NUMBER"
	TypeCreditCard = "CREDIT_CARD"
	TypeIBAN       = "IBAN_CODE"
	TypeSSN        = "US_SSN"
	TypeIP         = "IP_ADDRESS"
	TypeDateTime   = "DATE_TIME"
)

// Secret types. Every secret type starts with "SECRET_" so that a policy can
// address all of them at once.
const (
	TypePrivateKey       = "SECRET_PRIVATE_KEY"
	TypeJWT              = "SECRET_JWT"
	TypeAWSAccessKey     = "SECRET_AWS_ACCESS_KEY"
	TypeAWSSecretKey     = "SECRET_AWS_SECRET_KEY"
	TypeGCPAPIKey        = "SECRET_GCP_API_KEY"
	TypeGCPOAuthSecret   = "SECRET_GCP_OAUTH_SECRET"
	TypeAzureStorageKey  = "SECRET_AZURE_STORAGE_KEY"
	TypeAzureADSecret    = "SECRET_AZURE_AD_CLIENT_SECRET"
	TypeGitHubToken      = "SECRET_GITHUB_TOKEN"
	TypeGitLabToken      = "SECRET_GITLAB_TOKEN"
	TypeSlackToken       = "SECRET_SLACK_TOKEN"
	TypeSlackWebhook     = "SECRET_SLACK_WEBHOOK"
	TypeStripeKey        = "SECRET_STRIPE_KEY"
	TypeOpenAIKey        = "SECRET_OPENAI_API_KEY"
	TypeDeepSeekKey      = "SECRET_DEEPSEEK_API_KEY"
	TypeAnthropicKey     = "SECRET_ANTHROPIC_API_KEY"
	TypeHuggingFaceToken = "SECRET_HUGGINGFACE_TOKEN"
	TypeGenericAPIKey    = "SECRET_API_KEY"
	TypeURLPassword      = "SECRET_URL_PASSWORD"
	TypePassword         = "SECRET_PASSWORD"
	TypeKeywordSecret    = "SECRET_TOKEN"
	TypeHighEntropy      = "SECRET_HIGH_ENTROPY"
)

// Finding is one detected value. Start and End count Unicode code points, as
// Presidio's offsets do; ByteStart and ByteEnd index the Go string. The value
// itself is never stored, so a Finding is safe to log and record.
type Finding struct {
	Type      string
	Start     int
	End       int
	ByteStart int
	ByteEnd   int
	Score     float64
	Detector  string
}

// IsSecret reports whether the finding's type is a credential rather than
// personal data.
func (f Finding) IsSecret() bool { return IsSecretType(f.Type) }

// IsSecretType reports whether an entity type names a credential.
func IsSecretType(t string) bool { return len(t) > 7 && t[:7] == "SECRET_" }

// resolve sorts findings by position, drops overlaps in favour of the higher
// score (the longer span on a tie) and fills in code point offsets.
func resolve(s string, fs []Finding) []Finding {
	if len(fs) == 0 {
		return fs
	}
	slices.SortFunc(fs, func(a, b Finding) int {
		if c := cmp.Compare(a.ByteStart, b.ByteStart); c != 0 {
			return c
		}
		return cmp.Compare(b.ByteEnd, a.ByteEnd)
	})
	kept := fs[:1]
	for _, f := range fs[1:] {
		last := &kept[len(kept)-1]
		if f.ByteStart >= last.ByteEnd {
			kept = append(kept, f)
			continue
		}
		if f.Score > last.Score || (f.Score == last.Score && f.ByteEnd-f.ByteStart > last.ByteEnd-last.ByteStart) {
			*last = f
		}
	}
	// A replacement may now overlap its predecessor; one more pass settles it.
	out := kept[:1]
	for _, f := range kept[1:] {
		if f.ByteStart >= out[len(out)-1].ByteEnd {
			out = append(out, f)
		}
	}
	fillRuneOffsets(s, out)
	return out
}

// fillRuneOffsets converts byte offsets of sorted, disjoint findings to code
// point offsets in one pass over the text.
func fillRuneOffsets(s string, fs []Finding) {
	pos, runes := 0, 0
	for i := range fs {
		runes += utf8.RuneCountInString(s[pos:fs[i].ByteStart])
		fs[i].Start = runes
		runes += utf8.RuneCountInString(s[fs[i].ByteStart:fs[i].ByteEnd])
		fs[i].End = runes
		pos = fs[i].ByteEnd
	}
}
