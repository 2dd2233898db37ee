package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/guard"
	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/record"
)

// checkGuardUnavailable asserts the answer docs/security.md promises for a
// guard that errors: 503 guard_unavailable, a server error, never a pass.
func checkGuardUnavailable(t *testing.T, err error) {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T), want an *apierr.Error", err, err)
	}
	if ae.Status != http.StatusServiceUnavailable || ae.Code != "guard_unavailable" || ae.Type != apierr.TypeServer || ae.Message == "" {
		t.Errorf("status %d code %q type %q message %q, want 503 guard_unavailable %s",
			ae.Status, ae.Code, ae.Type, ae.Message, apierr.TypeServer)
	}
}

// TestGuardStageErrorIsUnavailable checks that when the input guards
// return an error (their only error: the request's context ended while an
// external guard was being called) the guard stage refuses the request
// with 503 guard_unavailable rather than letting it pass.
func TestGuardStageErrorIsUnavailable(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"action":"pass"}`))
	}))
	t.Cleanup(hook.Close)
	g, err := guard.New(guard.Config{Enabled: true, External: []guard.ExternalConfig{
		{Name: "hook", Type: "webhook", URL: hook.URL},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	call := func(ctx context.Context) (*proxy.Call, error) {
		c := &proxy.Call{
			Req: &openai.Request{Endpoint: openai.Embeddings, Messages: []openai.Message{{Role: "user", Content: "Say hello"}}},
			Rec: &record.Record{},
		}
		return c, guardStage{g}.Check(ctx, c)
	}
	// Control: with a live context the same stage passes the request.
	if _, err := call(context.Background()); err != nil {
		t.Fatalf("live context: %v", err)
	}
	if hits.Load() != 1 {
		t.Fatalf("the webhook got %d calls, want 1", hits.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = call(ctx)
	checkGuardUnavailable(t, err)
}

// TestGuardFilterErrorIsUnavailable checks the same for the output guards:
// an error from an output checker ends the answer with 503
// guard_unavailable, even when no verdict blocked.
func TestGuardFilterErrorIsUnavailable(t *testing.T) {
	t.Parallel()
	f := &guardFilter{rec: &record.Record{}}
	if err := f.verdicts(nil, nil); err != nil {
		t.Fatalf("no verdict and no error: %v", err)
	}
	checkGuardUnavailable(t, f.verdicts(nil, context.Canceled))
}
