package config

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/rampart-gw/rampart/internal/policy"
)

// Authz is the authorization section: rules, written in CEL, that allow or
// deny an authenticated request once it is routed. Without the section
// every authenticated caller may use the models its key or token allows;
// with it, a request no rule decides gets Default, which is deny unless
// set.
type Authz struct {
	// Mode is how the rules combine: first_match (the first rule whose
	// condition holds decides) or deny_overrides (any deny rule that holds
	// denies; otherwise any allow rule that holds allows). Default:
	// first_match.
	Mode string `yaml:"mode"`
	// Default is the decision when no rule holds: allow or deny. Default:
	// deny.
	Default string `yaml:"default"`
	// Rules are tried in order.
	Rules []AuthzRule `yaml:"rules"`
}

// AuthzRule is one authorization rule.
type AuthzRule struct {
	// Name identifies the rule in the request record and the log; the
	// client never sees it. Required and unique.
	Name string `yaml:"name"`
	// When is a CEL condition over principal, request and connection, such
	// as `principal.team == "ml" && !request.tools`. Required.
	When string `yaml:"when"`
	// Action is allow or deny. Required.
	Action string `yaml:"action"`
}

// SetDefaults fills the zero fields of the authorization section.
func (a *Authz) SetDefaults() {
	if a == nil {
		return
	}
	setString(&a.Mode, policy.FirstMatch)
	setString(&a.Default, policy.ActionDeny)
}

// validate checks the section and compiles every condition, so that a
// rule that cannot run stops the start-up, not a request.
func (a *Authz) validate(errs *Errors, p string) {
	if a == nil {
		return
	}
	switch a.Mode {
	case "", policy.FirstMatch, policy.DenyOverrides:
	default:
		errs.add(p+".mode", 0, "must be first_match or deny_overrides, not "+strconv.Quote(a.Mode))
	}
	switch a.Default {
	case "", policy.ActionAllow, policy.ActionDeny:
	default:
		errs.add(p+".default", 0, "must be allow or deny, not "+strconv.Quote(a.Default))
	}
	seen := make(map[string]int, len(a.Rules))
	for i, r := range a.Rules {
		rp := fmt.Sprintf("%s.rules[%d]", p, i)
		if r.Name == "" {
			errs.add(rp+".name", 0, "is required")
		} else if j, dup := seen[r.Name]; dup {
			errs.add(rp+".name", 0, fmt.Sprintf("%q is also the name of rules[%d]", r.Name, j))
		} else {
			seen[r.Name] = i
		}
		switch r.Action {
		case policy.ActionAllow, policy.ActionDeny:
		case "":
			errs.add(rp+".action", 0, "is required: allow or deny")
		default:
			errs.add(rp+".action", 0, "must be allow or deny, not "+strconv.Quote(r.Action))
		}
		if _, err := policy.CompileCondition(r.When); err != nil {
			errs.add(rp+".when", 0, err.Error())
		}
	}
}

func (a *Authz) clone() *Authz {
	if a == nil {
		return nil
	}
	out := *a
	out.Rules = slices.Clone(a.Rules)
	return &out
}

// RuleSpecs returns the rules as the policy package compiles them.
func (a *Authz) RuleSpecs() []policy.RuleSpec {
	if a == nil {
		return nil
	}
	out := make([]policy.RuleSpec, len(a.Rules))
	for i, r := range a.Rules {
		out[i] = policy.RuleSpec{Name: r.Name, Action: r.Action, When: r.When}
	}
	return out
}
