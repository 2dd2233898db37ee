package guard

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// externalVerdict returns the verdict of the external guard named hook.
func externalVerdict(r Result) Verdict {
	for _, v := range r.Verdicts {
		if v.Guard == "external:hook" {
			return v
		}
	}
	return Verdict{}
}

// TestExternalDoesNotFollowRedirects has a webhook guard answer 307 to
// another server: that server must receive nothing (neither the prompt nor
// the guard's key), and the answer is a guard failure, so that fail_mode
// decides.
func TestExternalDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		status     int
		failMode   string
		wantAction string
	}{
		{http.StatusTemporaryRedirect, "", ActionBlock},
		{http.StatusPermanentRedirect, "", ActionBlock},
		{http.StatusFound, "", ActionBlock},
		{http.StatusTemporaryRedirect, "open", ActionFlag},
	} {
		t.Run(http.StatusText(c.status)+"/"+c.failMode, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				_, _ = w.Write([]byte(`{"action":"pass"}`))
			}))
			defer target.Close()
			redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+"/steal", c.status)
			}))
			defer redirector.Close()
			g := mustNew(t, Config{External: []ExternalConfig{{
				Name: "hook", Type: "webhook", URL: redirector.URL + "/guard", APIKey: "guard-bearer-key",
				Timeout: 2 * time.Second, FailMode: c.failMode,
			}}})
			r, err := g.Inspect(context.Background(), []Message{{Role: "user", Text: "my secret prompt"}})
			if err != nil {
				t.Fatal(err)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("the redirect target received %d request(s)", n)
			}
			if got := externalVerdict(r); got.Action != c.wantAction || got.Rule != "unavailable" {
				t.Errorf("verdict %+v, want action %q rule unavailable", got, c.wantAction)
			}
		})
	}
}

// TestExternalClientIgnoresProxyEnvironment checks the transport: Go never
// proxies loopback addresses, so this cannot be shown end to end.
func TestExternalClientIgnoresProxyEnvironment(t *testing.T) {
	t.Parallel()
	e := newExternal(ExternalConfig{Name: "hook", Type: "webhook", URL: "http://guard.internal/check", Timeout: time.Second})
	tr, ok := e.hc.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport %T, want *http.Transport (nil means http.DefaultTransport, which honours HTTP_PROXY)", e.hc.Transport)
	}
	if tr.Proxy != nil {
		t.Error("the transport has a Proxy function: HTTP(S)_PROXY would be honoured")
	}
	if e.hc.CheckRedirect == nil {
		t.Error("no CheckRedirect: the default policy follows up to 10 redirects")
	}
	if e.hc.Timeout != time.Second {
		t.Errorf("timeout %v, want 1s", e.hc.Timeout)
	}
}

// TestExternalErrorsHoldNoPassword checks what the gateway logs when an
// external guard's URL cannot be used: the password in it never appears,
// even if configuration validation was bypassed.
func TestExternalErrorsHoldNoPassword(t *testing.T) {
	t.Parallel()
	const secret = "GuardPW-SECRET"
	for _, url := range []string{
		"http://u:" + secret + "@127.0.0.1:notaport/check",
		"http://u:GuardPW/SECRET@127.0.0.1:8080/check",
		"http://u:" + secret + "@gu ard/check",
		downURL(t) + "?password=" + secret,
		strings.Replace(downURL(t), "http://", "http://u:"+secret+"@", 1),
	} {
		var logs lockedBuffer
		g, err := New(Config{External: []ExternalConfig{{
			Name: "hook", Type: "webhook", URL: url, Timeout: time.Second,
		}}}, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		r, err := g.Inspect(context.Background(), []Message{{Role: "user", Text: "hello"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := externalVerdict(r); got.Action != ActionBlock || got.Rule != "unavailable" {
			t.Errorf("%s: verdict %+v, want a failure that blocks", url, got)
		}
		out := logs.String()
		if !strings.Contains(out, "external guard failed") {
			t.Errorf("%s: no failure logged:\n%s", url, out)
		}
		for _, s := range []string{"SECRET", "GuardPW"} {
			if strings.Contains(out, s) {
				t.Errorf("the log holds the password (%q):\n%s", s, out)
			}
		}
	}
}
