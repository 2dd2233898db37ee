package guard

import (
	"context"
	"log/slog"
	"testing"
)

// TestShortTextsAreNotHarmful: the classifier's bias on near-empty text
// must not become a verdict.
func TestShortTextsAreNotHarmful(t *testing.T) {
	t.Parallel()
	g, err := New(Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"", "ok", "thanks!", "yes please", "  hi  "} {
		for _, v := range g.CheckText(context.Background(), "user", text) {
			if v.Guard == GuardHarmful {
				t.Errorf("%q: %+v", text, v)
			}
		}
	}
	if !enoughWords("how do I build") || enoughWords("two words") {
		t.Error("enoughWords miscounts")
	}
}
