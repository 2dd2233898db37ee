package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunPhase(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(fakeSimHandler())
	t.Cleanup(srv.Close)
	url := srv.URL + "/v1/chat/completions"
	tests := []struct {
		desc          string
		body          []byte
		stream        bool
		wantErrors    bool
		wantTruncated bool
		wantEvents    bool
	}{
		{"plain requests", chatBody(512, false, ""), false, false, false, false},
		{"complete streams", chatBody(512, true, `{"events":20}`), true, false, false, true},
		{"truncated streams are counted", chatBody(512, true, `{"events":20,"truncate_after":5}`), true, false, true, true},
		{"failed requests are counted", chatBody(512, false, `{"status":500}`), false, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			client := newClient(2)
			t.Cleanup(client.CloseIdleConnections)
			spec := &phaseSpec{name: tt.desc, url: url, body: tt.body, stream: tt.stream, pids: []int{os.Getpid()}}
			res, err := runPhase(context.Background(), client, spec, 2, 50*time.Millisecond, 300*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantErrors {
				if res.errors == 0 || res.requests != 0 || res.firstError == "" {
					t.Errorf("errors = %d, requests = %d, first %q; want only errors", res.errors, res.requests, res.firstError)
				}
				return
			}
			if res.requests == 0 || res.errors != 0 {
				t.Fatalf("requests = %d, errors = %d (%s); want requests and no errors", res.requests, res.errors, res.firstError)
			}
			if got := res.truncated == res.requests; got != tt.wantTruncated || !tt.wantTruncated && res.truncated != 0 {
				t.Errorf("truncated = %d of %d streams, want all: %v", res.truncated, res.requests, tt.wantTruncated)
			}
			if (res.events > 0) != tt.wantEvents || tt.wantEvents && res.ttft.Count() == 0 {
				t.Errorf("events = %d, first events timed = %d; want events: %v", res.events, res.ttft.Count(), tt.wantEvents)
			}
			if !tt.stream && res.latency.Count() != res.requests {
				t.Errorf("latency samples = %d, want one per request (%d)", res.latency.Count(), res.requests)
			}
			if len(res.cpu) != 1 || res.cpu[0] < 0 {
				t.Errorf("cpu = %v, want one non-negative figure", res.cpu)
			}
		})
	}
}

func TestRunPhaseStopsOnCancel(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(fakeSimHandler())
	t.Cleanup(srv.Close)
	client := newClient(2)
	t.Cleanup(client.CloseIdleConnections)
	spec := &phaseSpec{url: srv.URL + "/v1/chat/completions", body: chatBody(100, true, `{"events":100000,"tps":10}`), stream: true}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := runPhase(ctx, client, spec, 2, 10*time.Millisecond, time.Hour)
	if err == nil {
		t.Error("runPhase() returned no error after its context was cancelled")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("runPhase() took %v after cancellation, want prompt return", d)
	}
}

func TestOpenStreams(t *testing.T) {
	t.Parallel()
	var active, total atomic.Int64
	sim := fakeSimHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		total.Add(1)
		active.Add(1)
		defer active.Add(-1)
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	client := newClient(4)
	t.Cleanup(client.CloseIdleConnections)
	const n = 40
	body := chatBody(256, true, `{"tps":1,"events":100000}`)
	res, err := openStreams(context.Background(), client, srv.URL+"/v1/chat/completions", nil, body, n, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if res.opened != n || res.failed != 0 {
		t.Errorf("opened %d, failed %d; want %d opened", res.opened, res.failed, n)
	}
	// The warm-up streams came first and were not counted.
	if got := total.Load(); got != n+warmStreams {
		t.Errorf("the server saw %d streams; want %d measured and %d warm-up", got, n, warmStreams)
	}
	if res.rssBeforeKB <= 0 || res.rssDuringKB <= 0 {
		t.Errorf("rss before %d KiB, during %d KiB; want both measured", res.rssBeforeKB, res.rssDuringKB)
	}
	// Every stream must have been cancelled: the server's handlers return.
	deadline := time.Now().Add(5 * time.Second)
	for active.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := active.Load(); got != 0 {
		t.Errorf("%d streams still open on the server after openStreams returned", got)
	}
}

func TestOpenStreamsCountsFailures(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(fakeSimHandler())
	t.Cleanup(srv.Close)
	client := newClient(4)
	t.Cleanup(client.CloseIdleConnections)
	body := chatBody(256, true, `{"status":503}`)
	res, err := openStreams(context.Background(), client, srv.URL+"/v1/chat/completions", nil, body, 10, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if res.opened != 0 || res.failed != 10 || res.kbPerStream() != 0 {
		t.Errorf("opened %d, failed %d, %v KiB/stream; want 10 failed", res.opened, res.failed, res.kbPerStream())
	}
}

// benchmarkWorker measures the load generator's own cost per request
// against a loopback fake simulator.
func benchmarkWorker(b *testing.B, body []byte, stream bool) {
	srv := httptest.NewServer(fakeSimHandler())
	b.Cleanup(srv.Close)
	client := newClient(1)
	b.Cleanup(client.CloseIdleConnections)
	spec := &phaseSpec{url: srv.URL + "/v1/chat/completions", body: body, stream: stream}
	now := time.Now()
	w := &worker{client: client, spec: spec, winStart: now, stop: now.Add(time.Hour), buf: make([]byte, streamBufSize)}
	w.res = phaseResult{latency: newHistogram(), ttft: newHistogram(), gap: newHistogram()}
	b.ReportAllocs()
	for b.Loop() {
		w.once(context.Background())
	}
	if w.res.errors > 0 || w.res.truncated > 0 {
		b.Fatalf("errors %d, truncated %d: %s", w.res.errors, w.res.truncated, w.res.firstError)
	}
}

func BenchmarkWorkerPlain(b *testing.B) {
	benchmarkWorker(b, chatBody(DefaultBodyBytes, false, ""), false)
}

func BenchmarkWorkerStream(b *testing.B) {
	benchmarkWorker(b, chatBody(DefaultBodyBytes, true, `{"events":200}`), true)
}

// TestPhaseResultAdd: pooling two runs of a phase adds their counts, CPU
// time and windows, and their distributions, so a quantile is taken over
// both runs' requests.
func TestPhaseResultAdd(t *testing.T) {
	run := func(d time.Duration, n int, cpu time.Duration, firstError string) phaseResult {
		r := phaseResult{latency: newHistogram(), ttft: newHistogram(), gap: newHistogram(),
			window: time.Second, requests: uint64(n), events: uint64(2 * n), errors: 1,
			cpu: []time.Duration{cpu, 2 * cpu}, firstError: firstError}
		for range n {
			r.latency.Record(d)
			r.ttft.Record(d / 2)
		}
		return r
	}
	a := run(100*time.Microsecond, 300, time.Millisecond, "")
	a.add(run(400*time.Microsecond, 100, 3*time.Millisecond, "boom"))
	if a.requests != 400 || a.events != 800 || a.errors != 2 || a.window != 2*time.Second {
		t.Fatalf("counts: %+v", a)
	}
	if a.cpu[0] != 4*time.Millisecond || a.cpu[1] != 8*time.Millisecond {
		t.Fatalf("cpu: %v", a.cpu)
	}
	if a.firstError != "boom" {
		t.Fatalf("firstError %q", a.firstError)
	}
	if a.latency.Count() != 400 || a.ttft.Count() != 400 {
		t.Fatalf("histogram counts %d %d", a.latency.Count(), a.ttft.Count())
	}
	// Three quarters of the requests took 100 µs: the median is theirs, the
	// 90th percentile the slower run's.
	if p50 := a.latency.Quantile(0.5); p50 < 90*time.Microsecond || p50 > 110*time.Microsecond {
		t.Fatalf("p50 %v, want about 100µs", p50)
	}
	if p90 := a.latency.Quantile(0.9); p90 < 360*time.Microsecond || p90 > 440*time.Microsecond {
		t.Fatalf("p90 %v, want about 400µs", p90)
	}
}
