package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/sim"
)

// TestFraming sends ambiguous HTTP/1.1 framing over raw TCP. Go's net/http
// parses the framing before any handler runs, so several answers come from
// it rather than from the gateway; what matters is that no ambiguity turns
// into a second upstream request or into a body the gateway did not check.
func TestFraming(t *testing.T) {
	t.Parallel()
	e := startWith(t, startOpts{Listen: "body_idle_timeout: 300ms"},
		[]upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	addr := hostPort(e.base)
	body := chatBody("deepseek-chat", false, "")
	head := "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testKey + "\r\nContent-Type: application/json\r\n"
	chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	tests := []struct {
		desc    string
		raw     string
		status  int
		code    string // "": the answer comes from net/http, in plain text
		upReqs  int    // requests the upstream must see
		upBody  string // the body it must see, when upReqs is 1
		timeout bool   // the connection is closed without an answer
	}{
		{
			// RFC 9112 6.1: Transfer-Encoding overrides Content-Length. Go
			// drops the Content-Length and reads chunked; the empty chunked
			// body fails JSON decoding and "G" is a garbage next request,
			// not part of anything forwarded.
			desc:   "CL and TE, smuggling attempt",
			raw:    head + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
			status: 400, code: "invalid_json",
		},
		{
			// Go cannot be told to reject CL with TE (the handler never sees
			// the Content-Length). The body is read as chunked, and the
			// upstream gets exactly that body, framed by the gateway.
			desc:   "CL and TE, chunked wins",
			raw:    head + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
			status: 200, upReqs: 1, upBody: body,
		},
		{
			desc:   "two different Content-Length headers",
			raw:    head + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}x",
			status: 400,
		},
		{
			// net/http answers 501 to any transfer coding but chunked.
			desc:   "unsupported Transfer-Encoding",
			raw:    head + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked,
			status: 501,
		},
		{
			desc:   "Transfer-Encoding twice",
			raw:    head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
			status: 501,
		},
		{
			desc:   "bad chunk size",
			raw:    head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body + "\r\n0\r\n\r\n",
			status: 400, code: "bad_body",
		},
		{
			desc:   "chunk lines ending with bare LF",
			raw:    head + "Transfer-Encoding: chunked\r\n\r\n" + strings.ReplaceAll(chunked, "\r\n", "\n"),
			status: 400, code: "bad_body",
		},
		{
			desc:   "bare CR in a header value",
			raw:    head + "X-A: a\rb\r\nContent-Length: 2\r\n\r\n{}",
			status: 400,
		},
		{
			desc:   "bare CR in a header name",
			raw:    head + "X-A\r: b\r\nContent-Length: 2\r\n\r\n{}",
			status: 400,
		},
		{
			desc:   "space before the colon",
			raw:    head + "Content-Length : 2\r\n\r\n{}",
			status: 400,
		},
		{
			desc:   "negative Content-Length",
			raw:    head + "Content-Length: -1\r\n\r\n{}",
			status: 400,
		},
		{
			desc:   "signed Content-Length",
			raw:    head + "Content-Length: +2\r\n\r\n{}",
			status: 400,
		},
		{
			// RFC 9112 2.2 lets a recipient accept a bare LF as a line end,
			// as Go does; the gateway forwards the one request it parsed.
			desc:   "header lines ending with bare LF",
			raw:    strings.ReplaceAll(head, "\r\n", "\n") + fmt.Sprintf("Content-Length: %d\n\n", len(body)) + body,
			status: 200, upReqs: 1, upBody: body,
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			// Sequential: each case counts the simulator's requests.
			s := e.sims["sim"]
			s.Reset()
			resp, b, err := rawRoundTrip(t, addr, tc.raw, 5*time.Second)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if tc.code != "" {
				checkAPIError(t, resp, b, tc.status, tc.code)
			} else if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			reqs := s.Requests()
			if len(reqs) != tc.upReqs {
				t.Fatalf("the upstream saw %d requests, want %d", len(reqs), tc.upReqs)
			}
			if tc.upReqs == 1 {
				if got := string(reqs[0].Body); got != tc.upBody {
					t.Errorf("upstream body %q, want %q", got, tc.upBody)
				}
				if te := reqs[0].Header.Get("Transfer-Encoding"); te != "" {
					t.Errorf("upstream Transfer-Encoding %q", te)
				}
			}
		})
	}
}

// TestHeaderSpoofing checks that hop-by-hop headers, forwarding headers
// from an untrusted peer and the client's credential never reach the
// upstream, and that the provider key does.
func TestHeaderSpoofing(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{
		{Name: "plain", Sim: &sim.Options{}},
		{Name: "keyed", Sim: &sim.Options{APIKey: "sk-provider"}, APIKey: "sk-provider"},
	}, []routeSpec{
		simRoute("r-plain", "m-plain", "plain", ""),
		simRoute("r-keyed", "m-keyed", "keyed", ""),
	}, "")
	spoof := "Connection: X-Foo, Keep-Alive\r\nX-Foo: bar\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n" +
		"Upgrade: websocket\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Connection: keep-alive\r\n" +
		"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\n" +
		"X-Real-IP: 203.0.113.7\r\nX_Forwarded_For: 203.0.113.7\r\nForwarded: for=203.0.113.7\r\n" +
		"True-Client-IP: 203.0.113.7\r\nX-Sim-Status: 500\r\n"
	// Only headers the gateway computes may arrive.
	allowed := map[string]bool{"Accept": true, "Content-Type": true, "User-Agent": true, "X-Request-Id": true,
		"Authorization": true, "Content-Length": true}
	tests := []struct {
		desc     string
		upstream string
		model    string
		auth     string // Authorization the upstream must see; "" for none
	}{
		{"no provider key", "plain", "m-plain", ""},
		{"provider key", "keyed", "m-keyed", "Bearer sk-provider"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			body := chatBody(tc.model, false, "")
			raw := "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testKey +
				"\r\nContent-Type: application/json\r\n" + spoof + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
			resp, b, err := rawRoundTrip(t, hostPort(e.base), raw, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			reqs := e.sims[tc.upstream].Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d upstream requests", len(reqs))
			}
			h := reqs[0].Header
			for name := range h {
				if !allowed[name] {
					t.Errorf("upstream received %s: %q", name, h[name])
				}
			}
			if got := h.Values("Authorization"); tc.auth == "" && len(got) != 0 || tc.auth != "" && (len(got) != 1 || got[0] != tc.auth) {
				t.Errorf("upstream Authorization %q, want %q", got, tc.auth)
			}
			if strings.Contains(fmt.Sprint(h), testKey) {
				t.Error("the client's key reached the upstream")
			}
		})
	}
}

// TestSlowHeaders checks that a client sending its headers one byte a
// second is disconnected at read_header_timeout. It counts goroutines, so
// it does not run in parallel.
func TestSlowHeaders(t *testing.T) {
	e := startWith(t, startOpts{Listen: "read_header_timeout: 1s"},
		[]upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	base := runtimeGoroutines()
	c, err := net.Dial("tcp", hostPort(e.base))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opened := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, c)
		closed <- time.Since(opened)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	req := "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
	var took time.Duration
loop:
	for i := 0; i < len(req); i++ {
		if _, err := c.Write([]byte{req[i]}); err != nil {
			break
		}
		select {
		case took = <-closed:
			break loop
		case <-tick.C:
		}
	}
	if took == 0 {
		took = <-closed
	}
	if took < 900*time.Millisecond || took > 2*time.Second {
		t.Errorf("closed after %v, want about read_header_timeout (1s)", took)
	}
	c.Close()
	settleGoroutines(t, base, 2)
}

// TestInFlightCap checks that requests over max_in_flight get a fast 503
// with Retry-After instead of waiting.
func TestInFlightCap(t *testing.T) {
	t.Parallel()
	e := startWith(t, startOpts{Listen: "max_in_flight: 2"},
		[]upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	client, tr := newClient()
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hctx, release := context.WithCancel(ctx)
	defer release()
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			req := e.newRequest("/v1/chat/completions", chatBody("deepseek-chat", true, `,"x_sim":{"hang":true}`))
			resp, err := client.Do(req.WithContext(hctx))
			if err == nil {
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	if err := e.sims["sim"].WaitRequests(ctx, 2); err != nil {
		t.Fatal("the two hanging requests did not arrive")
	}
	begin := time.Now()
	resp, err := client.Do(e.newRequest("/v1/chat/completions", chatBody("deepseek-chat", true, "")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if d := time.Since(begin); d > 100*time.Millisecond {
		t.Errorf("the refusal took %v, want under 100ms", d)
	}
	checkAPIError(t, resp, b, 503, "overloaded")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	release()
	for range 2 {
		if err := <-errs; err == nil {
			t.Error("a hanging request succeeded")
		}
	}
	// Once the hanging requests are gone, requests are served again.
	waitFor(t, 3*time.Second, func() bool {
		resp, _ := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
		return resp.StatusCode == 200
	})
}

// TestConnectionsPerIP checks that a connection over
// max_connections_per_ip is closed at once.
func TestConnectionsPerIP(t *testing.T) {
	t.Parallel()
	e := startWith(t, startOpts{Listen: "max_connections_per_ip: 2"},
		[]upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	addr := hostPort(e.base)
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// The held connections must be open: a request on one is answered.
	if _, err := io.WriteString(held[0], "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+testKey+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 12)
	_ = held[0].SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadFull(held[0], buf); err != nil || string(buf) != "HTTP/1.1 200" {
		t.Fatalf("held connection: %q %v", buf, err)
	}
	third, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	begin := time.Now()
	_ = third.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := third.Read(buf)
	if err == nil || n != 0 {
		t.Fatalf("third connection read %d bytes, err %v; want it closed", n, err)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the third connection was left open")
	}
	if d := time.Since(begin); d > 500*time.Millisecond {
		t.Errorf("closed after %v", d)
	}
	// Closing a held connection frees its slot.
	held[1].Close()
	held = held[:1]
	waitFor(t, 3*time.Second, func() bool {
		resp, _, err := rawRoundTrip(t, addr, "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+testKey+"\r\nConnection: close\r\n\r\n", 2*time.Second)
		return err == nil && resp.StatusCode == http.StatusOK
	})
}

// TestStalledReader checks that a client that stops reading a stream is cut
// off after write_idle_timeout and that the upstream is cancelled. It is
// heavy for a moment (the socket buffers must fill), so it runs alone.
func TestStalledReader(t *testing.T) {
	e := startWith(t, startOpts{Listen: "write_idle_timeout: 300ms"},
		[]upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	s := e.sims["sim"]
	base := runtimeGoroutines()
	c, err := net.Dial("tcp", hostPort(e.base))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A small receive window makes the gateway's writes block sooner.
	_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
	body := chatBody("deepseek-chat", true, `,"x_sim":{"events":200000}`)
	raw := "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testKey +
		fmt.Sprintf("\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)) + body
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitRequests(ctx, 1); err != nil {
		t.Fatal("no upstream request")
	}
	rec := s.Requests()[0]
	if err := rec.Wait(ctx); err != nil {
		t.Fatal("the upstream request was not cancelled while the client did not read")
	}
	if !rec.Cancelled {
		t.Error("the upstream request ended without being cancelled")
	}
	if r := e.record(rec.Header.Get("X-Request-Id")); r.Status != 499 {
		t.Errorf("record status %d outcome %q, want 499", r.Status, r.Outcome)
	}
	c.Close()
	settleGoroutines(t, base, 2)
}
