package e2e_test

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"
)

// TestToxiproxyBandwidth slows the simulator's answers to 8 KB/s: the
// stream arrives whole, and the relay still hands events on as they come,
// so the client sees the first event long before the last and the events
// spread over the transfer instead of arriving in one burst at the end.
// The audit record, the metrics and the goroutines are checked as in
// TestToxiproxyFaults.
//
// The link cuts the simulator's chunks at arbitrary 800-byte boundaries,
// and Go's chunked reader then returns only once the relay's 2 KiB read
// buffer is full: on such a slow link the events come in groups of about
// 2 KiB (a quarter second here), which bounds the pacing checked below.
func TestToxiproxyBandwidth(t *testing.T) {
	p := newFaultProxy(t)
	e := start(t, []upstreamSpec{{Name: "sim", URL: p.url()}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	client, tr := newClient()
	client.Timeout = 10 * time.Second
	before := metric(e.metrics(), "rampart_requests_total", `route="r"`, `code="2xx"`)
	base := ownGoroutines()
	// The simulator sends its events as fast as it can; the link lets 800
	// bytes through every 100 ms.
	addToxic(t, p.Proxy, "downstream", "bandwidth", `{"rate":8}`)
	knobs := `,"x_sim":{"tps":100000,"events":48}`

	// A whole answer is slow too, but whole.
	resp, err := client.Do(e.newRequest("/v1/chat/completions",
		chatBody("deepseek-chat", false, `,"x_sim":{"tps":100000,"events":12}`)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v: %.300s", resp.StatusCode, err, body)
	}
	checkWholeAnswer(t, body)
	e.checkAudit(t, resp.Header.Get("X-Request-Id"), auditWant{status: 200, tokens: true})

	begin := time.Now()
	resp, err = client.Do(e.newRequest("/v1/chat/completions", chatBody("deepseek-chat", true, knobs)))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var all strings.Builder
	var at []time.Duration // arrival of each data event, from the start
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		all.WriteString(line)
		if strings.HasPrefix(line, "data: ") {
			at = append(at, time.Since(begin))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
	}
	resp.Body.Close()
	checkWholeStream(t, []byte(all.String()))
	first, last := at[0], at[len(at)-1]
	groups := 1
	for i := 1; i < len(at); i++ {
		if at[i]-at[i-1] > 50*time.Millisecond {
			groups++
		}
	}
	t.Logf("%d events in %d groups; first after %v, last after %v", len(at), groups, first, last)
	// About 14 KB at 8 KB/s.
	if transfer := last - first; transfer < time.Second {
		t.Fatalf("the events arrived within %v of each other, want the pacing of the link (at least 1s)", transfer)
	}
	if first > last/4 {
		t.Errorf("first event after %v, last after %v: the first should come long before the last", first, last)
	}
	// Paced, not one burst: at least five groups (about seven of 2 KiB;
	// a relay that left the events in the server's 4 KiB write buffer
	// would make three or four), no more than a third of the events in any
	// 100 ms window, and no gap much longer than 2 KiB takes on the link
	// (250 ms).
	if groups < 5 {
		t.Errorf("the events came in %d groups, want the link's pacing (at least 5)", groups)
	}
	for i := range at {
		j := i
		for j < len(at) && at[j]-at[i] < 100*time.Millisecond {
			j++
		}
		if j-i > len(at)/3 {
			t.Errorf("%d of %d events arrived within 100ms of %v: a burst", j-i, len(at), at[i])
			break
		}
		if i > 0 && at[i]-at[i-1] > 450*time.Millisecond {
			t.Errorf("gap of %v before event %d", at[i]-at[i-1], i)
		}
	}
	e.checkAudit(t, resp.Header.Get("X-Request-Id"), auditWant{status: 200, tokens: true})

	waitFor(t, 3*time.Second, func() bool {
		return metric(e.metrics(), "rampart_requests_total", `route="r"`, `code="2xx"`)-before >= 2
	})
	if got := metric(e.metrics(), "rampart_requests_total", `route="r"`, `code="2xx"`) - before; got != 2 {
		t.Errorf("2xx requests grew by %v, want 2", got)
	}
	p.Toxics.ResetToxics(t.Context())
	p.Stop()
	tr.CloseIdleConnections()
	settleOwnGoroutines(t, base)
}
