package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/route"
	"github.com/rampart-gw/rampart/internal/upstream"
)

// panicAuth panics on requests that carry X-Panic, and lets others in.
type panicAuth struct{}

func (panicAuth) Authenticate(_ context.Context, r *http.Request) (*record.Principal, error) {
	if v := r.Header.Get("X-Panic"); v != "" {
		if v == "abort" {
			panic(http.ErrAbortHandler)
		}
		panic("stage failed: " + v)
	}
	return &record.Principal{ID: "p"}, nil
}

// sinkRecorder keeps what it needs of every record it receives.
type sinkRecorder struct {
	mu   sync.Mutex
	recs []seen
}

type seen struct {
	ID      string
	Status  int
	Outcome string
}

func (s *sinkRecorder) Record(rec *record.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, seen{rec.ID, rec.Status, rec.Outcome})
}

func (s *sinkRecorder) byID(id string) (seen, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if r.ID == id {
			return r, true
		}
	}
	return seen{}, false
}

// syncBuf is a log destination safe for concurrent writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newPanicServer(t *testing.T) (*httptest.Server, *sinkRecorder, *syncBuf) {
	t.Helper()
	table, err := route.Build(&config.Config{}, map[string]*upstream.Client{})
	if err != nil {
		t.Fatal(err)
	}
	sink := &sinkRecorder{}
	logs := &syncBuf{}
	h := New(&Snapshot{
		Routes: table,
		Auth:   panicAuth{},
		Sinks:  []Sink{sink},
		Log:    slog.New(slog.NewJSONHandler(logs, nil)),
		Limits: Limits{MaxBodyBytes: 1 << 20},
	})
	srv := httptest.NewUnstartedServer(h)
	// net/http logs recovered panics; keep test output clean.
	srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, sink, logs
}

// TestPanicIsolation checks that a panic in a stage costs one request a 500
// in the OpenAI error format, is logged with a stack under its request ID,
// still produces a record, and leaves the server serving.
func TestPanicIsolation(t *testing.T) {
	t.Parallel()
	srv, sink, logs := newPanicServer(t)
	get := func(hdr string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/models", nil)
		if hdr != "" {
			req.Header.Set("X-Panic", hdr)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	for i := range 3 {
		resp, b, err := get("boom")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var e struct {
			Error struct{ Code, Message, Type string }
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Code != "internal_error" || e.Error.Message == "" {
			t.Errorf("body %s (%v)", b, err)
		}
		if strings.Contains(string(b), "boom") {
			t.Error("the panic value reached the client")
		}
		id := resp.Header.Get("X-Request-Id")
		rec, ok := sink.byID(id)
		if !ok {
			t.Fatalf("no record for %s", id)
		}
		if rec.Status != 500 || rec.Outcome != "error" {
			t.Errorf("record status %d outcome %q", rec.Status, rec.Outcome)
		}
		if l := logs.String(); !strings.Contains(l, `"request_id":"`+id+`"`) || !strings.Contains(l, "goroutine") {
			t.Errorf("the panic and its stack were not logged under the request ID")
		}
		// The next request is served normally.
		resp, b, err = get("")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("after a panic: %v %v %s", err, resp, b)
		}
	}
}

// TestAbortHandlerStillAborts checks that http.ErrAbortHandler keeps its
// meaning: the connection is cut, but a record is still produced.
func TestAbortHandlerStillAborts(t *testing.T) {
	t.Parallel()
	srv, sink, _ := newPanicServer(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/models", nil)
	req.Header.Set("X-Panic", "abort")
	resp, err := srv.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("an aborted request got status %d", resp.StatusCode)
	}
	sink.mu.Lock()
	n := len(sink.recs)
	sink.mu.Unlock()
	if n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}

// BenchmarkServeModels measures the fixed cost of a request: ID, record,
// authentication, answer and sinks.
func BenchmarkServeModels(b *testing.B) {
	h := benchHandler(b)
	req := httptest.NewRequest(http.MethodGet, "/v1/models", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkRejectUnknownModel measures a request that is read, decoded and
// refused before any upstream is called.
func BenchmarkRejectUnknownModel(b *testing.B) {
	h := benchHandler(b)
	body := `{"model":"nope","messages":[{"role":"user","content":"Say hello"}]}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusNotFound {
			b.Fatal(w.Code)
		}
	}
}

func benchHandler(b *testing.B) *Handler {
	b.Helper()
	table, err := route.Build(&config.Config{}, map[string]*upstream.Client{})
	if err != nil {
		b.Fatal(err)
	}
	return New(&Snapshot{
		Routes: table,
		Auth:   panicAuth{},
		Log:    slog.New(slog.DiscardHandler),
		Limits: Limits{MaxBodyBytes: 1 << 20, BodyIdleTimeout: time.Second},
	})
}
