package tokenizer

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"sort"
	"testing"
)

// TestEstimationError measures, on real prompts (the guard evaluation set
// under ../shared/data, when present), how far the estimates the gateway
// could use are from the exact DeepSeek-V3 count, which is what DeepSeek
// bills as prompt tokens (plus a few chat-template tokens):
//   - Heuristic, the estimator for models without a vocabulary;
//   - the built-in simulator's count (a token per four bytes of the JSON
//     message content), which is what the simulator reports as usage, so
//     settlement against the simulator differs from the admission estimate
//     by this much.
//
// It prints the numbers with -v and fails if Heuristic undercounts by more
// than a tenth overall (an undercount lets a request exceed its budget).
func TestEstimationError(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../../shared/data/guard/prompts.jsonl")
	if err != nil {
		t.Skipf("evaluation data not found: %v", err)
	}
	defer f.Close()
	b := deepseek(t)
	type errs struct{ rel []float64 }
	var heur, simu errs
	var exactSum, heurSum, simSum int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n := 0
	for sc.Scan() && n < 1000 {
		var row struct {
			Text string `json:"text"`
		}
		if json.Unmarshal(sc.Bytes(), &row) != nil || row.Text == "" {
			continue
		}
		n++
		exact := b.Count(row.Text)
		h := Heuristic{}.Count(row.Text)
		q, _ := json.Marshal(row.Text)
		s := max(1, len(q)/4)
		exactSum, heurSum, simSum = exactSum+exact, heurSum+h, simSum+s
		heur.rel = append(heur.rel, float64(h-exact)/float64(max(exact, 1)))
		simu.rel = append(simu.rel, float64(s-exact)/float64(max(exact, 1)))
	}
	if n == 0 {
		t.Skip("no prompts read")
	}
	report := func(name string, e errs, sum int) {
		rel := append([]float64(nil), e.rel...)
		sort.Float64s(rel)
		var abs float64
		for _, r := range rel {
			abs += math.Abs(r)
		}
		pct := func(p float64) float64 { return 100 * rel[int(p*float64(len(rel)-1))] }
		t.Logf("%-10s total %+.1f%%, mean |error| %.1f%%, per prompt p5 %+.1f%% p50 %+.1f%% p95 %+.1f%%",
			name, 100*float64(sum-exactSum)/float64(exactSum), 100*abs/float64(len(rel)), pct(0.05), pct(0.5), pct(0.95))
	}
	t.Logf("%d prompts, %d exact DeepSeek-V3 tokens", n, exactSum)
	report("heuristic", heur, heurSum)
	report("simulator", simu, simSum)
	if float64(heurSum) < 0.9*float64(exactSum) {
		t.Errorf("Heuristic counts %d tokens for %d exact: more than 10%% low", heurSum, exactSum)
	}
}
