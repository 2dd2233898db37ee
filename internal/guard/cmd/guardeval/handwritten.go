package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/rampart-gw/rampart/internal/guard"
	"github.com/rampart-gw/rampart/internal/guard/dataset"
)

// handwritten holds the hand-written evaluation sets: everyday prompts
// and short attacks, never trained or tuned on.
type handwritten struct {
	everyday, short []dataset.Sample
}

func loadHandwritten(everyday, short string) (*handwritten, error) {
	var h handwritten
	var err error
	if h.everyday, err = dataset.Load(everyday); err != nil {
		return nil, err
	}
	if h.short, err = dataset.Load(short); err != nil {
		return nil, err
	}
	return &h, nil
}

// report prints the share of everyday prompts blocked and of short
// attacks caught, as a separate line from the held-out data.
func (h *handwritten) report(w io.Writer, g *guard.Guards) {
	ctx := context.Background()
	var blocked, inj, harm int
	for _, s := range h.everyday {
		vs := g.CheckText(ctx, "user", s.Text)
		blocked += b2i(guard.Blocked(vs))
		inj += b2i(has(vs, guard.GuardInjection))
		harm += b2i(has(vs, guard.GuardHarmful))
	}
	var caught, any int
	for _, s := range h.short {
		vs := g.CheckText(ctx, "user", s.Text)
		caught += b2i(has(vs, guard.GuardInjection))
		any += b2i(guard.Blocked(vs))
	}
	fmt.Fprintf(w, "\nHand-written sets (evaluation only), role user, default configuration\n")
	fmt.Fprintf(w, "%-70s %5d %8.1f%% blocked (%d; injection %d, harmful %d)\n", "everyday prompts", len(h.everyday), pct(blocked, len(h.everyday)), blocked, inj, harm)
	fmt.Fprintf(w, "%-70s %5d %8.1f%% caught by the injection guard (%d), %.1f%% blocked by any guard (%d)\n", "short attacks (under 12 words)", len(h.short), pct(caught, len(h.short)), caught, pct(any, len(h.short)), any)
}

// listErrors prints the everyday prompts blocked and the short attacks
// the injection guard missed.
func (h *handwritten) listErrors(w io.Writer, g *guard.Guards) {
	ctx := context.Background()
	for _, set := range []struct {
		s      []dataset.Sample
		attack bool
	}{{h.everyday, false}, {h.short, true}} {
		for _, s := range set.s {
			vs := g.CheckText(ctx, "user", s.Text)
			if set.attack == has(vs, guard.GuardInjection) && (set.attack || !guard.Blocked(vs)) {
				continue
			}
			var fired []string
			for _, v := range vs {
				fired = append(fired, fmt.Sprintf("%s/%s %.3f", v.Guard, v.Rule, v.Score))
			}
			fmt.Fprintf(w, "%s %v\n    %s\n", s.ID, fired, strings.Join(strings.Fields(s.Text), " "))
		}
	}
}

// windowSweep shows the trade-off of the evidence window: the classifier
// threshold rises for texts shorter than the window (0: no rise). Rules
// fire at any length. Classifier scores are those of the canonical text.
func windowSweep(w io.Writer, g *guard.Guards, c *dataset.Corpus, p dataset.Part, h *handwritten) {
	type sample struct {
		kind          string
		inScope       bool
		ruleInj       bool
		ruleHarm      bool
		attack, harm  float64
		words         int
		source, label string
	}
	ctx := context.Background()
	score := func(kind string, s dataset.Sample) sample {
		vs := g.CheckText(ctx, "user", s.Text)
		out := sample{kind: kind, inScope: dataset.InScope(s), source: s.Source, label: s.Label}
		for _, v := range vs {
			if v.Rule == "classifier" {
				continue
			}
			out.ruleInj = out.ruleInj || v.Guard == guard.GuardInjection
			out.ruleHarm = out.ruleHarm || v.Guard == guard.GuardHarmful
		}
		out.attack, out.harm, out.words = g.ClassifierScores(s.Text)
		return out
	}
	var all []sample
	for _, s := range dataset.Filter(c.Prompts, p) {
		all = append(all, score("data", s))
	}
	for _, s := range h.everyday {
		all = append(all, score("everyday", s))
	}
	for _, s := range h.short {
		all = append(all, score("short", s))
	}
	fmt.Fprintf(w, "\nEvidence window sweep (%s part and hand-written sets; default thresholds; rules at any length)\n", partName(p))
	fmt.Fprintf(w, "%6s %10s %10s %10s %10s %10s %12s %12s\n", "window", "attacks", "benign FP", "harmful", "harm FP", "chat", "hw everyday", "hw short")
	for _, win := range []int{0, 6, 8, 10, 12, 14, 16} {
		var att, attN, fp, fpN, hm, hmN, hfp, ch, chN, ev, evN, sh, shN int
		for _, s := range all {
			inj := s.ruleInj || s.attack >= guard.EvidenceThreshold(guard.DefaultInjectionThreshold, s.words, win)
			harm := s.ruleHarm || s.words >= 3 && s.harm >= guard.EvidenceThreshold(guard.DefaultHarmfulThreshold, s.words, win)
			switch {
			case s.kind == "everyday":
				evN, ev = evN+1, ev+b2i(inj || harm)
			case s.kind == "short":
				shN, sh = shN+1, sh+b2i(inj)
			case s.label == dataset.Jailbreak || s.label == dataset.Injection:
				attN, att = attN+1, att+b2i(inj)
			case s.label == dataset.Harmful && s.inScope:
				hmN, hm = hmN+1, hm+b2i(harm)
			case s.label == dataset.Harmful:
			case s.source == dataset.SourceEveryday:
				chN, ch = chN+1, ch+b2i(inj || harm)
			default:
				fpN, fp, hfp = fpN+1, fp+b2i(inj), hfp+b2i(harm)
			}
		}
		fmt.Fprintf(w, "%6d %9.1f%% %9.1f%% %9.1f%% %9.1f%% %9.1f%% %11.1f%% %11.1f%%\n", win, pct(att, attN), pct(fp, fpN), pct(hm, hmN), pct(hfp, fpN), pct(ch, chN), pct(ev, evN), pct(sh, shN))
	}
}
