package policy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
	"github.com/rampart-gw/rampart/internal/record"
)

// Authorization modes: how the rules combine.
const (
	// FirstMatch: the first rule, in order, whose condition holds decides.
	FirstMatch = "first_match"
	// DenyOverrides: any deny rule that holds denies; otherwise any allow
	// rule that holds allows.
	DenyOverrides = "deny_overrides"
)

// Rule actions.
const (
	ActionAllow = "allow"
	ActionDeny  = "deny"
)

// authzCostLimit bounds the work of one rule; a rule over it fails, and a
// failed rule never allows.
const authzCostLimit = 10000

// authzEnv is the CEL environment of authorization rules, built on first
// use.
var authzEnv = sync.OnceValue(mustAuthzEnv)

func mustAuthzEnv() *cel.Env {
	e, err := cel.NewEnv(
		ext.NativeTypes(reflect.TypeFor[AuthzPrincipal](), reflect.TypeFor[AuthzRequest](),
			reflect.TypeFor[AuthzConnection](), reflect.TypeFor[AuthzCert](), ext.ParseStructTags(true)),
		cel.Variable("principal", cel.ObjectType("policy.AuthzPrincipal")),
		cel.Variable("request", cel.ObjectType("policy.AuthzRequest")),
		cel.Variable("connection", cel.ObjectType("policy.AuthzConnection")),
		ext.Strings(),
		ext.Network(),
	)
	if err != nil {
		panic(err)
	}
	return e
}

// AuthzPrincipal is `principal` in an authorization rule.
type AuthzPrincipal struct {
	// Kind is how the caller authenticated: api_key, jwt, oauth2, mtls or
	// anonymous. Method is the same.
	Kind   string `cel:"kind"`
	Method string `cel:"method"`
	// ID is the key's public id, the token's subject or the certificate's
	// identity; Subject is the same.
	ID      string   `cel:"id"`
	Subject string   `cel:"subject"`
	Name    string   `cel:"name"`
	Team    string   `cel:"team"`
	Scopes  []string `cel:"scopes"`
}

// AuthzRequest is `request` in an authorization rule.
type AuthzRequest struct {
	Model     string `cel:"model"`
	Route     string `cel:"route"`
	Endpoint  string `cel:"endpoint"` // chat, completions or embeddings
	Stream    bool   `cel:"stream"`
	MaxTokens int64  `cel:"max_tokens"`
	Tools     bool   `cel:"tools"` // the request offers tools
}

// AuthzConnection is `connection` in an authorization rule.
type AuthzConnection struct {
	ClientIP   string    `cel:"client_ip"`
	TLS        bool      `cel:"tls"`
	TLSVersion string    `cel:"tls_version"` // "1.2", "1.3" or ""
	Cipher     string    `cel:"cipher"`
	ALPN       string    `cel:"alpn"`
	ClientCert AuthzCert `cel:"client_cert"`
}

// AuthzCert is the verified client certificate of a connection; Present
// is false and the rest empty when there is none.
type AuthzCert struct {
	Present   bool      `cel:"present"`
	Subject   string    `cel:"subject"` // common name
	SubjectDN string    `cel:"subject_dn"`
	Issuer    string    `cel:"issuer"` // common name
	DNS       []string  `cel:"dns"`
	URIs      []string  `cel:"uris"`
	SPIFFEID  string    `cel:"spiffe_id"`
	Serial    string    `cel:"serial"` // hexadecimal
	NotAfter  time.Time `cel:"not_after"`
}

// Bounds of the static cost estimate: a rule is refused at start-up when
// its worst case over inputs within these sizes costs more than
// authzCostLimit, so that no rule can be slow on the request path. Inputs
// beyond the sizes (rare: a token with hundreds of scopes) are evaluated by
// a program that counts its cost at run time instead.
const (
	maxListSize   = 256
	maxStringSize = 4096
)

// authzSizes tells the cost estimator how large the inputs can be.
type authzSizes struct{}

func (authzSizes) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	if n.Path() == nil {
		return nil
	}
	var e cost.SizeEstimate
	switch n.Type().Kind() {
	case types.ListKind:
		e = cost.RangedSizeEstimate(0, maxListSize)
	case types.StringKind:
		e = cost.RangedSizeEstimate(0, maxStringSize)
	default:
		return nil
	}
	return &e
}

func (authzSizes) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}

// Condition is a compiled authorization condition.
type Condition struct {
	src     string
	prg     cel.Program // no cost tracking: the static estimate bounds it
	guarded cel.Program // with a run-time cost limit, for oversized inputs
}

// CompileCondition parses and checks an authorization condition: a boolean
// CEL expression over principal, request and connection (see AuthzInput
// for the fields). The error has no newlines, so that it fits after the
// configuration field it belongs to.
func CompileCondition(src string) (*Condition, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("the expression is empty")
	}
	compileMu.Lock()
	defer compileMu.Unlock()
	e := authzEnv()
	ast, iss := e.Compile(src)
	if iss.Err() != nil {
		return nil, errors.New(strings.ReplaceAll(iss.Err().Error(), "\n", " "))
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("the expression must be true or false, not %s", ast.OutputType())
	}
	est, err := e.EstimateCost(ast, authzSizes{})
	if err != nil {
		return nil, err
	}
	if est.Max > authzCostLimit {
		return nil, fmt.Errorf("the expression may cost up to %d, more than the limit of %d: simplify it", est.Max, authzCostLimit)
	}
	prg, err := e.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, err
	}
	guarded, err := e.Program(ast, cel.CostLimit(authzCostLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, err
	}
	return &Condition{src: src, prg: prg, guarded: guarded}, nil
}

// String returns the source of the condition.
func (c *Condition) String() string { return c.src }

// Eval evaluates the condition. An error (an invalid IP literal, the cost
// limit) is returned for the caller to fail closed.
func (c *Condition) Eval(in *AuthzInput) (bool, error) {
	return c.eval(&authzVars{in: in})
}

func (c *Condition) eval(a *authzVars) (bool, error) {
	prg := c.prg
	if !a.bounded() {
		prg = c.guarded
	}
	out, _, err := prg.Eval(a)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("the expression gave %v, not a boolean", out.Value())
	}
	return b, nil
}

// AuthzInput is what an authorization rule sees of a request.
//
//	principal:  kind (= method: api_key, jwt, oauth2, mtls, anonymous), method,
//	            id, subject (= id), name, team, scopes (list)
//	request:    model, route, endpoint (chat, completions, embeddings),
//	            stream, max_tokens (int), tools (bool: tools present)
//	connection: client_ip, tls (bool), tls_version ("1.2", "1.3" or ""),
//	            cipher, alpn, client_cert (map: present, subject,
//	            subject_dn, issuer, dns, uris, spiffe_id, serial, not_after)
type AuthzInput struct {
	Principal *record.Principal
	Model     string
	Route     string
	Endpoint  string
	Stream    bool
	MaxTokens int
	Tools     bool
	ClientIP  string
	// TLS is the client connection's state; nil for plain HTTP. Only a
	// client certificate the listener verified is shown to rules.
	TLS *tls.ConnectionState
}

// RuleSpec is one configured rule.
type RuleSpec struct {
	Name   string
	Action string // allow or deny
	When   string // CEL condition
}

type authzRule struct {
	name string
	deny bool
	cond *Condition
}

// Authz is a compiled list of authorization rules. It is safe for
// concurrent use.
type Authz struct {
	rules         []authzRule
	denyOverrides bool
	defaultAllow  bool
}

// Decision is the outcome of Decide.
type Decision struct {
	// Allow is the verdict.
	Allow bool
	// Rule is the name of the rule that decided; "" when the default did.
	Rule string
	// Err is the first rule failure met on the way, for the log. A failed
	// deny rule counts as holding and a failed allow rule as not holding.
	Err error
	// ErrRule names the rule that failed.
	ErrRule string
}

// NewAuthz compiles rules. mode is first_match (default) or
// deny_overrides; def, what happens when no rule holds, is deny (default)
// or allow. Errors name the rule by index and name.
func NewAuthz(mode, def string, rules []RuleSpec) (*Authz, error) {
	a := &Authz{}
	switch mode {
	case "", FirstMatch:
	case DenyOverrides:
		a.denyOverrides = true
	default:
		return nil, fmt.Errorf("mode must be %s or %s, not %q", FirstMatch, DenyOverrides, mode)
	}
	switch def {
	case "", ActionDeny:
	case ActionAllow:
		a.defaultAllow = true
	default:
		return nil, fmt.Errorf("default must be allow or deny, not %q", def)
	}
	for i, r := range rules {
		if r.Name == "" {
			return nil, fmt.Errorf("rules[%d]: name is required", i)
		}
		var deny bool
		switch r.Action {
		case ActionAllow:
		case ActionDeny:
			deny = true
		default:
			return nil, fmt.Errorf("rules[%d] (%s): action must be allow or deny, not %q", i, r.Name, r.Action)
		}
		c, err := CompileCondition(r.When)
		if err != nil {
			return nil, fmt.Errorf("rules[%d] (%s): when: %w", i, r.Name, err)
		}
		a.rules = append(a.rules, authzRule{name: r.Name, deny: deny, cond: c})
	}
	return a, nil
}

// Decide applies the rules to in.
func (a *Authz) Decide(in *AuthzInput) Decision {
	act := &authzVars{in: in}
	var d Decision
	if a.denyOverrides {
		allowedBy := ""
		for i := range a.rules {
			r := &a.rules[i]
			if !r.deny && allowedBy != "" {
				continue // one allow is enough; only denies still matter
			}
			ok, err := r.cond.eval(act)
			if err != nil {
				d.noteErr(r.name, err)
				ok = r.deny
			}
			if !ok {
				continue
			}
			if r.deny {
				d.Allow, d.Rule = false, r.name
				return d
			}
			allowedBy = r.name
		}
		if allowedBy != "" {
			d.Allow, d.Rule = true, allowedBy
			return d
		}
		d.Allow = a.defaultAllow
		return d
	}
	for i := range a.rules {
		r := &a.rules[i]
		ok, err := r.cond.eval(act)
		if err != nil {
			d.noteErr(r.name, err)
			ok = r.deny
		}
		if ok {
			d.Allow, d.Rule = !r.deny, r.name
			return d
		}
	}
	d.Allow = a.defaultAllow
	return d
}

func (d *Decision) noteErr(rule string, err error) {
	if d.Err == nil {
		d.Err, d.ErrRule = err, rule
	}
}

// authzVars resolves the three variables lazily, once per request, so
// that a rule over the principal alone never builds the connection's facts.
type authzVars struct {
	in *AuthzInput
	p  *AuthzPrincipal
	r  *AuthzRequest
	c  *AuthzConnection
	// sized is 0 before bounded ran, 1 within bounds, 2 beyond.
	sized uint8
}

func (a *authzVars) ResolveName(name string) (any, bool) {
	switch name {
	case "principal":
		if a.p == nil {
			a.p = authzPrincipalVars(a.in.Principal)
		}
		return a.p, true
	case "request":
		if a.r == nil {
			in := a.in
			a.r = &AuthzRequest{Model: in.Model, Route: in.Route, Endpoint: in.Endpoint, Stream: in.Stream,
				MaxTokens: int64(in.MaxTokens), Tools: in.Tools}
		}
		return a.r, true
	case "connection":
		if a.c == nil {
			a.c = authzConnectionVars(a.in.ClientIP, a.in.TLS)
		}
		return a.c, true
	}
	return nil, false
}

func (a *authzVars) Parent() interpreter.Activation { return nil }

// bounded reports whether the input is within the sizes the static cost
// estimate assumed. It is computed once per request.
func (a *authzVars) bounded() bool {
	if a.sized == 0 {
		a.sized = 2
		if a.in.fits() {
			a.sized = 1
		}
	}
	return a.sized == 1
}

// fits reports whether every string and list an expression can see is
// within the estimate's sizes.
func (in *AuthzInput) fits() bool {
	ok := func(ss ...string) bool {
		for _, s := range ss {
			if len(s) > maxStringSize {
				return false
			}
		}
		return true
	}
	if p := in.Principal; p != nil {
		if len(p.Scopes) > maxListSize || !ok(p.Kind, p.ID, p.Name, p.Team) || !ok(p.Scopes...) {
			return false
		}
	}
	if !ok(in.Model, in.Route, in.Endpoint, in.ClientIP) {
		return false
	}
	if st := in.TLS; st != nil && len(st.VerifiedChains) > 0 && len(st.VerifiedChains[0]) > 0 {
		c := st.VerifiedChains[0][0]
		if len(c.DNSNames) > maxListSize || len(c.URIs) > maxListSize || !ok(c.DNSNames...) ||
			len(c.Subject.CommonName) > maxStringSize || len(c.Issuer.CommonName) > maxStringSize ||
			len(c.RawSubject) > maxStringSize {
			return false
		}
		for _, u := range c.URIs {
			if len(u.String()) > maxStringSize {
				return false
			}
		}
	}
	return true
}

var authzNoStrings = []string{}

func authzPrincipalVars(p *record.Principal) *AuthzPrincipal {
	if p == nil {
		p = &record.Principal{}
	}
	scopes := p.Scopes
	if scopes == nil {
		scopes = authzNoStrings
	}
	return &AuthzPrincipal{Kind: p.Kind, Method: p.Kind, ID: p.ID, Subject: p.ID, Name: p.Name, Team: p.Team, Scopes: scopes}
}

func authzConnectionVars(ip string, st *tls.ConnectionState) *AuthzConnection {
	c := &AuthzConnection{ClientIP: ip, ClientCert: AuthzCert{DNS: authzNoStrings, URIs: authzNoStrings}}
	if st == nil {
		return c
	}
	c.TLS = true
	switch st.Version {
	case tls.VersionTLS12:
		c.TLSVersion = "1.2"
	case tls.VersionTLS13:
		c.TLSVersion = "1.3"
	default:
		c.TLSVersion = tls.VersionName(st.Version)
	}
	c.Cipher = tls.CipherSuiteName(st.CipherSuite)
	c.ALPN = st.NegotiatedProtocol
	if len(st.VerifiedChains) > 0 && len(st.VerifiedChains[0]) > 0 {
		c.ClientCert = authzCertVars(st.VerifiedChains[0][0])
	}
	return c
}

func authzCertVars(c *x509.Certificate) AuthzCert {
	out := AuthzCert{
		Present: true, Subject: c.Subject.CommonName, SubjectDN: c.Subject.String(), Issuer: c.Issuer.CommonName,
		DNS: c.DNSNames, URIs: make([]string, 0, len(c.URIs)), NotAfter: c.NotAfter,
	}
	if out.DNS == nil {
		out.DNS = authzNoStrings
	}
	if c.SerialNumber != nil {
		out.Serial = c.SerialNumber.Text(16)
	}
	for _, u := range c.URIs {
		s := u.String()
		out.URIs = append(out.URIs, s)
		if out.SPIFFEID == "" && u.Scheme == "spiffe" && u.Host != "" {
			out.SPIFFEID = s
		}
	}
	return out
}
