package dlp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Pseudonymizes reports whether some request action is pseudonymize, so
// that a request needs a vault.
func (s *Scanner) Pseudonymizes() bool {
	p := s.cfg.Request
	if p.PII == ActionPseudonymize || p.Secrets == ActionPseudonymize {
		return true
	}
	for _, a := range p.Types {
		if a == ActionPseudonymize {
			return true
		}
	}
	return false
}

// TokenInput is the action for input sent as token IDs: block or allow.
func (s *Scanner) TokenInput() Action { return s.cfg.TokenInput }

// Action returns the action configured for an entity type in a direction.
// In responses, pseudonymize acts as mask: the client has no vault to
// restore a placeholder from.
func (s *Scanner) Action(typ string, dir Direction) Action {
	p := s.cfg.Request
	if dir == Response {
		p = s.cfg.Response
	}
	a, ok := p.Types[typ]
	if !ok {
		a = p.PII
		if IsSecretType(typ) {
			a = p.Secrets
		}
	}
	if a == ActionPseudonymize && dir == Response {
		return ActionMask
	}
	return a
}

// Apply scans text and applies the configured actions. It returns the text
// to forward, the findings that were not allowed, and the first finding
// whose action is block, if any. A blocked caller must refuse the request;
// out then has the blocked value redacted, so that forwarding it by mistake
// leaks nothing. In the response direction, placeholders from v are
// restored in the text around the findings. With a nil vault,
// pseudonymize acts as redact.
func (s *Scanner) Apply(text string, dir Direction, v *Vault) (out string, findings []Finding, blocked *Finding) {
	return s.apply(text, s.Scan(text), dir, v)
}

func (s *Scanner) apply(text string, fs []Finding, dir Direction, v *Vault) (string, []Finding, *Finding) {
	kept := fs[:0]
	var b strings.Builder
	var blocked *Finding
	pos := 0
	for _, f := range fs {
		a := s.Action(f.Type, dir)
		if a == ActionAllow {
			continue
		}
		kept = append(kept, f)
		if a == ActionLog {
			continue
		}
		if a == ActionBlock && blocked == nil {
			fc := f
			blocked = &fc
		}
		if b.Cap() == 0 {
			b.Grow(len(text) + 16)
		}
		b.WriteString(s.restore(text[pos:f.ByteStart], dir, v))
		b.WriteString(s.replacement(f.Type, text[f.ByteStart:f.ByteEnd], a, v))
		pos = f.ByteEnd
	}
	if b.Cap() == 0 {
		return s.restore(text, dir, v), kept, blocked
	}
	b.WriteString(s.restore(text[pos:], dir, v))
	return b.String(), kept, blocked
}

func (s *Scanner) restore(text string, dir Direction, v *Vault) string {
	if dir != Response || v == nil {
		return text
	}
	return v.Restore(text)
}

// replacement renders a value under an action.
func (s *Scanner) replacement(typ, value string, a Action, v *Vault) string {
	switch a {
	case ActionMask:
		return maskValue(typ, value)
	case ActionHash:
		m := hmac.New(sha256.New, s.hashKey)
		m.Write([]byte(typ))
		m.Write([]byte{0})
		m.Write([]byte(value))
		return "[" + Label(typ) + ":" + hex.EncodeToString(m.Sum(nil)[:6]) + "]"
	case ActionPseudonymize:
		if v != nil {
			return v.pseudonym(typ, value)
		}
	}
	return "[" + Label(typ) + "]"
}

var labels = map[string]string{
	TypeEmail: "EMAIL", TypePhone: "PHONE", TypeCreditCard: "CREDIT_CARD", TypeIBAN: "IBAN", TypeSSN: "SSN",
	TypeIP: "IP", TypeDateTime: "DATE",
}

// Label is the short name used in redactions and placeholders: EMAIL for
// EMAIL_ADDRESS, SSN for US_SSN; other types keep their name.
func Label(typ string) string {
	if l, ok := labels[typ]; ok {
		return l
	}
	return typ
}
