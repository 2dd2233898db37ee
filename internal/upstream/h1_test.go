package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// rawServer accepts connections on loopback and hands each to serve.
type rawServer struct {
	ln    net.Listener
	conns atomic.Int32
	wg    sync.WaitGroup
	mu    sync.Mutex
	open  []net.Conn
}

func newRawServer(t *testing.T, serve func(n int, c net.Conn)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(s.conns.Add(1))
			s.mu.Lock()
			s.open = append(s.open, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				serve(n, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// readRequest reads one request with its body from br.
func readRequest(br *bufio.Reader) (*http.Request, string, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(req.Body)
	return req, string(b), err
}

const okAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

func newTestClient(t *testing.T, url string, tweak func(*config.Upstream)) *Client {
	t.Helper()
	u := &config.Upstream{URL: url, Flavor: FlavorVLLM, APIKey: "sk-upstream", MaxIdleConns: 4,
		Headers: map[string]string{"X-Team": "blue"},
		Timeouts: config.Timeouts{Dial: time.Second, TLS: time.Second, FirstByte: 5 * time.Second,
			Idle: time.Second, Total: 10 * time.Second}}
	if tweak != nil {
		tweak(u)
	}
	c, err := New("t", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.h1 == nil {
		t.Fatal("plain-HTTP upstream did not get the lean client")
	}
	t.Cleanup(c.CloseIdle)
	return c
}

func post(t *testing.T, c *Client, ctx context.Context) (*http.Response, string, error) {
	t.Helper()
	resp, err := c.Do(ctx, "/chat/completions", []byte(`{"model":"m"}`), false, "req-1")
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestH1RequestShapeAndReuse(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	srv := newRawServer(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, body, err := readRequest(br)
			if err != nil {
				return
			}
			mu.Lock()
			got, bodies = append(got, req), append(bodies, body)
			mu.Unlock()
			if _, err := io.WriteString(c, okAnswer); err != nil {
				return
			}
		}
	})
	c := newTestClient(t, "http://"+srv.ln.Addr().String()+"/v1", nil)
	for i := 0; i < 20; i++ {
		resp, body, err := post(t, c, context.Background())
		if err != nil || resp.StatusCode != 200 || body != "{}" {
			t.Fatalf("request %d: %v %v %q", i, err, resp, body)
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("20 sequential requests used %d connections, want 1 (keep-alive)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	r := got[0]
	for k, want := range map[string]string{
		"Authorization": "Bearer sk-upstream", "X-Team": "blue", "Content-Type": "application/json",
		"Accept": "application/json", "X-Request-Id": "req-1",
	} {
		if v := r.Header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	if r.Method != "POST" || r.URL.Path != "/v1/chat/completions" || r.Host != srv.ln.Addr().String() {
		t.Errorf("request line: %s %s host %s", r.Method, r.URL.Path, r.Host)
	}
	if bodies[0] != `{"model":"m"}` || r.ContentLength != int64(len(bodies[0])) {
		t.Errorf("body %q, content-length %d", bodies[0], r.ContentLength)
	}
}

func TestH1DropsUnsafeRequestID(t *testing.T) {
	seen := make(chan http.Header, 1)
	srv := newRawServer(t, func(_ int, c net.Conn) {
		req, _, err := readRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		seen <- req.Header
		io.WriteString(c, okAnswer)
	})
	c := newTestClient(t, "http://"+srv.ln.Addr().String(), nil)
	resp, err := c.Do(context.Background(), "/chat/completions", []byte(`{}`), false, "id\r\nX-Evil: 1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := <-seen
	if h.Get("X-Evil") != "" || h.Get("X-Request-Id") != "" {
		t.Errorf("an ID with CR LF reached the upstream: %v", h)
	}
}

func TestH1StaleConnections(t *testing.T) {
	tests := []struct {
		name string
		// second decides what the server does with the second request on
		// the first connection.
		second func(c net.Conn)
	}{
		// The server closes the idle connection: the pool finds it dead
		// before writing to it.
		{"closed while idle", func(c net.Conn) {}},
		// The server reads the request and closes without answering: the
		// request is retried once on a fresh connection.
		{"closed before answering", func(c net.Conn) { readRequest(bufio.NewReader(c)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawServer(t, func(n int, c net.Conn) {
				br := bufio.NewReader(c)
				if _, _, err := readRequest(br); err != nil {
					return
				}
				io.WriteString(c, okAnswer)
				if n == 1 {
					tc.second(c)
					return
				}
				for {
					if _, _, err := readRequest(br); err != nil {
						return
					}
					io.WriteString(c, okAnswer)
				}
			})
			c := newTestClient(t, "http://"+srv.ln.Addr().String(), nil)
			c.h1.checkIdle = 0 // check every reuse
			if _, _, err := post(t, c, context.Background()); err != nil {
				t.Fatal(err)
			}
			if tc.name == "closed while idle" {
				waitFor(t, func() bool {
					c.h1.mu.Lock()
					defer c.h1.mu.Unlock()
					return len(c.h1.idle) == 1 && !alive(c.h1.idle[0].nc)
				})
			}
			resp, body, err := post(t, c, context.Background())
			if err != nil || resp.StatusCode != 200 || body != "{}" {
				t.Fatalf("second request on a stale connection: %v %q", err, body)
			}
			if n := srv.conns.Load(); n != 2 {
				t.Errorf("connections = %d, want 2", n)
			}
		})
	}
}

func TestH1HeaderTooLarge(t *testing.T) {
	srv := newRawServer(t, func(_ int, c net.Conn) {
		readRequest(bufio.NewReader(c))
		io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Big: "+strings.Repeat("a", 2<<20)+"\r\nContent-Length: 0\r\n\r\n")
	})
	c := newTestClient(t, "http://"+srv.ln.Addr().String(), nil)
	_, _, err := post(t, c, context.Background())
	if !errors.Is(err, errHeaderTooLarge) {
		t.Fatalf("err = %v, want the header cap", err)
	}
}

func TestH1InterimAnswer(t *testing.T) {
	srv := newRawServer(t, func(_ int, c net.Conn) {
		readRequest(bufio.NewReader(c))
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"+okAnswer)
	})
	c := newTestClient(t, "http://"+srv.ln.Addr().String(), nil)
	resp, body, err := post(t, c, context.Background())
	if err != nil || resp.StatusCode != 200 || body != "{}" {
		t.Fatalf("%v %v %q", err, resp, body)
	}
}

// hang accepts a request and never answers, until the client closes.
func hang(closed chan<- struct{}) func(int, net.Conn) {
	return func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		readRequest(br)
		io.Copy(io.Discard, br) // returns when the client closes
		closed <- struct{}{}
	}
}

func TestH1CancelWhileWaiting(t *testing.T) {
	closed := make(chan struct{}, 1)
	srv := newRawServer(t, hang(closed))
	c := newTestClient(t, "http://"+srv.ln.Addr().String(), nil)
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(50*time.Millisecond, func() { cancel(ErrClientGone) })
	start := time.Now()
	_, _, err := post(t, c, ctx)
	if err == nil {
		t.Fatal("a cancelled call succeeded")
	}
	if f := Classify(ctx, err); f.Status != StatusClientClosed {
		t.Errorf("classified as %d, want %d", f.Status, StatusClientClosed)
	}
	select {
	case <-closed:
	case <-time.After(time.Second):
		t.Fatal("the upstream did not see the connection close within 1 s of the cancel")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancel took %v", d)
	}
}

func TestH1FirstByteTimeout(t *testing.T) {
	closed := make(chan struct{}, 1)
	srv := newRawServer(t, hang(closed))
	c := newTestClient(t, "http://"+srv.ln.Addr().String(), func(u *config.Upstream) {
		u.Timeouts.FirstByte = 100 * time.Millisecond
	})
	ctx := context.Background()
	_, _, err := post(t, c, ctx)
	if f := Classify(ctx, err); f.Status != http.StatusGatewayTimeout {
		t.Fatalf("err %v classified as %d, want 504", err, f.Status)
	}
}

func TestH1CancelMidBody(t *testing.T) {
	closed := make(chan struct{}, 1)
	srv := newRawServer(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		readRequest(br)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"f\r\ndata: {\"a\":1}\n\n\r\n")
		io.Copy(io.Discard, br)
		closed <- struct{}{}
	})
	c := newTestClient(t, "http://"+srv.ln.Addr().String(), nil)
	ctx, cancel := context.WithCancelCause(context.Background())
	resp, err := c.Do(ctx, "/chat/completions", []byte(`{}`), true, "")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := resp.Body.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "data:") {
		t.Fatalf("first event: %q %v", buf[:n], err)
	}
	time.AfterFunc(20*time.Millisecond, func() { cancel(ErrIdleTimeout) })
	_, err = io.ReadAll(resp.Body)
	if err == nil {
		t.Fatal("reading a cancelled stream ended cleanly")
	}
	if f := Classify(ctx, err); f.Status != http.StatusGatewayTimeout {
		t.Errorf("classified as %d, want 504 (idle timeout)", f.Status)
	}
	resp.Body.Close()
	select {
	case <-closed:
	case <-time.After(time.Second):
		t.Fatal("the upstream connection stayed open after the cancel")
	}
}

// An answer left unread (a stream that goes on) is not drained: the
// connection is closed, Close returns at once, and the next request dials.
func TestH1UnreadStreamClosesConnection(t *testing.T) {
	srv := newRawServer(t, func(n int, c net.Conn) {
		br := bufio.NewReader(c)
		readRequest(br)
		if n > 1 {
			io.WriteString(c, okAnswer)
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
		for {
			if _, err := io.WriteString(c, "f\r\ndata: {\"a\":1}\n\n\r\n"); err != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	c := newTestClient(t, "http://"+srv.ln.Addr().String(), nil)
	resp, err := c.Do(context.Background(), "/chat/completions", []byte(`{}`), true, "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp.Body.Close()
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("Close of an endless stream took %v", d)
	}
	if _, _, err := post(t, c, context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := srv.conns.Load(); n != 2 {
		t.Errorf("connections = %d, want 2: a half-read connection must not be reused", n)
	}
}

func TestH1DialFailureIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newTestClient(t, "http://"+addr, nil)
	_, _, err = post(t, c, context.Background())
	if f := Classify(context.Background(), err); !f.Retryable || f.Status != http.StatusBadGateway {
		t.Fatalf("dial failure %v classified %+v", err, f)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestH1SendsTraceparent(t *testing.T) {
	seen := make(chan http.Header, 1)
	srv := newRawServer(t, func(_ int, c net.Conn) {
		req, _, err := readRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		seen <- req.Header
		io.WriteString(c, okAnswer)
	})
	c := newTestClient(t, "http://"+srv.ln.Addr().String(), nil)
	sc := oteltrace.NewSpanContext(oteltrace.SpanContextConfig{
		TraceID:    oteltrace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:     oteltrace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: oteltrace.FlagsSampled,
	})
	ctx := oteltrace.ContextWithSpanContext(context.Background(), sc)
	if _, _, err := post(t, c, ctx); err != nil {
		t.Fatal(err)
	}
	want := "00-0102030405060708090a0b0c0d0e0f10-0102030405060708-01"
	if got := (<-seen).Get("Traceparent"); got != want {
		t.Errorf("traceparent %q, want %q", got, want)
	}
	// Without a span, no header.
	if _, _, err := post(t, c, context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := (<-seen).Get("Traceparent"); got != "" {
		t.Errorf("traceparent %q sent without a span", got)
	}
}
