package gateway

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/policy"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/record"
)

// authzStage applies the authorization rules (the authz section) to a
// routed request, and filters GET /v1/models by the same rules.
type authzStage struct {
	a   *policy.Authz
	log *slog.Logger
}

// newAuthzStage compiles the rules of c.
func newAuthzStage(c *config.Authz, log *slog.Logger) (*authzStage, error) {
	a, err := policy.NewAuthz(c.Mode, c.Default, c.RuleSpecs())
	if err != nil {
		return nil, err
	}
	return &authzStage{a: a, log: log}, nil
}

// Check implements proxy.Stage.
func (s *authzStage) Check(_ context.Context, c *proxy.Call) error {
	rec := c.Rec
	in := policy.AuthzInput{Principal: &rec.Principal, Endpoint: rec.Endpoint, ClientIP: rec.ClientIP, TLS: c.HTTP.TLS}
	if c.Route != nil {
		in.Route = c.Route.Name
	}
	if r := c.Req; r != nil {
		in.Model, in.Stream, in.MaxTokens, in.Tools = r.Model, r.Stream, r.MaxTokens, r.HasTools
	}
	d := s.a.Decide(&in)
	if d.Err != nil {
		// A rule that failed never allowed: the decision already counts it
		// as such; the operator needs to know that the rule is broken.
		s.log.Warn("authorization rule failed; counted as not allowing", "request_id", rec.ID,
			"rule", d.ErrRule, "error", d.Err.Error())
	}
	rule := d.Rule
	if rule == "" {
		rule = "default"
	}
	if d.Allow {
		if d.Rule != "" {
			rec.AddVerdict(record.Verdict{Stage: "authz", Rule: rule, Action: "pass"})
		}
		return nil
	}
	rec.AddVerdict(record.Verdict{Stage: "authz", Rule: rule, Action: "block"})
	s.log.Info("request denied by authorization", "request_id", rec.ID, "rule", rule,
		"principal", rec.Principal.ID, "team", rec.Principal.Team, "model", in.Model, "route", in.Route)
	// The client learns that the policy refused it and the request ID to
	// quote, never which rule decided or what it says.
	return apierr.New(http.StatusForbidden, apierr.TypePermission, "permission_denied",
		"The gateway's access policy does not allow this request; quote request ID "+rec.ID+" if you believe this is a mistake.")
}

// AllowsModel implements proxy.ModelFilter: the rules see request.model
// and request.route set and the other request fields empty.
func (s *authzStage) AllowsModel(r *http.Request, rec *record.Record, model, route string) bool {
	d := s.a.Decide(&policy.AuthzInput{Principal: &rec.Principal, Model: model, Route: route,
		ClientIP: rec.ClientIP, TLS: r.TLS})
	if d.Err != nil {
		s.log.Debug("authorization rule failed while listing models", "request_id", rec.ID,
			"rule", d.ErrRule, "model", model, "error", d.Err.Error())
	}
	return d.Allow
}

var (
	_ proxy.Stage       = (*authzStage)(nil)
	_ proxy.ModelFilter = (*authzStage)(nil)
)
