// Package alert sends incident notifications to webhooks: a burst of
// blocked requests from one principal, a kill-switch change, an upstream
// turning unhealthy, a budget exhausted. Raising an incident never blocks
// and never does I/O: it is deduplicated (the same key within a window is
// sent once), rate limited and queued; one goroutine delivers the queue to
// every sink, in Slack-compatible ({"text": ...}) or generic JSON. An alert
// that cannot be queued is dropped and counted, never waited for.
package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kinds of incidents.
const (
	KindBlockedBurst      = "blocked_burst"
	KindKillSwitch        = "kill_switch"
	KindUpstreamUnhealthy = "upstream_unhealthy"
	KindBudgetExhausted   = "budget_exhausted"
)

// Severities.
const (
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Incident is one thing an operator should know about. It never holds a
// credential, a prompt or an answer.
type Incident struct {
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	// Key deduplicates: incidents with the same key within the window are
	// sent once. Default: Kind and Subject.
	Key string `json:"key"`
	// Subject is what the incident is about: a principal, an upstream, a
	// kill target.
	Subject  string `json:"subject"`
	Severity string `json:"severity"`
	// Summary is one line for a human.
	Summary string `json:"summary"`
	// Details are short, non-sensitive facts.
	Details map[string]string `json:"details,omitempty"`
	Time    time.Time         `json:"time"`
}

// Sink is one webhook.
type Sink struct {
	Name    string
	URL     string
	Format  string // "slack" or "json" (default)
	Headers map[string]string
	Timeout time.Duration // default 5s
}

// Options configure a Notifier. Zero values take the defaults.
type Options struct {
	Sinks        []Sink
	Dedup        time.Duration // default 10m
	MaxPerMinute int           // default 30
	Queue        int           // default 256
	Log          *slog.Logger
	// Client sends the webhooks; default: a client that follows no
	// redirects.
	Client *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Stats are a notifier's counters since it started.
type Stats struct {
	Sent         uint64 // deliveries a sink accepted (2xx)
	Failed       uint64 // deliveries that failed
	Deduplicated uint64 // incidents suppressed as repeats
	Dropped      uint64 // incidents lost: queue full or over the rate limit
}

// maxKeys bounds the deduplication table.
const maxKeys = 10000

// Notifier raises incidents. A nil *Notifier is valid and drops nothing:
// it does nothing at all.
type Notifier struct {
	o      Options
	log    *slog.Logger
	client *http.Client
	ch     chan Incident
	done   chan struct{}
	once   sync.Once

	mu     sync.Mutex
	last   map[string]time.Time // key → last sent
	tokens float64
	refill time.Time
	closed bool

	sent, failed, dedup, dropped atomic.Uint64
}

// New starts a notifier. It returns nil when there are no sinks.
func New(o Options) *Notifier {
	if len(o.Sinks) == 0 {
		return nil
	}
	if o.Dedup <= 0 {
		o.Dedup = 10 * time.Minute
	}
	if o.MaxPerMinute <= 0 {
		o.MaxPerMinute = 30
	}
	if o.Queue <= 0 {
		o.Queue = 256
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := o.Client
	if c == nil {
		c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	n := &Notifier{
		o: o, log: o.Log, client: c,
		ch:     make(chan Incident, o.Queue),
		done:   make(chan struct{}),
		last:   map[string]time.Time{},
		tokens: float64(o.MaxPerMinute),
		refill: o.Now(),
	}
	go n.run()
	return n
}

// Raise queues inc for every sink unless an incident with the same key was
// sent within the dedup window or the rate limit is spent. It never blocks.
// It reports whether the incident was queued.
func (n *Notifier) Raise(inc Incident) bool {
	if n == nil {
		return false
	}
	now := n.o.Now()
	if inc.Time.IsZero() {
		inc.Time = now
	}
	if inc.Key == "" {
		inc.Key = inc.Kind + ":" + inc.Subject
	}
	if inc.Severity == "" {
		inc.Severity = SeverityWarning
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		n.dropped.Add(1)
		return false
	}
	if t, ok := n.last[inc.Key]; ok && now.Sub(t) < n.o.Dedup {
		n.mu.Unlock()
		n.dedup.Add(1)
		return false
	}
	// Token bucket: MaxPerMinute per minute, bursting to MaxPerMinute.
	rate := float64(n.o.MaxPerMinute) / float64(time.Minute)
	n.tokens = min(float64(n.o.MaxPerMinute), n.tokens+float64(now.Sub(n.refill))*rate)
	n.refill = now
	if n.tokens < 1 {
		n.mu.Unlock()
		n.dropped.Add(1)
		n.log.Warn("alert dropped: over the rate limit", "kind", inc.Kind, "subject", inc.Subject)
		return false
	}
	select {
	case n.ch <- inc:
	default:
		n.mu.Unlock()
		n.dropped.Add(1)
		n.log.Warn("alert dropped: the queue is full", "kind", inc.Kind, "subject", inc.Subject)
		return false
	}
	n.tokens--
	if len(n.last) >= maxKeys {
		for k, t := range n.last {
			if now.Sub(t) >= n.o.Dedup {
				delete(n.last, k)
			}
		}
		if len(n.last) >= maxKeys {
			// Still full of fresh keys: forget them all rather than grow.
			clear(n.last)
		}
	}
	n.last[inc.Key] = now
	n.mu.Unlock()
	return true
}

// Stats returns the counters.
func (n *Notifier) Stats() Stats {
	if n == nil {
		return Stats{}
	}
	return Stats{Sent: n.sent.Load(), Failed: n.failed.Load(), Deduplicated: n.dedup.Load(), Dropped: n.dropped.Load()}
}

// Close delivers what is queued and stops, or gives up when ctx ends.
func (n *Notifier) Close(ctx context.Context) error {
	if n == nil {
		return nil
	}
	n.once.Do(func() {
		n.mu.Lock()
		n.closed = true
		close(n.ch)
		n.mu.Unlock()
	})
	select {
	case <-n.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *Notifier) run() {
	defer close(n.done)
	for inc := range n.ch {
		for _, s := range n.o.Sinks {
			if err := n.deliver(s, inc); err != nil {
				n.failed.Add(1)
				n.log.Warn("alert not delivered", "sink", s.Name, "kind", inc.Kind, "err", err)
				continue
			}
			n.sent.Add(1)
		}
	}
}

// deliver posts inc to one sink.
func (n *Notifier) deliver(s Sink, inc Incident) error {
	body, err := Body(s.Format, inc)
	if err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		// The URL is a secret: never quote it.
		return fmt.Errorf("bad webhook request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "rampart-alerts")
	for k, v := range s.Headers {
		req.Header.Set(k, v)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		// *url.Error quotes the URL; keep only the cause.
		var cause error = err
		if ue, ok := err.(interface{ Unwrap() error }); ok && ue.Unwrap() != nil {
			cause = ue.Unwrap()
		}
		return fmt.Errorf("post: %v", cause)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}

// Body renders inc for a sink's format: slack is {"text": "..."}, json is
// {"source": "rampart", "incident": {...}}.
func Body(format string, inc Incident) ([]byte, error) {
	if format == "slack" {
		return json.Marshal(map[string]string{"text": Text(inc)})
	}
	return json.Marshal(struct {
		Source   string   `json:"source"`
		Incident Incident `json:"incident"`
	}{"rampart", inc})
}

// Text is the one-message rendering of an incident, for chat sinks.
func Text(inc Incident) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[rampart] %s %s: %s", strings.ToUpper(inc.Severity), inc.Kind, inc.Summary)
	if len(inc.Details) > 0 {
		keys := make([]string, 0, len(inc.Details))
		for k := range inc.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "\n• %s: %s", k, inc.Details[k])
		}
	}
	return b.String()
}
