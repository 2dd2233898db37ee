package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/go-json-experiment/json"

	"github.com/rampart-gw/rampart/internal/dlp"
)

// benignResult counts benign prompts with at least one finding.
type benignResult struct {
	prompts, flagged int
	byType           map[string]int
	examples         []string
}

// evalBenign scans the prompts labelled benign; any finding on them counts
// as a false positive, since the set holds no personal data by design.
func evalBenign(path string) (*benignResult, error) { return evalLabel(path, "benign") }

// evalLabel scans the lines with the given label, or all lines when label
// is empty, and counts those with any finding.
func evalLabel(path, label string) (*benignResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open prompts: %w", err)
	}
	defer f.Close()
	sc, err := dlp.New(dlp.Config{})
	if err != nil {
		return nil, err
	}
	res := &benignResult{byType: map[string]int{}}
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 1<<20), 16<<20)
	for lines.Scan() {
		var p struct {
			ID    string `json:"id"`
			Text  string `json:"text"`
			Label string `json:"label"`
		}
		if err := json.Unmarshal(lines.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("decode prompt: %w", err)
		}
		if label != "" && p.Label != label {
			continue
		}
		res.prompts++
		fs := sc.Scan(p.Text)
		if len(fs) == 0 {
			continue
		}
		res.flagged++
		for _, x := range fs {
			res.byType[x.Type]++
			if len(res.examples) < 20 {
				res.examples = append(res.examples, fmt.Sprintf("%s %s %q", p.ID, x.Type, p.Text[x.ByteStart:x.ByteEnd]))
			}
		}
	}
	return res, lines.Err()
}

func (r *benignResult) print(w io.Writer, what string) {
	fmt.Fprintf(w, "%s with any finding: %d/%d (%.1f%%)\n", what, r.flagged, r.prompts, 100*float64(r.flagged)/float64(max(1, r.prompts)))
	keys := make([]string, 0, len(r.byType))
	for k := range r.byType {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s: %d\n", k, r.byType[k])
	}
	for _, e := range r.examples {
		fmt.Fprintf(w, "  e.g. %s\n", e)
	}
}
