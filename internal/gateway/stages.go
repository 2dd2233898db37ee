package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/waf"
)

// wafStage runs the WAF on the raw request, before it is decoded.
type wafStage struct{ w *waf.WAF }

// Check implements proxy.Stage.
func (s wafStage) Check(ctx context.Context, c *proxy.Call) error {
	v, err := s.w.Inspect(ctx, c.HTTP, c.Body)
	if v.Status != 0 {
		action := "block"
		if !v.Blocked {
			action = "detect"
		}
		c.Rec.AddVerdict(record.Verdict{
			Stage:  "waf",
			Rule:   strconv.Itoa(v.Rule),
			Action: action,
			Score:  float64(v.Score),
			Detail: fmt.Sprint(v.RuleIDs),
		})
	}
	if !v.Blocked {
		return nil
	}
	status := v.Status
	if status < 400 {
		status = http.StatusForbidden
	}
	// The client learns that the firewall refused the request and the
	// request ID to quote, never which rule matched.
	e := apierr.New(status, apierr.TypePermission, "request_blocked",
		"The request was blocked by the gateway's web application firewall; quote request ID "+c.Rec.ID+" if you believe this is a mistake.")
	if status == http.StatusRequestEntityTooLarge {
		e.Type, e.Code = apierr.TypeInvalidRequest, "body_too_large"
	}
	e.Cause = err
	return e
}

var _ proxy.Stage = wafStage{}
