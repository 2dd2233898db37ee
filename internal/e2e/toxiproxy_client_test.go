package e2e_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rampart-gw/rampart/internal/sim"
)

// clientSide is a gateway in front of a simulator, with a toxiproxy proxy
// between the client and the gateway.
type clientSide struct {
	e     *env
	proxy *toxiproxy.Proxy
	sim   *sim.Server
	// warmID is the request that opened the gateway's connection to the
	// simulator, before the goroutines are counted.
	warmID string
}

func newClientSide(t *testing.T) *clientSide {
	t.Helper()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{Seed: 7}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	c := &clientSide{e: e, proxy: newToxiproxy(t, "gateway", hostPort(e.base)), sim: e.sims["sim"]}
	// The gateway keeps its connection to the simulator open between
	// requests: open it now, so that the goroutine baseline counts it.
	resp, _ := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
	if resp.StatusCode != 200 {
		t.Fatalf("warm-up request: %d", resp.StatusCode)
	}
	c.warmID = resp.Header.Get("X-Request-Id")
	e.auditOf(t, c.warmID)
	c.sim.Reset()
	return c
}

// audited returns the audit records of the requests sent through the
// proxy.
func (c *clientSide) audited(t *testing.T) []auditFull {
	t.Helper()
	var out []auditFull
	for _, r := range c.e.auditAll(t) {
		if r.RequestID != c.warmID {
			out = append(out, r)
		}
	}
	return out
}

// request builds an authenticated chat request to the gateway through the
// proxy.
func (c *clientSide) request(body string) *http.Request {
	req := c.e.newRequest("/v1/chat/completions", body)
	req.URL.Host = c.proxy.Listen
	req.Host = c.proxy.Listen
	return req
}

// wholeBodies counts the requests the simulator received whole.
func (c *clientSide) wholeBodies() int {
	n := 0
	for _, r := range c.sim.Requests() {
		if json.Valid(r.Body) {
			n++
		}
	}
	return n
}

// TestToxiproxyClientFaults puts toxiproxy between the client and the
// gateway. Faults that slow or slice the client's link must not change the
// answer; a client link cut in the middle of a stream (the answer's bytes
// limited, or the connection reset) must cancel the upstream request
// within a second and leave one audit record with status 499 that counts
// the tokens relayed so far. Each case checks the metrics and that no
// goroutine outlives it; like TestToxiproxyFaults it does not run in
// parallel with other tests.
func TestToxiproxyClientFaults(t *testing.T) {
	t.Run("latency both ways", func(t *testing.T) {
		runClientWhole(t, 300*time.Millisecond, 0, func(p *toxiproxy.Proxy) {
			addToxic(t, p, "upstream", "latency", `{"latency":150}`)
			addToxic(t, p, "downstream", "latency", `{"latency":150}`)
		})
	})
	t.Run("request sliced", func(t *testing.T) {
		// An 8 KiB body in slices of 8 to 24 bytes, 100 µs apart.
		runClientWhole(t, 0, 8<<10, func(p *toxiproxy.Proxy) {
			addToxic(t, p, "upstream", "slicer", `{"average_size":16,"size_variation":8,"delay":100}`)
		})
	})
	t.Run("answer sliced", func(t *testing.T) {
		runClientWhole(t, 0, 0, func(p *toxiproxy.Proxy) {
			addToxic(t, p, "downstream", "slicer", `{"average_size":12,"size_variation":8,"delay":100}`)
		})
	})
	t.Run("answer bandwidth", func(t *testing.T) {
		// A client on a slow link: 16 KB/s.
		runClientWhole(t, 0, 0, func(p *toxiproxy.Proxy) {
			addToxic(t, p, "downstream", "bandwidth", `{"rate":16}`)
		})
	})
	t.Run("answer limit_data", func(t *testing.T) {
		// Headers and a few events, then the client's link closes.
		runClientCut(t, "limit_data", `{"bytes":1500}`)
	})
	t.Run("answer reset_peer", func(t *testing.T) {
		// The link is reset 300 ms after the gateway starts answering.
		runClientCut(t, "reset_peer", `{"timeout":300}`)
	})
	t.Run("request reset_peer", runClientRequestReset)
}

// runClientWhole sends a non-streaming and a streaming request through the
// client-side proxy with the toxics add puts on it: both must succeed,
// whole, taking at least minTime, with one audit record each.
func runClientWhole(t *testing.T, minTime time.Duration, pad int, add func(*toxiproxy.Proxy)) {
	c := newClientSide(t)
	e := c.e
	client, tr := newClient()
	client.Timeout = 5 * time.Second
	before := metric(e.metrics(), "rampart_requests_total", `route="r"`, `code="2xx"`)
	base := ownGoroutines()
	add(c.proxy)
	extra := ""
	if pad > 0 {
		extra = `,"user":"` + strings.Repeat("p", pad) + `"`
	}
	for _, stream := range []bool{false, true} {
		begin := time.Now()
		resp, err := client.Do(c.request(chatBody("deepseek-chat", stream, extra)))
		if err != nil {
			t.Fatalf("stream=%v: %v", stream, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("stream=%v: reading the answer: %v", stream, err)
		}
		if took := time.Since(begin); took < minTime || took > 4*time.Second {
			t.Errorf("stream=%v took %v, want between %v and 4s", stream, took, minTime)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("stream=%v: status %d: %.300s", stream, resp.StatusCode, body)
		}
		if stream {
			checkWholeStream(t, body)
		} else {
			checkWholeAnswer(t, body)
		}
		e.checkAudit(t, resp.Header.Get("X-Request-Id"), auditWant{status: 200, tokens: true})
	}
	if n := c.wholeBodies(); n != 2 {
		t.Errorf("the simulator received %d whole requests, want 2", n)
	}
	if pad > 0 {
		for _, r := range c.sim.Requests() {
			if !strings.Contains(string(r.Body), strings.Repeat("p", pad)) {
				t.Errorf("the simulator's request lacks the %d bytes of padding", pad)
			}
		}
	}
	waitFor(t, 3*time.Second, func() bool {
		return metric(e.metrics(), "rampart_requests_total", `route="r"`, `code="2xx"`)-before >= 2
	})
	if got := metric(e.metrics(), "rampart_requests_total", `route="r"`, `code="2xx"`) - before; got != 2 {
		t.Errorf("2xx requests grew by %v, want 2", got)
	}
	c.proxy.Toxics.ResetToxics(t.Context())
	c.proxy.Stop()
	tr.CloseIdleConnections()
	settleOwnGoroutines(t, base)
}

// runClientCut starts a slow stream through the client-side proxy with a
// toxic on the answers that cuts the client's link mid-stream.
func runClientCut(t *testing.T, toxic, attributes string) {
	c := newClientSide(t)
	e := c.e
	client, tr := newClient()
	client.Timeout = 5 * time.Second
	closed := metric(e.metrics(), "rampart_requests_total", `route="r"`, `code="499"`)
	base := ownGoroutines()
	addToxic(t, c.proxy, "downstream", toxic, attributes)

	// 100 events at 50 a second: two seconds, unless cut.
	resp, err := client.Do(c.request(chatBody("deepseek-chat", true, `,"x_sim":{"tps":50,"events":100}`)))
	var got []byte
	if err == nil {
		got, err = io.ReadAll(bufio.NewReader(resp.Body))
		resp.Body.Close()
	}
	cut := time.Now()
	if err == nil && strings.Contains(string(got), "[DONE]") {
		t.Fatalf("the stream arrived whole through %s: %q", toxic, got)
	}
	t.Logf("client: %d bytes, then %v", len(got), err)

	// The upstream request is cancelled within a second of the cut.
	waitFor(t, 3*time.Second, func() bool { return len(c.sim.Requests()) == 1 })
	r := c.sim.Requests()[0]
	select {
	case <-r.Done:
	case <-time.After(2 * time.Second):
		t.Fatal("the simulator's handler still runs 2s after the client's link was cut")
	}
	if !r.Cancelled {
		t.Fatalf("the upstream request was not cancelled (status %d)", r.Status)
	}
	d := r.CancelledAt.Sub(cut)
	if d > time.Second {
		t.Errorf("the upstream request was cancelled %v after the client's link was cut", d)
	}

	// One record, whatever the client saw: 499 with the tokens relayed.
	var rows []auditFull
	waitFor(t, 5*time.Second, func() bool {
		rows = c.audited(t)
		return len(rows) > 0
	})
	if len(rows) != 1 {
		t.Fatalf("%d audit records, want 1: %+v", len(rows), rows)
	}
	rec := e.checkAudit(t, rows[0].RequestID, auditWant{status: 499, code: "client_closed_request", tokens: true})
	t.Logf("upstream cancelled %v after the client saw the cut; %d completion tokens recorded", d, rec.Usage.CompletionTokens)

	waitFor(t, 3*time.Second, func() bool {
		return metric(e.metrics(), "rampart_requests_total", `route="r"`, `code="499"`)-closed >= 1
	})
	if got := metric(e.metrics(), "rampart_requests_total", `route="r"`, `code="499"`) - closed; got != 1 {
		t.Errorf("499 requests grew by %v, want 1", got)
	}
	c.proxy.Toxics.ResetToxics(t.Context())
	c.proxy.Stop()
	tr.CloseIdleConnections()
	settleOwnGoroutines(t, base)
}

// runClientRequestReset resets the client's link as its request starts:
// nothing reaches the gateway, so nothing reaches the upstream or the audit
// trail, and nothing is left behind.
func runClientRequestReset(t *testing.T) {
	c := newClientSide(t)
	e := c.e
	client, tr := newClient()
	client.Timeout = 5 * time.Second
	base := ownGoroutines()
	addToxic(t, c.proxy, "upstream", "reset_peer", `{"timeout":100}`)
	resp, err := client.Do(c.request(chatBody("deepseek-chat", false, `,"user":"`+strings.Repeat("p", 64<<10)+`"`)))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("status %d through a reset link", resp.StatusCode)
	}
	// A request that would have been recorded by now had it arrived.
	resp, err = client.Do(e.newRequest("/v1/chat/completions", chatBody("deepseek-chat", false, "")))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	e.checkAudit(t, id, auditWant{status: 200, tokens: true})
	if rows := c.audited(t); len(rows) != 1 {
		t.Errorf("%d audit records, want only the direct request's: %+v", len(rows), rows)
	}
	if n := len(c.sim.Requests()); n != 1 {
		t.Errorf("the simulator received %d requests, want 1", n)
	}
	c.proxy.Toxics.ResetToxics(t.Context())
	c.proxy.Stop()
	tr.CloseIdleConnections()
	settleOwnGoroutines(t, base)
}
