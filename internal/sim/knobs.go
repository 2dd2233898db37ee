package sim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
)

// knobs are the per-request fault and shaping controls. Each field is nil
// when not given. They come from X-Sim-* headers (X-Sim-Status,
// X-Sim-Retry-After, ...; underscores in names become hyphens) and from the
// "x_sim" object of a JSON body, which wins field by field.
type knobs struct {
	// Status answers with this HTTP status and a flavour-style error body
	// (values below 400 are ignored).
	Status *int `json:"status"`
	// RetryAfter is sent as Retry-After, in whole seconds.
	RetryAfter *int `json:"retry_after"`
	// DropAfter aborts the connection after this many SSE data events
	// (streams), or half-way through the body (non-streaming).
	DropAfter *int `json:"drop_after"`
	// Hang never answers: the handler waits until the client goes away.
	Hang *bool `json:"hang"`
	// SlowHeaders waits this long before sending response headers.
	SlowHeaders *duration `json:"slow_headers"`
	// TTFT and TPS override Options.TTFT and Options.TokensPerSecond.
	TTFT *duration `json:"ttft"`
	TPS  *float64  `json:"tps"`
	// ReasoningTokens and AnswerTokens override the lengths; zero is zero.
	ReasoningTokens *int `json:"reasoning_tokens"`
	AnswerTokens    *int `json:"answer_tokens"`
	// Answer and Reasoning are literal texts, split into word tokens.
	Answer    *string `json:"answer"`
	Reasoning *string `json:"reasoning"`
	// Events streams exactly this many content events in total (reasoning
	// and answer); reasoning is none unless ReasoningTokens says otherwise.
	Events *int `json:"events"`
	// EchoSystem ("answer" or "reasoning") puts the text of the request's
	// system and developer messages, as the simulator received them, in
	// that channel: a model that leaks its system prompt. Answer and
	// Reasoning win over it.
	EchoSystem *string `json:"echo_system"`
}

// duration is a time.Duration that decodes from a Go duration string
// ("250ms") or from a JSON number of seconds.
type duration time.Duration

// UnmarshalJSON accepts "1.5s" or 1.5.
func (d *duration) UnmarshalJSON(b []byte) error {
	v, err := parseDuration(strings.Trim(string(b), `"`))
	if err != nil {
		return err
	}
	*d = duration(v)
	return nil
}

// parseDuration reads a Go duration or a number of seconds, never negative.
func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != f || f > 1e6 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		v = time.Duration(f * float64(time.Second))
	}
	if v < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return v, nil
}

// headerKnobs reads the X-Sim-* headers.
func headerKnobs(h http.Header) (knobs, error) {
	var k knobs
	if !hasSimHeader(h) {
		return k, nil
	}
	var errs []error
	num := func(name string, dst **int) {
		if v := h.Get("X-Sim-" + name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("invalid X-Sim-%s %q", name, v))
				return
			}
			*dst = &n
		}
	}
	dur := func(name string, dst **duration) {
		if v := h.Get("X-Sim-" + name); v != "" {
			d, err := parseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("invalid X-Sim-%s: %w", name, err))
				return
			}
			dd := duration(d)
			*dst = &dd
		}
	}
	num("Status", &k.Status)
	num("Retry-After", &k.RetryAfter)
	num("Drop-After", &k.DropAfter)
	num("Reasoning-Tokens", &k.ReasoningTokens)
	num("Answer-Tokens", &k.AnswerTokens)
	num("Events", &k.Events)
	dur("Slow-Headers", &k.SlowHeaders)
	dur("Ttft", &k.TTFT)
	if v := h.Get("X-Sim-Hang"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("invalid X-Sim-Hang %q", v))
		}
		k.Hang = &b
	}
	if v := h.Get("X-Sim-Tps"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			errs = append(errs, fmt.Errorf("invalid X-Sim-TPS %q", v))
		}
		k.TPS = &f
	}
	if v, ok := h["X-Sim-Answer"]; ok {
		k.Answer = &v[0]
	}
	if v, ok := h["X-Sim-Reasoning"]; ok {
		k.Reasoning = &v[0]
	}
	if v, ok := h["X-Sim-Echo-System"]; ok {
		k.EchoSystem = &v[0]
	}
	return k, errors.Join(errs...)
}

// hasSimHeader reports whether any X-Sim-* header is present, so that the
// common case costs one pass over the header names and no allocation.
func hasSimHeader(h http.Header) bool {
	for name := range h {
		if len(name) > 6 && strings.EqualFold(name[:6], "X-Sim-") {
			return true
		}
	}
	return false
}

// merge overlays the fields set in o.
func (k *knobs) merge(o *knobs) {
	if o == nil {
		return
	}
	set := func(dst **int, src *int) {
		if src != nil {
			*dst = src
		}
	}
	set(&k.Status, o.Status)
	set(&k.RetryAfter, o.RetryAfter)
	set(&k.DropAfter, o.DropAfter)
	set(&k.ReasoningTokens, o.ReasoningTokens)
	set(&k.AnswerTokens, o.AnswerTokens)
	set(&k.Events, o.Events)
	if o.Hang != nil {
		k.Hang = o.Hang
	}
	if o.SlowHeaders != nil {
		k.SlowHeaders = o.SlowHeaders
	}
	if o.TTFT != nil {
		k.TTFT = o.TTFT
	}
	if o.TPS != nil {
		k.TPS = o.TPS
	}
	if o.Answer != nil {
		k.Answer = o.Answer
	}
	if o.Reasoning != nil {
		k.Reasoning = o.Reasoning
	}
	if o.EchoSystem != nil {
		k.EchoSystem = o.EchoSystem
	}
}

// validate rejects values that make no sense.
func (k *knobs) validate() error {
	counts := [...]struct {
		name string
		p    *int
	}{
		{"drop_after", k.DropAfter}, {"reasoning_tokens", k.ReasoningTokens},
		{"answer_tokens", k.AnswerTokens}, {"events", k.Events}, {"retry_after", k.RetryAfter},
	}
	for _, c := range counts {
		if c.p != nil && *c.p < 0 {
			return fmt.Errorf("x_sim.%s must not be negative", c.name)
		}
	}
	if k.TPS != nil && (*k.TPS < 0 || *k.TPS != *k.TPS) {
		return errors.New("x_sim.tps must not be negative")
	}
	if k.EchoSystem != nil && *k.EchoSystem != "answer" && *k.EchoSystem != "reasoning" {
		return errors.New(`x_sim.echo_system must be "answer" or "reasoning"`)
	}
	return nil
}

// applyFaults acts on the knobs that precede any answer: slow_headers,
// retry_after, status and hang. It reports whether the request is finished.
func (s *Server) applyFaults(ctx context.Context, w http.ResponseWriter, k knobs) bool {
	if k.SlowHeaders != nil && !sleep(ctx, time.Duration(*k.SlowHeaders)) {
		return true
	}
	if k.RetryAfter != nil {
		w.Header().Set("Retry-After", strconv.Itoa(*k.RetryAfter))
	}
	if k.Status != nil && *k.Status >= 400 && *k.Status <= 599 {
		s.writeError(w, *k.Status, faultMessage(*k.Status), "")
		return true
	}
	if k.Hang != nil && *k.Hang {
		<-ctx.Done()
		return true
	}
	return false
}

// faultMessage is the message real servers send for a status.
func faultMessage(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "Rate limit reached for requests"
	case http.StatusServiceUnavailable:
		return "Server overloaded, please retry shortly"
	case http.StatusPaymentRequired:
		return "Insufficient Balance"
	}
	return http.StatusText(status)
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// bodyKnobs extracts only the x_sim object, for endpoints whose body is not
// otherwise decoded.
func bodyKnobs(body []byte) (*knobs, error) {
	if len(body) == 0 {
		return nil, nil
	}
	var v struct {
		XSim *knobs `json:"x_sim"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	return v.XSim, nil
}
