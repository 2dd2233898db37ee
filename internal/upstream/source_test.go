package upstream

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"strings"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/sse"
)

// An h1 answer body is an sse.Source, so the relay can parse events out of
// the connection's read buffer.
var _ sse.Source = (*h1Body)(nil)

// A stream read in place through the client: the reader's hook runs before
// each wait for the upstream, once per burst, and a stream read to its end
// gives its connection back to the pool.
func TestH1StreamReadInPlace(t *testing.T) {
	const head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
	chunk := func(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }
	bursts := []string{
		chunk("data: 1\n\n") + chunk("data: 2\n\ndata: ") + chunk("3\n\n"),
		chunk("data: 4\n\n") + chunk("data: [DONE]\n\n") + "0\r\n\r\n",
	}
	next := make(chan struct{}, 8)
	srv := newRawServer(t, func(_ int, c net.Conn) {
		br := bufio.NewReader(c)
		for i := 0; ; i++ {
			if _, _, err := readRequest(br); err != nil {
				return
			}
			if i > 0 {
				io.WriteString(c, okAnswer)
				continue
			}
			io.WriteString(c, head+bursts[0])
			select {
			case <-next: // the client waits for more
			case <-time.After(5 * time.Second):
				return
			}
			io.WriteString(c, bursts[1])
		}
	})
	c := newTestClient(t, "http://"+srv.ln.Addr().String(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Do(ctx, "/chat/completions", []byte(`{}`), true, "")
	if err != nil {
		t.Fatal(err)
	}
	src, ok := resp.Body.(sse.Source)
	if !ok {
		t.Fatalf("body %T is not an sse.Source", resp.Body)
	}
	waits := 0
	r := sse.NewSourceReader(src, 0, func() {
		waits++
		next <- struct{}{}
	})
	var got []string
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, string(ev.Data))
	}
	if want := "1 2 3 4 [DONE]"; strings.Join(got, " ") != want {
		t.Errorf("events %q, want %s", got, want)
	}
	// After the first burst, and before the end; and perhaps before the
	// first burst if it came apart from the header.
	if waits < 2 || waits > 3 {
		t.Errorf("%d waits, want 2 or 3: one per burst", waits)
	}
	resp.Body.Close()
	if _, _, err := post(t, c, context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("connections = %d, want 1: a stream read to its end frees its connection", n)
	}
}

// benchEvent is a typical 300-byte chat.completion.chunk event.
var benchEvent = func() string {
	head := `data: {"id":"chatcmpl-8f2b6c1e-4c1d-4b8a-9d0e-2f1a3b4c5d6e","object":"chat.completion.chunk","created":1767225600,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08","choices":[{"index":0,"delta":{"content":"`
	tail := `"},"logprobs":null,"finish_reason":null}]}` + "\n\n"
	return head + strings.Repeat("x", 300-len(head)-len(tail)) + tail
}()

const benchEvents = 200

// chunkFeed hands out a chunked stream one chunk per read, as a model
// server that writes each event as it is made is read, or all at once.
type chunkFeed struct {
	data  []byte
	ends  []int // where each chunk ends
	off   int
	whole bool
}

func (f *chunkFeed) Read(p []byte) (int, error) {
	if f.off == len(f.data) {
		return 0, io.EOF
	}
	end := len(f.data)
	if !f.whole {
		for _, e := range f.ends {
			if e > f.off {
				end = e
				break
			}
		}
	}
	n := copy(p, f.data[f.off:end])
	f.off += n
	return n, nil
}

// flushing counts the reads of r, as the relay flushes before each.
type flushing struct {
	r       io.Reader
	flushes *int
}

func (f flushing) Read(p []byte) (int, error) {
	*f.flushes++
	return f.r.Read(p)
}

// BenchmarkRelayChunked parses a 200-event chunked stream the way the relay
// does: over net/http's chunked reader with the SSE reader's own buffer
// (before), over this package's decoder through Read, and in place.
func BenchmarkRelayChunked(b *testing.B) {
	var stream []byte
	var ends []int
	for range benchEvents {
		stream = fmt.Appendf(stream, "%x\r\n%s\r\n", len(benchEvent), benchEvent)
		ends = append(ends, len(stream))
	}
	stream = append(stream, "0\r\n\r\n"...)
	ends = append(ends, len(stream))
	for _, whole := range []bool{false, true} {
		feedName := "event per read"
		if whole {
			feedName = "burst"
		}
		for _, path := range []string{"net/http chunked", "Read", "in place"} {
			b.Run(feedName+"/"+path, func(b *testing.B) {
				feed := &chunkFeed{data: stream, ends: ends, whole: whole}
				br := bufio.NewReaderSize(feed, 4<<10) // the connection's, not the stream's
				flushes := 0
				b.ReportAllocs()
				for b.Loop() {
					feed.off = 0
					br.Reset(feed)
					var r *sse.Reader
					switch path {
					case "net/http chunked":
						body := &refChunked{br: br, cr: httputil.NewChunkedReader(br), budget: 1 << 10}
						r = sse.NewReader(flushing{r: body, flushes: &flushes}, 0)
					case "Read":
						r = sse.NewReader(flushing{r: &chunkedBody{br: br, budget: 1 << 10}, flushes: &flushes}, 0)
					default:
						r = sse.NewSourceReader(&chunkedBody{br: br, budget: 1 << 10}, 0, func() { flushes++ })
					}
					n := 0
					for {
						ev, err := r.Next()
						if err == io.EOF {
							break
						}
						if err != nil || !bytes.HasPrefix(ev.Data, []byte(`{"id"`)) {
							b.Fatalf("event %d: %v", n, err)
						}
						n++
					}
					if n != benchEvents {
						b.Fatalf("%d events, want %d", n, benchEvents)
					}
				}
				events := float64(b.N) * benchEvents
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
				b.ReportMetric(float64(flushes)/events, "flushes/event")
			})
		}
	}
}
