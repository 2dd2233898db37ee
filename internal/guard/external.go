package guard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/rampart-gw/rampart/internal/urlsafe"
)

// externalTypes are the supported external guard protocols.
var externalTypes = map[string]func(ExternalConfig) caller{
	"webhook":           func(c ExternalConfig) caller { return webhook{c} },
	"openai_moderation": func(c ExternalConfig) caller { return moderation{c} },
	"llama_guard":       func(c ExternalConfig) caller { return llamaGuard{c} },
}

// decision is what an external guard answered.
type decision struct {
	action   string // pass, mask or reject
	score    float64
	category string
	masked   []Message // for mask: the messages to forward instead
}

// Directions of an external call.
const (
	dirInput  = "input"
	dirOutput = "output"
)

// caller speaks one external guard protocol. dir is dirInput for request
// messages, dirOutput for an answer (messages of role assistant and
// reasoning, after the last user message for context when the protocol
// needs one).
type caller interface {
	call(ctx context.Context, hc *http.Client, dir string, msgs []Message) (decision, error)
}

type external struct {
	cfg   ExternalConfig
	roles map[string]bool
	c     caller
	hc    *http.Client
}

func newExternal(c ExternalConfig) external {
	return external{cfg: c, roles: set(c.Roles), c: externalTypes[c.Type](c), hc: newExternalClient(c.Timeout)}
}

// externalTransport carries every external guard call. Its address is the
// configured one only: proxy environment variables (HTTP_PROXY, HTTPS_PROXY,
// NO_PROXY) are ignored. It is shared by all guards, so that a reload does
// not leave idle connections behind in an abandoned transport.
var externalTransport = &http.Transport{
	Proxy: nil,
	DialContext: (&net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
	}).DialContext,
	ForceAttemptHTTP2:      true,
	MaxIdleConns:           100,
	MaxIdleConnsPerHost:    16,
	IdleConnTimeout:        90 * time.Second,
	TLSHandshakeTimeout:    10 * time.Second,
	ExpectContinueTimeout:  1 * time.Second,
	MaxResponseHeaderBytes: 64 << 10,
}

// newExternalClient returns the client of one external guard: no proxy and
// no redirects. A 3xx answer is returned as it is, and postJSON treats any
// status but 200 as a failure, so the guard's fail_mode applies; the
// messages and the guard's key never go to an address the configuration
// did not name.
func newExternalClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:   timeout,
		Transport: externalTransport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// maxExternalBody bounds what an external guard may send back.
const maxExternalBody = 1 << 20

// inspectExternal calls each input external guard with the messages of its
// roles. A guard that errs or times out fails closed (block) unless
// configured open; either way the failure is a verdict, never a silent
// pass.
func (g *Guards) inspectExternal(ctx context.Context, msgs []Message, r Result) (Result, error) {
	for _, e := range g.external {
		if !e.cfg.Input() {
			continue
		}
		sel, idx := selectRoles(msgs, e.roles)
		if len(sel) == 0 {
			continue
		}
		d, err := e.call(ctx, dirInput, sel)
		if ctx.Err() != nil {
			return r, fmt.Errorf("external guard %s: %w", e.cfg.Name, ctx.Err())
		}
		var masked bool
		r.Verdicts, masked = g.externalVerdicts(ctx, r.Verdicts, e, d, err, true)
		if masked {
			r.Messages = applyMask(msgs, r.Messages, idx, d.masked)
		}
	}
	return r, nil
}

// call makes one bounded call.
func (e *external) call(ctx context.Context, dir string, msgs []Message) (decision, error) {
	cctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	return e.c.call(cctx, e.hc, dir, msgs)
}

// ruleUnavailable is the rule of the verdict of an external guard that
// failed.
const ruleUnavailable = "unavailable"

// externalVerdicts turns one external answer (or failure) into verdicts and
// reports whether its mask is to be applied. canMask is false where the
// text cannot be rewritten any more (a stream already sent): a mask there
// takes the guard's action, as a reject does.
func (g *Guards) externalVerdicts(ctx context.Context, out []Verdict, e external, d decision, err error, canMask bool) ([]Verdict, bool) {
	id := "external:" + e.cfg.Name
	if err != nil {
		g.log.WarnContext(ctx, "external guard failed", "guard", e.cfg.Name, "fail_mode", e.cfg.FailMode, "err", err)
		action := ActionBlock
		if e.cfg.FailMode == "open" {
			action = ActionFlag
		}
		return g.verdict(out, shadowIf(e.cfg.Shadow, action), Verdict{Guard: id, Rule: ruleUnavailable, Score: 1, Category: "error"}), false
	}
	switch {
	case d.action == "reject":
		return g.verdict(out, shadowIf(e.cfg.Shadow, e.cfg.Action), Verdict{Guard: id, Rule: "reject", Score: d.score, Category: d.category}), false
	case d.action == "mask" && !canMask:
		return g.verdict(out, shadowIf(e.cfg.Shadow, e.cfg.Action), Verdict{Guard: id, Rule: "mask", Score: d.score, Category: d.category}), false
	case d.action == "mask":
		out = g.verdict(out, shadowIf(e.cfg.Shadow, ActionMask), Verdict{Guard: id, Rule: "mask", Score: d.score, Category: d.category})
		return out, !e.cfg.Shadow && !g.cfg.Shadow
	}
	return out, false
}

func shadowIf(shadow bool, action string) string {
	if shadow {
		return ActionShadow
	}
	return action
}

func selectRoles(msgs []Message, roles map[string]bool) ([]Message, []int) {
	var sel []Message
	var idx []int
	for i, m := range msgs {
		if roles[m.Role] {
			sel = append(sel, m)
			idx = append(idx, i)
		}
	}
	return sel, idx
}

// applyMask writes masked texts back into a copy of the request messages.
func applyMask(orig, cur []Message, idx []int, masked []Message) []Message {
	if cur == nil {
		cur = append([]Message(nil), orig...)
	}
	for i, m := range masked {
		if i < len(idx) {
			cur[idx[i]].Text = m.Text
		}
	}
	return cur
}

var errStatus = errors.New("unexpected status")

// postJSON sends v and decodes the JSON answer into out.
func postJSON(ctx context.Context, hc *http.Client, rawURL, key string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request: %s", urlsafe.ParseProblem(err))
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("call: %w", stripURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxExternalBody))
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w %d", errStatus, resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

// stripURL returns err, when it is a *url.Error, with its URL reduced to
// scheme, host and path: no user information, query or fragment, where a
// password or key may be. net/http already hides the password, but not a
// key in the query.
func stripURL(err error) error {
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	safe := "[invalid URL]"
	if u, perr := url.Parse(ue.URL); perr == nil {
		c := *u
		c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
		safe = c.String()
	}
	if safe == ue.URL {
		return err
	}
	return &url.Error{Op: ue.Op, URL: safe, Err: ue.Err}
}

func joinURL(base, path string) string {
	return strings.TrimRight(base, "/") + path
}
