package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/rampart-gw/rampart/internal/dlp"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/record"
)

// TestDLPFilterRestoresSplitPlaceholders pseudonymizes values as the
// request stage does, then streams an answer that echoes their
// placeholders through the response filter, split at every byte offset,
// in the answer, the reasoning and a tool call's arguments: the client
// gets the original values and never a placeholder.
func TestDLPFilterRestoresSplitPlaceholders(t *testing.T) {
	t.Parallel()
	sc, err := dlp.New(dlp.Config{Request: dlp.Policy{PII: dlp.ActionPseudonymize}})
	if err != nil {
		t.Fatal(err)
	}
	const email, card = "jane.doe@example.com", "4111 1111 1111 1111"
	v := dlp.NewVault()
	req, _, _ := sc.Apply("mail "+email+" card "+card, dlp.Request, v)
	if strings.Contains(req, email) || strings.Contains(req, card) || v.Len() != 2 {
		t.Fatalf("request text %q", req)
	}
	phE, phC := "<EMAIL_1>", "<CREDIT_CARD_1>"
	if !strings.Contains(req, phE) || !strings.Contains(req, phC) {
		t.Fatalf("request text %q lacks the placeholders", req)
	}
	ctx := context.Background()
	for _, ch := range []proxy.Channel{proxy.Answer, proxy.Reasoning, proxy.ToolCall(0), proxy.ToolCall(3)} {
		for _, ph := range []string{phE, phC} {
			resp := `{"note":"` + strings.Repeat("ok ", 100) + `to ` + ph + ` done"}`
			want := strings.Replace(resp, ph, map[string]string{phE: email, phC: card}[ph], 1)
			at := strings.Index(resp, ph)
			for i := at - 1; i <= at+len(ph)+1; i++ {
				for j := i; j <= min(i+3, len(resp)); j++ {
					f := &dlpFilter{s: sc, rec: &record.Record{}, vault: v, maskers: map[[2]int]*dlp.StreamMasker{}}
					var got strings.Builder
					for _, part := range []string{resp[:i], resp[i:j], resp[j:]} {
						out, err := f.Write(ctx, 0, ch, part)
						if err != nil {
							t.Fatal(err)
						}
						got.WriteString(out)
					}
					tail, err := f.Flush(ctx, 0, ch)
					if err != nil {
						t.Fatal(err)
					}
					got.WriteString(tail)
					if got.String() != want {
						t.Fatalf("channel %d, %s split at %d and %d: got %q", ch, ph, i, j, got.String())
					}
				}
			}
		}
	}
	// Without the vault, a placeholder is only text: nothing is restored.
	f := &dlpFilter{s: sc, rec: &record.Record{}, maskers: map[[2]int]*dlp.StreamMasker{}}
	out, _ := f.Write(ctx, 0, proxy.Answer, "to "+phE)
	tail, _ := f.Flush(ctx, 0, proxy.Answer)
	if out+tail != "to "+phE {
		t.Fatalf("without a vault: %q", out+tail)
	}
}
