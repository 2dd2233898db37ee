package e2e_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// accessRecord is one access log line of the gateway.
type accessRecord struct {
	Msg       string   `json:"msg"`
	RequestID string   `json:"request_id"`
	Status    int      `json:"status"`
	Outcome   string   `json:"outcome"`
	Upstream  string   `json:"upstream"`
	Attempts  int      `json:"attempts"`
	ErrorCode string   `json:"error_code"`
	ClientIP  string   `json:"client_ip"`
	Verdicts  []string `json:"verdicts"`
}

// records returns the access log lines written so far.
func (e *env) records() []accessRecord {
	var out []accessRecord
	for _, line := range strings.Split(e.logs.String(), "\n") {
		var r accessRecord
		if json.Unmarshal([]byte(line), &r) == nil && r.Msg == "request" {
			out = append(out, r)
		}
	}
	return out
}

// record waits for the access log line of the request id. The record is
// written when the handler returns, which may be just after the client got
// the last byte, so it is polled for.
func (e *env) record(id string) accessRecord {
	e.t.Helper()
	var got accessRecord
	waitFor(e.t, 3*time.Second, func() bool {
		for _, r := range e.records() {
			if r.RequestID == id {
				got = r
				return true
			}
		}
		return false
	})
	return got
}

// metric sums the samples of the metric name whose labels contain every
// one of labels (written as `code="5xx"`).
func metric(text, name string, labels ...string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// requestsOfClass reads rampart_requests_total for one status class.
func (e *env) requestsOfClass(class string) float64 {
	return metric(e.metrics(), "rampart_requests_total", `code="`+class+`"`)
}

// waitClassGrows waits until the count of a status class exceeds before.
func (e *env) waitClassGrows(class string, before float64) {
	e.t.Helper()
	waitFor(e.t, 3*time.Second, func() bool { return e.requestsOfClass(class) > before })
}

// apiError is the OpenAI-style error body.
type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

// checkAPIError asserts an OpenAI-style error answer with a request ID.
func checkAPIError(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Errorf("body is not an OpenAI-style error: %v: %q", err, body)
		return
	}
	if e.Error.Code != code || e.Error.Message == "" || e.Error.Type == "" {
		t.Errorf("error code %q message %q type %q, want code %q", e.Error.Code, e.Error.Message, e.Error.Type, code)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

// deadURL returns the URL of a loopback port that was just closed, so a
// dial to it is refused.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/v1"
}

// statusUpstream answers every request with one error status, as an
// overloaded or rate-limited provider does, and counts the requests.
type statusUpstream struct {
	URL  string
	hits atomic.Int64
}

func newStatusUpstream(t *testing.T, status int, retryAfter string) *statusUpstream {
	t.Helper()
	u := &statusUpstream{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":"status %d","type":"server_error","code":null}}`, status)
	}))
	t.Cleanup(srv.Close)
	u.URL = srv.URL + "/v1"
	return u
}

// rawRoundTrip writes raw bytes to the gateway on a new connection and
// reads the first response, or returns the read error (a closed
// connection). The whole exchange is bounded by d.
func rawRoundTrip(t *testing.T, addr, raw string, d time.Duration) (*http.Response, []byte, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, d)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, raw); err != nil {
		return nil, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// settleGoroutines waits until the goroutine count is back within tol of
// base, and fails with the stacks when it is not. Callers close their idle
// connections first, or pass the client transports, whose idle connections
// are closed on every poll: a connection goes back to its pool a moment
// after its body was read, so one close may come too early. The default
// transport's are closed too: the harness reads the admin API (metrics,
// audit) with it, and each such connection holds three goroutines, its
// client's two and the server's one.
func settleGoroutines(t *testing.T, base, tol int, trs ...*http.Transport) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, tr := range trs {
			tr.CloseIdleConnections()
		}
		http.DefaultClient.CloseIdleConnections()
		n := runtime.NumGoroutine()
		if n <= base+tol {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines: %d, baseline %d (+%d allowed)\n%s", n, base, tol, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newClient returns an HTTP client with its own connection pool, so that
// its connections can be closed and counted apart from other tests'.
func newClient() (*http.Client, *http.Transport) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}, tr
}

// newRequest builds an authenticated JSON POST to the gateway.
func (e *env) newRequest(path, body string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// hostPort strips the scheme of a base URL.
func hostPort(base string) string {
	_, hp, _ := strings.Cut(base, "://")
	return hp
}

// runtimeGoroutines is the goroutine count, for leak checks.
func runtimeGoroutines() int { return runtime.NumGoroutine() }

// simRoute is a route serving model by sending deepseek-chat, a model every
// simulator knows, to its upstreams.
func simRoute(name, model, upstreams, extra string) routeSpec {
	return routeSpec{Name: name, Models: model, Upstreams: upstreams,
		Extra: "    aliases: {" + model + ": deepseek-chat}\n" + extra}
}
