package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/killswitch"
	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/policy"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/route"
	"github.com/rampart-gw/rampart/internal/trace"
	"github.com/rampart-gw/rampart/internal/upstream"
)

// forward decodes the request, picks the route and calls its upstreams in
// failover order.
func (ex *exchange) forward(ep *endpoint) {
	body, err := ex.readBody()
	if err != nil {
		ex.fail(err)
		return
	}
	c := &Call{HTTP: ex.r, Body: body, Rec: ex.rec, Header: ex.w.Header()}
	ex.call = c
	if !ex.runStages(ex.s.PreStages, c) {
		return
	}
	lim := ex.s.Decode
	// The texts are for the stages: with none, checking them is enough,
	// and not keeping them saves a copy of the body. With stages they are
	// always kept, whatever the snapshot says.
	lim.SkipTexts = len(ex.s.Stages) == 0
	req, err := openai.Decode(ep.kind, body, lim)
	if err != nil {
		ex.fail(err)
		return
	}
	c.Req = req
	rec := ex.rec
	rec.ModelRequested = req.Model
	rec.Stream = req.Stream
	rt, ok := ex.s.Routes.Match(req.Model)
	if !ok || !route.Allowed(rec.Principal.Models, req.Model) {
		// One answer for "no such model" and "not yours", as OpenAI does,
		// so that a caller cannot probe which models exist.
		// The status is 404, as OpenAI's API answers model_not_found.
		e := apierr.BadParam("model", "model_not_found",
			fmt.Sprintf("The model %q does not exist or you do not have access to it.", clip(req.Model, 128)))
		e.Status = http.StatusNotFound
		ex.fail(e)
		return
	}
	rec.Route = rt.Name
	c.Route = rt
	if !ex.runStages(ex.s.Stages, c) {
		return
	}
	ex.callUpstreams(ep, req, rt, c.Edits)
}

// runStages runs stages in order; false when one refused the request.
func (ex *exchange) runStages(stages []Stage, c *Call) bool {
	for _, st := range stages {
		if err := st.Check(ex.r.Context(), c); err != nil {
			ex.fail(err)
			return false
		}
	}
	return true
}

// callUpstreams tries the route's upstreams. It moves to the next one only while
// nothing has reached the client: on a connect failure, a 5xx or a 429.
func (ex *exchange) callUpstreams(ep *endpoint, req *openai.Request, rt *route.Route, base openai.Edits) {
	targets := rt.Order(rand.Float64)
	if rt.PrivateWhen != nil && ex.private(req, rt) {
		ex.privateOnly = true
		if targets = privateTargets(targets); len(targets) == 0 {
			ex.fail(apierr.New(http.StatusServiceUnavailable, apierr.TypeServer, "no_private_upstream",
				"The request may only go to a private upstream, and none is available; retry later."))
			return
		}
	}
	if ks := ex.s.Kill; ks != nil {
		var kill killswitch.Kill
		if targets, kill = aliveTargets(ks, req.Model, rt, targets); len(targets) == 0 {
			ex.failKilled(kill, req.Model)
			return
		}
	}
	var healthWait time.Duration
	if targets, healthWait = usableTargets(targets); len(targets) == 0 {
		e := apierr.New(http.StatusServiceUnavailable, apierr.TypeServer, "upstream_unavailable",
			"The model's upstreams are failing their health checks or were ejected after repeated failures, and are temporarily not called; retry later.")
		e.RetryAfter = max(healthWait, time.Second)
		ex.fail(e)
		return
	}
	var openWait time.Duration      // set when a circuit breaker refused a target
	var killedSince killswitch.Kill // set when a target was killed after the choice above
	ex.rec.GatewayTime = time.Since(ex.rec.Start)
	for attempt := 0; attempt < rt.MaxAttempts; attempt++ {
		tgt := targets[attempt%len(targets)]
		// The first attempt's target was just checked; for the later ones,
		// a kill made during an earlier attempt or its backoff cuts the
		// target off for the attempts left too, and so does an ejection or
		// a failed health check.
		if ks := ex.s.Kill; ks != nil && attempt > 0 {
			if k, killed := ks.Killed(tgt.Client.Name, req.Model, rt.Name); killed {
				killedSince = k
				continue
			}
		}
		if h := tgt.Client.Health; h != nil && attempt > 0 {
			if ok, wait := h.Usable(); !ok {
				if healthWait == 0 || wait < healthWait {
					healthWait = wait
				}
				continue
			}
		}
		if ok, wait := tgt.Client.Breaker.Allow(); !ok {
			// An open breaker costs nothing: move on at once.
			if openWait == 0 || wait < openWait {
				openWait = wait
			}
			continue
		}
		if attempt > 0 && !ex.backoff(rt.Backoff) {
			ex.fail(upstream.Classify(ex.r.Context(), context.Canceled).Error)
			return
		}
		ex.rec.Attempts = attempt + 1
		ex.rec.Upstream = tgt.Client.Name
		ex.rec.Tried = append(ex.rec.Tried, tgt.Client.Name)
		out, err := ex.upstreamBody(req, ex.edits(ep, req, rt, tgt, base))
		if err != nil {
			ex.fail(err)
			return
		}
		if !ex.attempt(ep, req, rt, tgt, out, attempt+1 == rt.MaxAttempts) {
			return
		}
	}
	// Every attempt left was refused by the kill switch, the upstreams'
	// health or an open circuit breaker.
	if killedSince.Target != "" {
		ex.failKilled(killedSince, req.Model)
		return
	}
	e := apierr.New(http.StatusServiceUnavailable, apierr.TypeServer, "upstream_unavailable",
		"The model's upstreams are failing and temporarily not called; retry later.")
	e.RetryAfter = openWait
	if healthWait > 0 && (openWait == 0 || healthWait < openWait) {
		e.RetryAfter = healthWait
	}
	e.RetryAfter = max(e.RetryAfter, time.Second)
	ex.fail(e)
}

// privateFailure is the answer when the last upstream attempt failed. A
// request that may only go to a private upstream, whose private upstreams
// are down (unreachable, 5xx, timed out), gets 503 no_private_upstream, as
// when the route has none: the client learns that the sensitive request
// could not be served privately, and that it was not sent elsewhere. Other
// failures are answered as they are.
func (ex *exchange) privateFailure(err error) error {
	if !ex.privateOnly {
		return err
	}
	switch orig := apierr.From(err); orig.Status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		e := apierr.Wrap(err, http.StatusServiceUnavailable, apierr.TypeServer, "no_private_upstream",
			"The request may only go to a private upstream, and the private upstreams failed; retry later.")
		e.RetryAfter = max(orig.RetryAfter, time.Second)
		return e
	}
	return err
}

// failKilled records the kill and answers when the kill switch has cut off
// every upstream a request could go to.
func (ex *exchange) failKilled(k killswitch.Kill, model string) {
	ex.rec.AddVerdict(record.Verdict{Stage: "killswitch", Rule: k.Target, Action: "block"})
	ex.fail(apierr.New(http.StatusServiceUnavailable, apierr.TypeServer, "upstream_killed",
		fmt.Sprintf("Requests to the model %q are suspended by the gateway's kill switch; retry later or use another model.", clip(model, 128))))
}

// usableTargets returns the targets whose health allows requests (two
// atomic loads each) and, when none does, the shortest wait until one may.
// When every target is usable it returns targets itself.
func usableTargets(targets []route.Target) ([]route.Target, time.Duration) {
	var usable []route.Target
	var wait time.Duration
	skipped := false
	for i, t := range targets {
		if h := t.Client.Health; h != nil {
			if ok, d := h.Usable(); !ok {
				if !skipped {
					usable = append(make([]route.Target, 0, len(targets)-1), targets[:i]...)
					skipped = true
				}
				if wait == 0 || d < wait {
					wait = d
				}
				continue
			}
		}
		if skipped {
			usable = append(usable, t)
		}
	}
	if !skipped {
		return targets, 0
	}
	return usable, wait
}

// observe tells the upstream's health whether a call succeeded.
func observe(c *upstream.Client, ok bool) {
	if h := c.Health; h != nil {
		h.Observe(ok)
	}
}

// aliveTargets returns the targets that no kill cuts, and the last kill
// that cut one. Without kills it returns targets itself.
func aliveTargets(ks *killswitch.Switch, model string, rt *route.Route, targets []route.Target) ([]route.Target, killswitch.Kill) {
	var kill killswitch.Kill
	alive := targets
	for i, t := range targets {
		if k, killed := ks.Killed(t.Client.Name, model, rt.Name); killed {
			if kill.Target == "" {
				alive = append([]route.Target(nil), targets[:i]...)
			}
			kill = k
			continue
		}
		if kill.Target != "" {
			alive = append(alive, t)
		}
	}
	return alive, kill
}

// upstreamCall holds one attempt's resources until its answer has been
// relayed, and what the relay of a stream needs.
type upstreamCall struct {
	ctx        context.Context
	cancel     context.CancelCauseFunc
	span       trace.Span
	spanErr    error
	ceiling    *time.Timer
	unregister func() // the kill switch's hold on the call; nil without one
	resp       *http.Response

	req *openai.Request
	rt  *route.Route
	tgt route.Target
}

// end releases the call's resources, in the reverse order of their taking.
func (uc *upstreamCall) end() {
	if uc.resp != nil {
		uc.resp.Body.Close()
	}
	if uc.unregister != nil {
		uc.unregister()
	}
	uc.ceiling.Stop()
	uc.span.End(uc.spanErr)
	uc.cancel(nil)
}

// attempt makes one upstream call; it returns true when the next upstream
// should be tried (nothing reached the client and the failure allows it).
// A stream that the upstream accepted is not relayed here but handed to
// relayPending, which ServeHTTP runs once this call chain has returned.
func (ex *exchange) attempt(ep *endpoint, req *openai.Request, rt *route.Route, tgt route.Target, body []byte, last bool) bool {
	rec := ex.rec
	uc := &ex.up
	*uc = upstreamCall{req: req, rt: rt, tgt: tgt}
	uc.ctx, uc.cancel = context.WithCancelCause(ex.r.Context())
	// A span per attempt when the request is traced; nothing otherwise.
	uc.ctx, uc.span = trace.StartAttempt(uc.ctx, trace.Attempt{Upstream: tgt.Client.Name, System: tgt.Client.Flavor,
		Operation: ep.name, Model: req.Model, N: rec.Attempts})
	handedOff := false
	defer func() {
		if !handedOff {
			uc.end()
		}
	}()
	ctx, cancel := uc.ctx, uc.cancel
	uc.ceiling = time.AfterFunc(tgt.Client.Timeouts.Total, func() { cancel(upstream.ErrTotalTimeout) })
	if ks := ex.s.Kill; ks != nil {
		// A kill cancels this call even while the upstream hangs. One made
		// since the caller checked, before the registration, cancels it
		// here.
		uc.unregister = ks.Register(tgt.Client.Name, req.Model, rt.Name, cancel)
		if _, killed := ks.Killed(tgt.Client.Name, req.Model, rt.Name); killed {
			cancel(upstream.ErrKilled)
		}
	}
	br := tgt.Client.Breaker
	resp, err := tgt.Client.Do(ctx, ep.path, body, req.Stream, rec.ID)
	if err != nil {
		f := upstream.Classify(ctx, err)
		uc.spanErr = f.Error
		if f.Status == upstream.StatusClientClosed {
			br.Release()
		} else {
			br.Failure()
		}
		if f.Status != upstream.StatusClientClosed && !errors.Is(context.Cause(ctx), upstream.ErrKilled) {
			// A client that left or a kill says nothing of the upstream.
			observe(tgt.Client, false)
		}
		if f.Retryable && !last {
			ex.s.Log.Info("upstream unreachable, failing over", "request_id", rec.ID,
				"upstream", tgt.Client.Name, "error", err.Error())
			return true
		}
		ex.fail(ex.privateFailure(f.Error))
		return false
	}
	uc.resp = resp
	uc.span.Status(resp.StatusCode)
	if resp.StatusCode >= 500 {
		br.Failure()
	} else {
		br.Success()
	}
	observe(tgt.Client, resp.StatusCode < 500)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		e := upstreamStatusError(resp)
		if !last {
			ex.s.Log.Info("upstream refused, failing over", "request_id", rec.ID,
				"upstream", tgt.Client.Name, "status", resp.StatusCode)
			return true
		}
		ex.fail(ex.privateFailure(e))
		return false
	}
	if resp.StatusCode >= 300 {
		ex.fail(upstreamStatusError(resp))
		return false
	}
	if req.Stream {
		ex.pending = uc
		handedOff = true
		return false
	}
	_, relay := trace.Start(ctx, "relay")
	ex.relayWhole(ctx, resp, ep, rt, tgt)
	relay.End(nil)
	return false
}

// relayPending relays the stream attempt handed over, and then ends its
// call. ServeHTTP runs it once serve has returned: the connection's
// goroutine waits on an open stream for the stream's whole life, and
// waiting here rather than below the calls that chose the upstream keeps
// about 2 KiB of frames off its stack, which is what keeps that stack at
// 8 KiB rather than 16 (docs/architecture.md).
func (ex *exchange) relayPending() {
	uc := ex.pending
	ex.pending = nil
	defer uc.end()
	// The relay lets the request go once the stream starts; the call does
	// not keep it either.
	req := uc.req
	uc.req = nil
	_, relay := trace.Start(uc.ctx, "relay")
	ex.relayStream(uc.ctx, uc.cancel, uc.resp, req, uc.rt, uc.tgt)
	relay.End(nil)
}

// edits says how the body sent to tgt differs from the client's.
func (ex *exchange) edits(ep *endpoint, req *openai.Request, rt *route.Route, tgt route.Target, base openai.Edits) openai.Edits {
	e := base
	e.Model = rt.UpstreamModel(req.Model, tgt)
	if req.Stream {
		// Usage is always asked for, so that every stream is counted.
		e.ForceIncludeUsage = true
	}
	if ep.kind == openai.Chat && tgt.Client.Flavor == upstream.FlavorDeepSeek {
		// DeepSeek's reasoner answers 400 when history carries reasoning.
		e.StripReasoning = true
	}
	// The route's cap applies on top of any cap a stage (limits) set.
	if rt.MaxTokens > 0 && ep.kind != openai.Embeddings && (req.MaxTokens == 0 || req.MaxTokens > rt.MaxTokens) &&
		(e.MaxTokens == 0 || e.MaxTokens > rt.MaxTokens) {
		e.MaxTokens = rt.MaxTokens
	}
	return e
}

// backoff waits before the next attempt, with full jitter. It returns false
// when the client went away meanwhile.
func (ex *exchange) backoff(base time.Duration) bool {
	if base <= 0 {
		return ex.r.Context().Err() == nil
	}
	d := base + time.Duration(rand.Int64N(int64(base)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ex.r.Context().Done():
		return false
	}
}

// upstreamStatusError maps an upstream's error response to the client's
// answer. Provider credential failures are the gateway's problem, not the
// client's, and never reveal the provider's message.
func upstreamStatusError(resp *http.Response) *apierr.Error {
	msg := upstreamMessage(resp.Body)
	st := resp.StatusCode
	switch {
	case st == http.StatusTooManyRequests:
		e := apierr.New(st, apierr.TypeRateLimit, "upstream_rate_limited",
			"The model's upstream is rate limiting requests; retry later.")
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
		return e
	case st >= 500:
		return apierr.New(http.StatusBadGateway, apierr.TypeServer, "upstream_error",
			fmt.Sprintf("The model's upstream failed with status %d.", st))
	case st == http.StatusUnauthorized || st == http.StatusForbidden || st == http.StatusPaymentRequired:
		return apierr.New(http.StatusBadGateway, apierr.TypeServer, "upstream_auth_failed",
			"The model's upstream refused the gateway's credentials; contact the gateway's operators.")
	case st >= 400:
		m := "The model's upstream rejected the request."
		if msg != "" {
			m += " It said: " + clip(msg, 300)
		}
		return apierr.New(st, apierr.TypeInvalidRequest, "upstream_rejected", m)
	}
	return apierr.New(http.StatusBadGateway, apierr.TypeServer, "upstream_error",
		fmt.Sprintf("The model's upstream answered with unexpected status %d.", st))
}

// upstreamMessage extracts the message of an OpenAI-, DeepSeek- or
// vLLM-style error body.
func upstreamMessage(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	var v struct {
		Message string `json:"message"`
		Error   struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &v, json.RejectUnknownMembers(false)) != nil {
		return ""
	}
	if v.Error.Message != "" {
		return v.Error.Message
	}
	return v.Message
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, time.Hour)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return min(d, time.Hour)
		}
	}
	return 0
}

// private evaluates the route's private_when for this request. An
// expression that fails counts as true: in doubt, the data stays private.
func (ex *exchange) private(req *openai.Request, rt *route.Route) bool {
	hdr := make(map[string]string, len(ex.r.Header))
	for k, v := range ex.r.Header {
		if len(v) > 0 && k != "Authorization" {
			hdr[strings.ToLower(k)] = v[0]
		}
	}
	private, err := rt.PrivateWhen.Eval(policy.Input{
		Principal: ex.rec.Principal,
		Model:     req.Model,
		Stream:    req.Stream,
		MaxTokens: req.MaxTokens,
		Tools:     req.HasTools,
		Verdicts:  ex.rec.Verdicts(),
		Headers:   hdr,
	})
	if err != nil {
		ex.s.Log.Warn("private_when failed; treating the request as private", "request_id", ex.rec.ID,
			"route", rt.Name, "error", err.Error())
		private = true
	}
	if private {
		ex.rec.AddVerdict(record.Verdict{Stage: "route", Rule: "private_when", Action: "private"})
	}
	return private
}

// privateTargets keeps the targets that are not public.
func privateTargets(targets []route.Target) []route.Target {
	var out []route.Target
	for _, t := range targets {
		if !t.Client.Public {
			out = append(out, t)
		}
	}
	return out
}
