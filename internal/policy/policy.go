// Package policy compiles and evaluates the CEL expressions of the
// configuration, such as a route's private_when. Expressions are compiled
// once, when a configuration is loaded; evaluating one on the request path
// costs about a microsecond.
package policy

import (
	"errors"
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"github.com/rampart-gw/rampart/internal/record"
)

// Expr is a compiled boolean expression.
type Expr struct {
	src string
	prg cel.Program
}

var env = mustEnv()

func mustEnv() *cel.Env {
	e, err := cel.NewEnv(
		cel.Variable("principal", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("request", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("headers", cel.MapType(cel.StringType, cel.StringType)),
	)
	if err != nil {
		panic(err)
	}
	return e
}

// Compile parses and checks a boolean expression over `principal` (kind,
// id, name, team, scopes), `request` (model, stream, max_tokens, tools,
// dlp.findings: the entity types found, guards.verdicts: the rules that
// fired) and `headers` (lower-case names).
func Compile(src string) (*Expr, error) {
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, errors.New(strings.ReplaceAll(iss.Err().Error(), "\n", " "))
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("the expression must be true or false, not %s", ast.OutputType())
	}
	prg, err := env.Program(ast, cel.CostLimit(10000))
	if err != nil {
		return nil, err
	}
	return &Expr{src: src, prg: prg}, nil
}

// String returns the source of the expression.
func (e *Expr) String() string { return e.src }

// Input is what an expression sees of a request.
type Input struct {
	Principal record.Principal
	Model     string
	Stream    bool
	MaxTokens int
	Tools     bool
	Verdicts  []record.Verdict
	Headers   map[string]string
}

// Eval evaluates the expression. An error (a missing key, the cost limit)
// is returned so that the caller can fail closed.
func (e *Expr) Eval(in Input) (bool, error) {
	var findings, rules []string
	for _, v := range in.Verdicts {
		switch v.Stage {
		case "dlp":
			findings = append(findings, v.Rule)
		case "guard", "waf":
			if v.Action != "pass" {
				rules = append(rules, v.Rule)
			}
		}
	}
	scopes := in.Principal.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	if findings == nil {
		findings = []string{}
	}
	if rules == nil {
		rules = []string{}
	}
	headers := in.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	out, _, err := e.prg.Eval(map[string]any{
		"principal": map[string]any{
			"kind": in.Principal.Kind, "id": in.Principal.ID, "name": in.Principal.Name,
			"team": in.Principal.Team, "scopes": scopes,
		},
		"request": map[string]any{
			"model": in.Model, "stream": in.Stream, "max_tokens": int64(in.MaxTokens), "tools": in.Tools,
			"dlp":    map[string]any{"findings": findings},
			"guards": map[string]any{"verdicts": rules},
		},
		"headers": headers,
	})
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("the expression gave %v, not a boolean", out.Value())
	}
	return b, nil
}
