package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// openStreamsTimeout bounds the wait for every stream's first event.
	openStreamsTimeout = 60 * time.Second
	// openingAtOnce caps streams being opened at the same time, so that a
	// burst of thousands of connects does not overflow the listen backlog.
	openingAtOnce = 128
	// openStreamBufSize is each open stream's read buffer; the streams
	// are slow, so a small one is enough.
	openStreamBufSize = 1 << 10
)

// openStreamsResult is what the memory-per-open-stream test measured.
type openStreamsResult struct {
	// opened counts streams that received their first event.
	opened int
	failed int
	// rssBeforeKB and rssDuringKB are the gateway's resident set size
	// before the streams were opened and while all of them were open.
	rssBeforeKB, rssDuringKB int64
}

// kbPerStream returns the growth of the gateway's resident set per open
// stream, in KiB.
func (r openStreamsResult) kbPerStream() float64 {
	if r.opened == 0 {
		return 0
	}
	return float64(r.rssDuringKB-r.rssBeforeKB) / float64(r.opened)
}

// warmStreams streams are opened and closed before the resident set is
// first read: the pages of code that serve a stream are faulted in once,
// not once per stream, and would otherwise be counted as the streams' own
// memory. The memory they leave for reuse is under 1% of 2,000 streams'.
const warmStreams = 16

// openStreams opens n streams at once through url, each against a slow
// simulated answer, waits until every one has its first event, reads the
// resident set size of process pid, and then cancels them all.
func openStreams(ctx context.Context, client *http.Client, url string, auth []string, body []byte, n, pid int) (openStreamsResult, error) {
	var res openStreamsResult
	if _, _, err := holdStreams(ctx, client, url, auth, body, warmStreams, func() error { return nil }); err != nil {
		return res, err
	}
	var err error
	if res.rssBeforeKB, err = processRSS(pid); err != nil {
		return res, err
	}
	res.opened, res.failed, err = holdStreams(ctx, client, url, auth, body, n, func() error {
		var err error
		res.rssDuringKB, err = processRSS(pid)
		return err
	})
	return res, err
}

// holdStreams opens n streams, waits until each has its first event or
// failed (or openStreamsTimeout passed), calls during while they are all
// open, and then closes them.
func holdStreams(ctx context.Context, client *http.Client, url string, auth []string, body []byte, n int, during func() error) (opened, failed int, err error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, openStreamsTimeout)
	defer cancel()
	var nOpened, nFailed atomic.Int64
	settled := make(chan struct{})
	var settleOnce sync.Once
	settle := func() {
		if nOpened.Load()+nFailed.Load() == int64(n) {
			settleOnce.Do(func() { close(settled) })
		}
	}
	slots := make(chan struct{}, openingAtOnce)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			slots <- struct{}{}
			resp, err := startStream(ctx, client, url, auth, body)
			<-slots
			if err != nil {
				nFailed.Add(1)
				settle()
				return
			}
			defer resp.Body.Close()
			holdStream(resp.Body, func() { nOpened.Add(1); settle() }, func() { nFailed.Add(1); settle() })
		})
	}
	select {
	case <-settled:
	case <-ctx.Done():
	}
	err = during()
	opened, failed = int(nOpened.Load()), int(nFailed.Load())
	cancel()
	wg.Wait()
	if err != nil {
		return opened, failed, err
	}
	// Running out of time is a result (fewer streams opened), but the
	// caller's cancellation is not.
	return opened, failed, context.Cause(parent)
}

// startStream sends one streaming request and returns the response when it
// is 200.
func startStream(ctx context.Context, client *http.Client, url string, auth []string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header["Content-Type"] = jsonContentType
	if auth != nil {
		req.Header["Authorization"] = auth
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("open stream: %s", resp.Status)
	}
	return resp, nil
}

// holdStream reads body until it ends or fails, calling onFirst once the
// first event arrived, or onFail if the stream ended before that.
func holdStream(body io.Reader, onFirst, onFail func()) {
	var sc sseCounter
	buf := make([]byte, openStreamBufSize)
	first := false
	for range maxReadsPerStream {
		n, err := body.Read(buf)
		if !first && sc.Feed(buf[:n]) > 0 {
			first = true
			onFirst()
		}
		if err != nil {
			break
		}
	}
	if !first {
		onFail()
	}
}
