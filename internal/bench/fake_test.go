package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
)

// fakeEnv, when set, makes the test binary act as a minimal `rampart sim`
// or `rampart serve`, so that the whole benchmark can be tested before
// and independently of the real verbs.
const fakeEnv = "RAMPART_BENCH_FAKE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeEnv) == "1" && len(os.Args) > 1 {
		os.Exit(runFake(os.Args[1], os.Args[2:]))
	}
	os.Exit(m.Run())
}

// runFake runs the fake verb until SIGTERM.
func runFake(verb string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var err error
	switch verb {
	case "sim":
		err = fakeSim(ctx, args)
	case "serve":
		err = fakeServe(ctx, args)
	default:
		err = fmt.Errorf("unknown verb %q", verb)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// fakeSim serves fakeSimHandler on --listen and announces its address
// the way the real simulator does.
func fakeSim(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "")
	flavor := fs.String("flavor", "deepseek", "")
	fs.String("ttft", "0", "")
	fs.String("tps", "0", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Printf("simulator listening on http://%s (flavor %s)\n", ln.Addr(), *flavor)
	return serveUntil(ctx, ln, fakeSimHandler())
}

// fakeServe proxies the client listener to the configured upstream and
// answers /readyz on the admin listener.
func fakeServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("c", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	upstream := cfg.Upstreams["sim"].URL
	want := "Bearer " + cfg.Auth.StaticKeys[0].Key
	client := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			http.Error(w, `{"error":{"message":"bad key"}}`, http.StatusUnauthorized)
			return
		}
		fakeRelay(w, r, upstream+strings.TrimPrefix(r.URL.Path, "/v1"))
	})
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "ok")
	})
	cln, err := net.Listen("tcp", cfg.Listen.Addr)
	if err != nil {
		return err
	}
	aln, err := net.Listen("tcp", cfg.Admin.Addr)
	if err != nil {
		return err
	}
	go serveUntil(ctx, aln, admin)
	return serveUntil(ctx, cln, client)
}

// fakeRelay forwards r to url and copies the answer back, flushing after
// every read so that streams pass event by event.
func fakeRelay(w http.ResponseWriter, r *http.Request, url string) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, url, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	resp, err := relayClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	flusher := w.(http.Flusher)
	buf := make([]byte, 16<<10)
	for range 1_000_000 {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			flusher.Flush()
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			// Abort, as a gateway does, so the client sees a truncated
			// stream rather than a clean end.
			panic(http.ErrAbortHandler)
		}
	}
}

// relayClient is the fake gateway's upstream client.
var relayClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}

// serveUntil serves h on ln until ctx is done.
func serveUntil(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// fakeSimHandler answers /health and /v1/chat/completions. For streams it
// honours x_sim.events and x_sim.tps, and x_sim.truncate_after, which ends
// the stream early without [DONE].
func fakeSimHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stream bool `json:"stream"`
			XSim   struct {
				Events        int     `json:"events"`
				TPS           float64 `json:"tps"`
				TruncateAfter int     `json:"truncate_after"`
				Status        int     `json:"status"`
			} `json:"x_sim"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if req.XSim.Status != 0 {
			http.Error(w, `{"error":{"message":"injected"}}`, req.XSim.Status)
			return
		}
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}]}`)
			return
		}
		fakeStream(r.Context(), w, req.XSim.Events, req.XSim.TPS, req.XSim.TruncateAfter)
	})
	return mux
}

// fakeStream writes events SSE events, paced at tps when positive.
func fakeStream(ctx context.Context, w http.ResponseWriter, events int, tps float64, truncateAfter int) {
	w.Header().Set("Content-Type", "text/event-stream")
	flusher := w.(http.Flusher)
	for i := range max(events, 1) {
		if truncateAfter > 0 && i == truncateAfter {
			return
		}
		io.WriteString(w, `data: {"id":"x","choices":[{"index":0,"delta":{"content":"tok "}}]}`+"\n\n")
		flusher.Flush()
		if tps > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(float64(time.Second) / tps)):
			}
		}
	}
	io.WriteString(w, "data: [DONE]\n\n")
}
