package bench

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

const (
	// phaseGrace is how long requests still in flight at the end of a
	// measured window may take to finish before they are cancelled.
	phaseGrace = 10 * time.Second
	// maxRequestsPerWorker bounds a worker's loop in count as well as in
	// time.
	maxRequestsPerWorker = 10_000_000
	// maxReadsPerStream bounds the reads of one streamed response.
	maxReadsPerStream = 1_000_000
	// streamBufSize is each worker's read buffer for streamed responses.
	streamBufSize = 16 << 10
)

// newClient returns an HTTP/1.1 client with keep-alive connections for
// concurrency goroutines per host, no compression and no proxy from the
// environment: every byte goes straight over loopback.
func newClient(concurrency int) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: -1}).DialContext,
		MaxIdleConns:        4 * concurrency,
		MaxIdleConnsPerHost: concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     8 << 10,
		ReadBufferSize:      16 << 10,
	}
	return &http.Client{Transport: tr}
}

// phaseSpec describes one load phase.
type phaseSpec struct {
	name string
	url  string
	// auth is the Authorization header value, nil for a direct phase.
	auth   []string
	body   []byte
	stream bool
	// pids are the processes whose CPU time is measured over the window.
	pids []int
}

// jsonContentType is shared by every request; the transport only reads it.
var jsonContentType = []string{"application/json"}

// phaseResult is what one phase measured inside its window.
type phaseResult struct {
	name      string
	window    time.Duration
	requests  uint64
	errors    uint64
	truncated uint64
	events    uint64
	latency   *histogram
	ttft      *histogram
	gap       *histogram
	// cpu is the CPU time of each of phaseSpec.pids over the window.
	cpu []time.Duration
	// firstError and firstTruncated describe one failed request and one
	// truncated stream, for the log.
	firstError, firstTruncated string
}

// worker is one client goroutine's state. Nothing in it is shared, so the
// hot loop takes no lock.
type worker struct {
	client         *http.Client
	spec           *phaseSpec
	winStart, stop time.Time
	reader         bytes.Reader
	buf            []byte
	res            phaseResult
}

// inWindow reports whether t falls in the measured window.
func (w *worker) inWindow(t time.Time) bool {
	return !t.Before(w.winStart) && t.Before(w.stop)
}

// run sends requests one after the other until the window ends.
func (w *worker) run(ctx context.Context) {
	for range maxRequestsPerWorker {
		if ctx.Err() != nil || !time.Now().Before(w.stop) {
			return
		}
		w.once(ctx)
	}
}

// once sends one request and reads the whole response.
func (w *worker) once(ctx context.Context) {
	w.reader.Reset(w.spec.body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.spec.url, &w.reader)
	if err != nil {
		w.fail(time.Now(), err.Error())
		return
	}
	req.Header["Content-Type"] = jsonContentType
	if w.spec.auth != nil {
		req.Header["Authorization"] = w.spec.auth
	}
	start := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		w.fail(time.Now(), err.Error())
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		w.fail(time.Now(), resp.Status+": "+string(snippet))
		return
	}
	if w.spec.stream {
		w.readStream(resp.Body, start)
		return
	}
	_, err = io.Copy(io.Discard, resp.Body)
	end := time.Now()
	if err != nil {
		w.fail(end, err.Error())
		return
	}
	if w.inWindow(end) {
		w.res.requests++
		w.res.latency.Record(end.Sub(start))
	}
}

// fail counts a failed request that ended at t.
func (w *worker) fail(t time.Time, msg string) {
	if !w.inWindow(t) {
		return
	}
	w.res.errors++
	if w.res.firstError == "" {
		w.res.firstError = msg
	}
}

// readStream reads a streamed response, timing the first event and the
// gaps between events. Events that arrive in the same read arrived
// together, so all but the first of them record a zero gap.
func (w *worker) readStream(body io.Reader, start time.Time) {
	var sc sseCounter
	var last time.Time
	seen := 0
	var err error
	for range maxReadsPerStream {
		var n int
		n, err = body.Read(w.buf)
		if k := sc.Feed(w.buf[:n]); k > 0 {
			now := time.Now()
			if w.inWindow(now) {
				w.recordEvents(k, seen == 0, now.Sub(start), now.Sub(last))
			}
			seen += k
			last = now
		}
		if err != nil {
			break
		}
	}
	end := time.Now()
	if !w.inWindow(end) {
		return
	}
	w.res.requests++
	if err != io.EOF || !sc.complete() {
		w.res.truncated++
		if w.res.firstTruncated == "" {
			w.res.firstTruncated = fmt.Sprintf("after %d events: read error %v, [DONE] %v, error event %v", seen, err, sc.done, sc.failed)
		}
	}
}

// recordEvents records k events that arrived in one read.
func (w *worker) recordEvents(k int, first bool, sinceStart, sinceLast time.Duration) {
	w.res.events += uint64(k)
	if first {
		w.res.ttft.Record(sinceStart)
	} else {
		w.res.gap.Record(sinceLast)
	}
	for range k - 1 {
		w.res.gap.Record(0)
	}
}

// runPhase runs spec with concurrency workers: warm-up, then a measured
// window of the given duration, during which it also measures the CPU time
// of spec.pids. Workers stop starting requests when the window closes.
func runPhase(ctx context.Context, client *http.Client, spec *phaseSpec, concurrency int, warmup, duration time.Duration) (phaseResult, error) {
	winStart := time.Now().Add(warmup)
	stop := winStart.Add(duration)
	ctx, cancel := context.WithDeadline(ctx, stop.Add(phaseGrace))
	defer cancel()
	workers := make([]*worker, concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{client: client, spec: spec, winStart: winStart, stop: stop}
		w.res = phaseResult{latency: newHistogram(), ttft: newHistogram(), gap: newHistogram()}
		if spec.stream {
			w.buf = make([]byte, streamBufSize)
		}
		workers[i] = w
		wg.Go(func() { w.run(ctx) })
	}
	cpu, err := cpuOverWindow(ctx, spec.pids, winStart, stop)
	wg.Wait()
	if err != nil {
		return phaseResult{}, err
	}
	res := mergeWorkers(workers)
	res.name, res.window, res.cpu = spec.name, duration, cpu
	return res, nil
}

// add adds the results of another run of the same phase to r: counts,
// distributions, CPU time and the measured window.
func (r *phaseResult) add(o phaseResult) {
	r.window += o.window
	r.requests += o.requests
	r.errors += o.errors
	r.truncated += o.truncated
	r.events += o.events
	r.latency.Merge(o.latency)
	r.ttft.Merge(o.ttft)
	r.gap.Merge(o.gap)
	for i := range min(len(r.cpu), len(o.cpu)) {
		r.cpu[i] += o.cpu[i]
	}
	r.firstError = cmp.Or(r.firstError, o.firstError)
	r.firstTruncated = cmp.Or(r.firstTruncated, o.firstTruncated)
}

// mergeWorkers adds up the workers' results.
func mergeWorkers(workers []*worker) phaseResult {
	res := phaseResult{latency: newHistogram(), ttft: newHistogram(), gap: newHistogram()}
	for _, w := range workers {
		res.add(w.res) // a worker's result has no window or CPU time of its own
	}
	return res
}

// cpuOverWindow waits for the window [from, to) and returns the CPU time
// each process in pids used in it.
func cpuOverWindow(ctx context.Context, pids []int, from, to time.Time) ([]time.Duration, error) {
	if err := sleepUntil(ctx, from); err != nil {
		return nil, err
	}
	before, err := readCPUs(pids)
	if err != nil {
		return nil, err
	}
	if err := sleepUntil(ctx, to); err != nil {
		return nil, err
	}
	after, err := readCPUs(pids)
	if err != nil {
		return nil, err
	}
	for i := range after {
		after[i] -= before[i]
	}
	return after, nil
}

// readCPUs returns the CPU time used so far by each process in pids.
func readCPUs(pids []int) ([]time.Duration, error) {
	out := make([]time.Duration, len(pids))
	for i, pid := range pids {
		d, err := processCPU(pid)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// sleepUntil waits until t or until ctx is done.
func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
