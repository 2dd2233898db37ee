package dlp

import "github.com/go-json-experiment/json/jsontext"

// ScanInput is one line read by `rampart scan`.
type ScanInput struct {
	// ID is echoed verbatim; any JSON value.
	ID   jsontext.Value `json:"id,omitzero"`
	Text string         `json:"text"`
	// Role is user (default), system, tool or assistant; assistant text is
	// judged with the response policy, everything else as a request.
	Role string `json:"role,omitempty"`
}

// ScanOutput is one line written by `rampart scan`, in the order of input.
type ScanOutput struct {
	ID jsontext.Value `json:"id,omitzero"`
	// Action summarises the verdicts: block, mask (a value would be
	// replaced), flag (only logged) or pass.
	Action string `json:"action"`
	// Guards holds the guard verdicts; the DLP stage leaves it empty for
	// the guard stage to fill.
	Guards   []GuardVerdict `json:"guards"`
	Findings []FindingJSON  `json:"findings"`
}

// GuardVerdict is one guard's verdict in a ScanOutput.
type GuardVerdict struct {
	ID     string  `json:"id"`
	Action string  `json:"action"`
	Score  float64 `json:"score"`
	Rule   string  `json:"rule,omitempty"`
}

// FindingJSON is the contract's shape of a finding: code point offsets and
// no value.
type FindingJSON struct {
	Type  string  `json:"type"`
	Start int     `json:"start"`
	End   int     `json:"end"`
	Score float64 `json:"score"`
}

// Scan summaries in a ScanOutput's Action.
const (
	VerdictBlock = "block"
	VerdictMask  = "mask"
	VerdictFlag  = "flag"
	VerdictPass  = "pass"
)

// ScanLine judges one input line; the scan verb is a loop of decode,
// ScanLine, encode.
func ScanLine(s *Scanner, in ScanInput) ScanOutput {
	dir := Request
	if in.Role == "assistant" {
		dir = Response
	}
	out := ScanOutput{ID: in.ID, Action: VerdictPass, Guards: []GuardVerdict{}, Findings: []FindingJSON{}}
	for _, f := range s.Scan(in.Text) {
		a := s.Action(f.Type, dir)
		if a == ActionAllow {
			continue
		}
		out.Findings = append(out.Findings, ToJSON(f))
		out.Action = strongest(out.Action, verdictOf(a))
	}
	return out
}

// ToJSON converts a finding to the contract's shape.
func ToJSON(f Finding) FindingJSON {
	return FindingJSON{Type: f.Type, Start: f.Start, End: f.End, Score: f.Score}
}

func verdictOf(a Action) string {
	switch a {
	case ActionBlock:
		return VerdictBlock
	case ActionLog:
		return VerdictFlag
	}
	return VerdictMask
}

var verdictRank = map[string]int{VerdictPass: 0, VerdictFlag: 1, VerdictMask: 2, VerdictBlock: 3}

func strongest(a, b string) string {
	if verdictRank[b] > verdictRank[a] {
		return b
	}
	return a
}
