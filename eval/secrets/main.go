// Command secrets compares Rampart's secret detectors (internal/dlp) with
// gitleaks' default rule set on the same texts: the detect-secrets fixtures,
// a seeded synthetic set of provider credentials and look-alikes, and the
// benign prompts of the guard set. It prints precision and recall per
// provider format, totals, false positives on benign prompts, single-core
// throughput and what each engine adds to a binary.
//
// It is a module of its own so that gitleaks never enters the gateway's
// dependencies:
//
//	cd eval/secrets && go run . [-data ../../../shared/data] [-v]
//
// The main module is used through a replace directive; when its
// requirements have moved since go.sum here was written, run it with
// GOFLAGS=-mod=mod.
package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

func main() {
	data := flag.String("data", "../../../shared/data", "directory of the shared evaluation data")
	perProvider := flag.Int("n", 40, "synthetic positives per provider format")
	perNegative := flag.Int("neg", 60, "synthetic negatives per kind")
	seed := flag.Uint64("seed", 20260601, "seed of the synthetic set")
	reps := flag.Int("reps", 3, "timed passes over the corpus; the fastest counts")
	size := flag.Bool("size", true, "build tiny binaries to measure each engine's size")
	verbose := flag.Bool("v", false, "list misses and false positives on stderr")
	decode := flag.Int("decode", 5, "gitleaks' decoding depth (its command line's default is 5)")
	flag.Parse()
	runtime.GOMAXPROCS(1)
	if err := run(os.Stdout, *data, *seed, *perProvider, *perNegative, *reps, *decode, *size, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "secrets:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, data string, seed uint64, perProvider, perNegative, reps, decode int, size, verbose bool) error {
	fixtures, err := loadFixtures(filepath.Join(data, "secrets", "detect-secrets"))
	if err != nil {
		return err
	}
	benign, err := loadBenign(filepath.Join(data, "guard", "prompts.jsonl"))
	if err != nil {
		return err
	}
	synth := corpus(seed, providers, perProvider, perNegative)
	extra := corpus(seed+1, extraProviders, perProvider, 0)
	rp, err := newRampart()
	if err != nil {
		return err
	}
	gl, err := newGitleaks(decode)
	if err != nil {
		return err
	}
	engines := []engine{rp, gl}
	var results []*result
	for _, e := range engines {
		r := evaluate(e, append(synth, extra...), fixtures, benign, verbose)
		r.mbps, r.bytes = throughput(e, append(synth, extra...), fixtures, benign, reps)
		results = append(results, r)
	}
	nPos, nNeg := 0, 0
	for _, s := range synth {
		if s.positive {
			nPos++
		} else {
			nNeg++
		}
	}
	fmt.Fprintf(w, "Synthetic set: seed %d, %d positives in %d provider formats both engines claim, %d negatives in %d kinds; %d positives in %d further formats.\n\n",
		seed, nPos, len(providers), nNeg, len(negatives), len(extra), len(extraProviders))
	printProviders(w, results, providers, "Positives per provider format both engines claim")
	printNegatives(w, results)
	printTotals(w, results, len(benign))
	printProviders(w, results, extraProviders, "Specific formats (a fixed prefix or marker) that gitleaks has rules for and Rampart had not")
	fmt.Fprint(w, "Recall on these formats:")
	for _, r := range results {
		fmt.Fprintf(w, " %s %d/%d (%.3f);", r.engine, r.extra.tp, r.extra.tp+r.extra.fn, r.extra.recall())
	}
	fmt.Fprint(w, "\n\n")
	if size {
		if err := printSizes(w); err != nil {
			return err
		}
	}
	return nil
}

// counts are the outcomes on one group of samples. fp counts findings that
// overlap no labelled secret; flagged counts negative samples with any.
type counts struct{ n, tp, fn, fp, flagged int }

func (c counts) precision() float64 { return ratio(c.tp, c.tp+c.fp) }
func (c counts) recall() float64    { return ratio(c.tp, c.tp+c.fn) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

type result struct {
	engine                  string
	groups                  map[string]*counts
	synth, extra            counts
	fixExpected, fixCaught  int
	cleanFiles, cleanHits   int
	otherFixtureFindings    int
	benignFlagged, benignFP int
	bytes                   int
	mbps                    float64
}

func evaluate(e engine, synth []sample, fixtures []fixture, benign []string, verbose bool) *result {
	r := &result{engine: e.name(), groups: map[string]*counts{}}
	for _, s := range synth {
		c := r.groups[s.group]
		if c == nil {
			c = &counts{}
			r.groups[s.group] = c
		}
		c.n++
		hit, fp := false, 0
		for _, f := range merge(e.scan(s.text)) {
			if s.positive && f.start < s.end && s.start < f.end {
				hit = true
				continue
			}
			fp++
			if verbose {
				fmt.Fprintf(os.Stderr, "%s FP [%s] %s: %q\n", e.name(), s.group, f.kind, clip(s.text[f.start:f.end]))
			}
		}
		switch {
		case s.positive && hit:
			c.tp++
		case s.positive:
			c.fn++
			if verbose {
				fmt.Fprintf(os.Stderr, "%s MISS [%s] %q\n", e.name(), s.group, clip(s.text))
			}
		case fp > 0:
			c.flagged++
		}
		c.fp += fp
	}
	for _, p := range extraProviders {
		c := r.groups[p.name]
		r.extra.tp += c.tp
		r.extra.fn += c.fn
		r.extra.fp += c.fp
	}
	for name, c := range r.groups {
		if slices.ContainsFunc(extraProviders, func(p provider) bool { return p.name == name }) {
			continue
		}
		r.synth.tp += c.tp
		r.synth.fn += c.fn
		r.synth.fp += c.fp
	}
	for _, f := range fixtures {
		found := merge(e.scan(f.text))
		if f.clean {
			r.cleanFiles++
			r.cleanHits += len(found)
			continue
		}
		for _, x := range f.expected {
			r.fixExpected++
			if slices.ContainsFunc(found, func(s span) bool { return s.start < x[1] && x[0] < s.end }) {
				r.fixCaught++
			} else if verbose {
				fmt.Fprintf(os.Stderr, "%s FIXTURE MISS %s %q\n", e.name(), f.name, clip(f.text[x[0]:x[1]]))
			}
		}
		for _, s := range found {
			if !slices.ContainsFunc(f.expected, func(x [2]int) bool { return s.start < x[1] && x[0] < s.end }) {
				r.otherFixtureFindings++
			}
		}
	}
	for _, t := range benign {
		found := merge(e.scan(t))
		if len(found) > 0 {
			r.benignFlagged++
			r.benignFP += len(found)
			if verbose {
				for _, f := range found {
					fmt.Fprintf(os.Stderr, "%s BENIGN FP %s: %q\n", e.name(), f.kind, clip(t[f.start:f.end]))
				}
			}
		}
	}
	return r
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// throughput scans every text of the corpus once per pass on one core and
// returns the fastest pass in MB/s and the corpus size in bytes.
func throughput(e engine, synth []sample, fixtures []fixture, benign []string, reps int) (float64, int) {
	var texts []string
	for _, s := range synth {
		texts = append(texts, s.text)
	}
	for _, f := range fixtures {
		texts = append(texts, f.text)
	}
	texts = append(texts, benign...)
	n := 0
	for _, t := range texts {
		n += len(t)
	}
	best := time.Duration(1<<63 - 1)
	for range max(reps, 1) {
		start := time.Now()
		for _, t := range texts {
			e.scan(t)
		}
		best = min(best, time.Since(start))
	}
	return float64(n) / best.Seconds() / 1e6, n
}

func printProviders(w io.Writer, rs []*result, ps []provider, title string) {
	fmt.Fprintln(w, title+" (a hit is any finding overlapping the labelled secret; precision counts other findings in the same texts against it):")
	fmt.Fprintln(w)
	fmt.Fprint(w, "| format | n |")
	for _, r := range rs {
		fmt.Fprintf(w, " %s recall | %s precision |", r.engine, r.engine)
	}
	fmt.Fprint(w, "\n|---|---|")
	for range rs {
		fmt.Fprint(w, "---|---|")
	}
	fmt.Fprintln(w)
	for _, p := range ps {
		fmt.Fprintf(w, "| %s | %d |", p.name, rs[0].groups[p.name].n)
		for _, r := range rs {
			c := r.groups[p.name]
			fmt.Fprintf(w, " %s | %s |", num(c.recall(), c.fn > 0), num(c.precision(), c.fp > 0))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

// num prints a ratio, in bold when it falls short of 1.
func num(x float64, short bool) string {
	if short {
		return fmt.Sprintf("**%.3f**", x)
	}
	return fmt.Sprintf("%.3f", x)
}

func printNegatives(w io.Writer, rs []*result) {
	fmt.Fprintln(w, "Negatives (texts without a secret) with any finding:")
	fmt.Fprintln(w)
	fmt.Fprint(w, "| kind | n |")
	for _, r := range rs {
		fmt.Fprintf(w, " %s |", r.engine)
	}
	fmt.Fprint(w, "\n|---|---|")
	for range rs {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, n := range negatives {
		fmt.Fprintf(w, "| %s | %d |", n.name, rs[0].groups[n.name].n)
		for _, r := range rs {
			fmt.Fprintf(w, " %d |", r.groups[n.name].flagged)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func printTotals(w io.Writer, rs []*result, nBenign int) {
	fmt.Fprintln(w, "Totals:")
	fmt.Fprintln(w)
	fmt.Fprint(w, "| measure |")
	for _, r := range rs {
		fmt.Fprintf(w, " %s |", r.engine)
	}
	fmt.Fprint(w, "\n|---|")
	for range rs {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	row := func(name string, f func(r *result) string) {
		fmt.Fprintf(w, "| %s |", name)
		for _, r := range rs {
			fmt.Fprintf(w, " %s |", f(r))
		}
		fmt.Fprintln(w)
	}
	row("synthetic: TP / FN / FP", func(r *result) string { return fmt.Sprintf("%d / %d / %d", r.synth.tp, r.synth.fn, r.synth.fp) })
	row("synthetic: precision", func(r *result) string { return fmt.Sprintf("%.3f", r.synth.precision()) })
	row("synthetic: recall", func(r *result) string { return fmt.Sprintf("%.3f", r.synth.recall()) })
	row("synthetic: F1", func(r *result) string { return fmt.Sprintf("**%.3f**", f1(r.synth.precision(), r.synth.recall())) })
	row("detect-secrets fixtures: expected findings caught", func(r *result) string { return fmt.Sprintf("%d / %d", r.fixCaught, r.fixExpected) })
	row("detect-secrets fixtures: findings in files without secrets", func(r *result) string {
		return fmt.Sprintf("%d (%d files)", r.cleanHits, r.cleanFiles)
	})
	row("detect-secrets fixtures: other findings in files with secrets", func(r *result) string { return fmt.Sprint(r.otherFixtureFindings) })
	row(fmt.Sprintf("benign prompts with a finding (of %d)", nBenign), func(r *result) string { return fmt.Sprint(r.benignFlagged) })
	row("false positives per 1,000 benign prompts", func(r *result) string {
		return fmt.Sprintf("%.1f", 1000*float64(r.benignFP)/float64(max(nBenign, 1)))
	})
	row(fmt.Sprintf("throughput, whole corpus (%.2f MB), one core", float64(rs[0].bytes)/1e6), func(r *result) string { return fmt.Sprintf("%.1f MB/s", r.mbps) })
	fmt.Fprintln(w)
}

// printSizes builds the tiny mains under size/ and prints their sizes.
func printSizes(w io.Writer) error {
	dir, err := os.MkdirTemp("", "secrets-size")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sizes := map[string]int64{}
	for _, name := range []string{"none", "rampart", "gitleaks", "both"} {
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", out, "./size/"+name)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build size/%s: %w", name, err)
		}
		st, err := os.Stat(out)
		if err != nil {
			return err
		}
		sizes[name] = st.Size()
	}
	fmt.Fprintln(w, "Binary size (`go build` of a main that links only the engine; `ls -l`):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| main | bytes | added to an empty main |")
	fmt.Fprintln(w, "|---|---|---|")
	names := slices.SortedFunc(maps.Keys(sizes), func(a, b string) int { return cmp.Compare(sizes[a], sizes[b]) })
	for _, n := range names {
		fmt.Fprintf(w, "| %s | %d (%.1f MB) | %+.1f MB |\n", n, sizes[n], float64(sizes[n])/1e6, float64(sizes[n]-sizes["none"])/1e6)
	}
	fmt.Fprintf(w, "\ngitleaks added to a binary that already links Rampart's detectors (both - rampart): %+.1f MB (%s, %s/%s)\n",
		float64(sizes["both"]-sizes["rampart"])/1e6, strings.TrimSpace(runtime.Version()), runtime.GOOS, runtime.GOARCH)
	return nil
}
