package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/sim"
)

// TestConcurrentStreamsWithLargeBodies guards against golang/go#40747: a
// reverse proxy that streams the request body while it streams the
// response can truncate responses. Many streaming requests with large
// bodies run at once, and every stream must arrive whole.
//
// It does not run in parallel: two hundred streams under the race detector
// take both cores, and the timing bounds of other tests would suffer.
func TestConcurrentStreamsWithLargeBodies(t *testing.T) {
	const (
		streams = 200
		events  = 12
	)
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{MaxRecorded: -1}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	pad := strings.Repeat("lorem ipsum ", 64<<10/12)
	body := chatBody("deepseek-chat", true, fmt.Sprintf(`,"metadata":{"pad":%q},"x_sim":{"events":%d}`, pad, events))
	if len(body) < 64<<10 {
		t.Fatalf("body of %d bytes", len(body))
	}
	client, tr := newClient()
	tr.MaxIdleConnsPerHost = streams
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// One stream alone gives the expected event count.
	want, err := streamEvents(ctx, e, client, body)
	if err != nil {
		t.Fatal(err)
	}
	if want < events {
		t.Fatalf("a single stream has %d events, want at least %d", want, events)
	}
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := streamEvents(ctx, e, client, body)
			if err == nil && n != want {
				err = fmt.Errorf("%d events, want %d", n, want)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed == 0 {
			t.Error(err)
		}
		failed++
	}
	if failed > 0 {
		t.Errorf("%d of %d streams failed", failed, streams)
	}
}

// streamEvents sends one streaming request and counts its data events,
// [DONE] included; a stream that does not end with [DONE] is an error.
func streamEvents(ctx context.Context, e *env, client *http.Client, body string) (int, error) {
	resp, err := client.Do(e.newRequest("/v1/chat/completions", body).WithContext(ctx))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("status %d: %s", resp.StatusCode, tail(b, 300))
	}
	if !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
		return 0, fmt.Errorf("stream without [DONE]: %q", tail(b, 200))
	}
	return len(sseEvents(b)), nil
}
