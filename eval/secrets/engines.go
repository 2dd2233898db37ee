package main

import (
	"cmp"
	"slices"
	"strings"

	"github.com/rs/zerolog"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"

	"github.com/rampart-gw/rampart/internal/dlp"
)

// span is one reported secret: byte offsets into the scanned text and the
// engine's name for it (an entity type or a rule ID).
type span struct {
	start, end int
	kind       string
}

// engine is a secret detector under test.
type engine interface {
	name() string
	scan(text string) []span
}

// piiTypes are Rampart's personal-data types, disabled here so that both
// engines do the same job: find credentials.
var piiTypes = []string{dlp.TypeEmail, dlp.TypePhone, dlp.TypeCreditCard, dlp.TypeIBAN, dlp.TypeSSN, dlp.TypeIP, dlp.TypeDateTime}

type rampart struct{ sc *dlp.Scanner }

func newRampart() (*rampart, error) {
	sc, err := dlp.New(dlp.Config{Disabled: piiTypes})
	if err != nil {
		return nil, err
	}
	return &rampart{sc: sc}, nil
}

func (r *rampart) name() string { return "Rampart" }

func (r *rampart) scan(text string) []span {
	var out []span
	for _, f := range r.sc.Scan(text) {
		if f.IsSecret() {
			out = append(out, span{f.ByteStart, f.ByteEnd, f.Type})
		}
	}
	return out
}

// gitleaks runs gitleaks' default rule set as its command line does: the
// default configuration and, by default, up to five rounds of decoding
// (base64, hex, percent-encoding) before matching.
type gitleaks struct{ d *detect.Detector }

func newGitleaks(decode int) (*gitleaks, error) {
	logging.Logger = zerolog.Nop()
	d, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		return nil, err
	}
	d.MaxDecodeDepth = decode
	return &gitleaks{d: d}, nil
}

func (g *gitleaks) name() string { return "gitleaks" }

// scan maps gitleaks' findings, which carry a line number and the secret
// rather than byte offsets, back to offsets: the first occurrence of the
// secret from the start of its line.
func (g *gitleaks) scan(text string) []span {
	var out []span
	for _, f := range g.d.DetectString(text) {
		sec := f.Secret
		if sec == "" {
			sec = f.Match
		}
		from := lineOffset(text, f.StartLine)
		i := strings.Index(text[from:], sec)
		if i < 0 {
			from = 0
			if i = strings.Index(text, sec); i < 0 {
				continue // a secret found only after decoding
			}
		}
		out = append(out, span{from + i, from + i + len(sec), f.RuleID})
	}
	return out
}

// lineOffset returns the byte offset of the 0-based line n of text.
func lineOffset(text string, n int) int {
	off := 0
	for ; n > 0; n-- {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return 0
		}
		off += i + 1
	}
	return off
}

// merge sorts spans and joins overlapping ones, so that two rules reporting
// one value count once.
func merge(ss []span) []span {
	if len(ss) < 2 {
		return ss
	}
	slices.SortFunc(ss, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	out := ss[:1]
	for _, s := range ss[1:] {
		last := &out[len(out)-1]
		if s.start < last.end {
			if s.end > last.end {
				last.end = s.end
			}
			continue
		}
		out = append(out, s)
	}
	return out
}
