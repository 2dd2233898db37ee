package proxy

import (
	"context"
	"net/http"

	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/route"
)

// Stage is one security stage of the request path (WAF, limits, guards,
// DLP). Check inspects the call; it returns an *apierr.Error to refuse the
// request (the one error renderer turns it into the client's answer), adds
// verdicts to the record, and may edit the request or attach a finish hook
// through the call. An error that is not an
// *apierr.Error is a failure of the stage, answered 500: a stage that fails
// never lets a request through by accident.
type Stage interface {
	Check(ctx context.Context, c *Call) error
}

// Call is what a stage sees of one request.
type Call struct {
	// HTTP is the client's request; its body was already read into Body.
	HTTP *http.Request
	// Body is the request body as the client sent it.
	Body []byte
	// Req is the decoded request; nil for stages that run before decoding.
	Req *openai.Request
	// Route is the chosen route; nil before routing.
	Route *route.Route
	// Rec is the request's record; stages add verdicts to it.
	Rec *record.Record
	// Edits are applied to the body sent upstream; stages may set
	// SetContent to replace a message's text (masking).
	Edits openai.Edits
	// Header is the client's response header: stages may add headers to
	// every answer, refusals included (the x-ratelimit-* headers).
	Header http.Header

	finish  []func(rec *record.Record)
	filters []Filter
}

// OnFinish runs fn when the request ends, after usage is known, whatever
// the outcome (limits settle their reservations here).
func (c *Call) OnFinish(fn func(rec *record.Record)) { c.finish = append(c.finish, fn) }
