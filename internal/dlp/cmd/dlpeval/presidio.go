package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"

	"github.com/go-json-experiment/json"

	"github.com/rampart-gw/rampart/internal/dlp"
)

// supported are the Presidio entity types Rampart detects. DATE_TIME is
// detected only as a date of birth, so it is reported apart from the rest.
var supported = []string{dlp.TypeCreditCard, dlp.TypeEmail, dlp.TypeIBAN, dlp.TypeIP, dlp.TypePhone, dlp.TypeSSN}

type span struct {
	Type  string `json:"entity_type"`
	Value string `json:"entity_value"`
	Start int    `json:"start_position"`
	End   int    `json:"end_position"`
}

type record struct {
	Text  string `json:"full_text"`
	Spans []span `json:"spans"`
}

type counts struct{ tp, fp, fn int }

func (c counts) precision() float64 { return ratio(c.tp, c.tp+c.fp) }
func (c counts) recall() float64    { return ratio(c.tp, c.tp+c.fn) }
func (c counts) f2() float64 {
	p, r := c.precision(), c.recall()
	if p+r == 0 {
		return 0
	}
	return 5 * p * r / (4*p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// piiResult holds per-type counts and the findings on unsupported spans.
type piiResult struct {
	records, spans int
	byType         map[string]*counts
	unsupported    map[string]int // gold spans of types Rampart does not detect
	secrets        int            // SECRET_* findings, all false positives here
}

// evalPresidio scores findings against gold spans: a finding is a true
// positive when it overlaps a gold span of the same type, each gold span
// counting once; other findings of a supported type are false positives,
// including those on spans of unsupported types (a phone number found in a
// driver's licence number is wrong).
func evalPresidio(path string) (*piiResult, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read presidio set: %w", err)
	}
	var recs []record
	if err := json.Unmarshal(raw, &recs); err != nil {
		return nil, fmt.Errorf("decode presidio set: %w", err)
	}
	sc, err := dlp.New(dlp.Config{})
	if err != nil {
		return nil, err
	}
	res := &piiResult{records: len(recs), byType: map[string]*counts{}, unsupported: map[string]int{}}
	for _, t := range append(slices.Clone(supported), dlp.TypeDateTime) {
		res.byType[t] = &counts{}
	}
	for _, r := range recs {
		res.add(r, sc.Scan(r.Text))
	}
	return res, nil
}

func (res *piiResult) add(r record, fs []dlp.Finding) {
	res.spans += len(r.Spans)
	matched := make([]bool, len(r.Spans))
	for _, f := range fs {
		if dlp.IsSecretType(f.Type) {
			res.secrets++
			continue
		}
		c := res.byType[f.Type]
		if c == nil {
			continue
		}
		hit := false
		for i, g := range r.Spans {
			if g.Type == f.Type && f.Start < g.End && g.Start < f.End {
				if !matched[i] {
					matched[i] = true
					hit = true
				}
			}
		}
		if hit {
			c.tp++
		} else {
			c.fp++
		}
	}
	for i, g := range r.Spans {
		if c := res.byType[g.Type]; c != nil {
			if !matched[i] {
				c.fn++
			}
		} else {
			res.unsupported[g.Type]++
		}
	}
}

func (res *piiResult) print(w io.Writer) {
	fmt.Fprintf(w, "Presidio synthetic set: %d records, %d spans\n", res.records, res.spans)
	fmt.Fprintf(w, "| type | gold | TP | FP | FN | precision | recall | F2 |\n|---|---|---|---|---|---|---|---|\n")
	var all counts
	for _, t := range supported {
		c := res.byType[t]
		all.tp, all.fp, all.fn = all.tp+c.tp, all.fp+c.fp, all.fn+c.fn
		row(w, t, *c)
	}
	row(w, "overall (supported types)", all)
	d := res.byType[dlp.TypeDateTime]
	row(w, "DATE_TIME (birth dates only)", *d)
	all.tp, all.fp, all.fn = all.tp+d.tp, all.fp+d.fp, all.fn+d.fn
	row(w, "overall incl. DATE_TIME", all)
	keys := make([]string, 0, len(res.unsupported))
	for k := range res.unsupported {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "\nUnsupported types (not detected; excluded above):")
	for _, k := range keys {
		fmt.Fprintf(w, " %s=%d", k, res.unsupported[k])
	}
	fmt.Fprintf(w, "\nSecret findings on the PII set (false positives): %d\n\n", res.secrets)
}

func row(w io.Writer, name string, c counts) {
	fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %.3f | %.3f | %.3f |\n", name, c.tp+c.fn, c.tp, c.fp, c.fn, c.precision(), c.recall(), c.f2())
}
