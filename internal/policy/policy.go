// Package policy compiles and evaluates the CEL expressions of the
// configuration, such as a route's private_when. Expressions are compiled
// once, when a configuration is loaded; evaluating one on the request path
// costs about a microsecond (BenchmarkEval).
package policy

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"github.com/rampart-gw/rampart/internal/record"
)

// Expr is a compiled boolean expression.
type Expr struct {
	src string
	prg cel.Program
}

// compileMu serialises compilation in both environments. cel-go (v0.33.2)
// shares one checker environment between the checks of an environment and
// fills its symbol catalog lazily without a lock, which races when two
// expressions are checked at once (TestCompileConcurrently). Compiling
// happens when a configuration is loaded, never per request; evaluating a
// compiled program stays lock-free.
var compileMu sync.Mutex

// env is the CEL environment of Compile, built on first use rather than
// at package init, which every command of the binary would pay for.
var env = sync.OnceValue(mustEnv)

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
	compileMu.Lock()
	defer compileMu.Unlock()
	e := env()
	ast, iss := e.Compile(src)
	if iss.Err() != nil {
		return nil, errors.New(strings.ReplaceAll(iss.Err().Error(), "\n", " "))
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("the expression must be true or false, not %s", ast.OutputType())
	}
	prg, err := e.Program(ast, cel.CostLimit(10000), cel.EvalOptions(cel.OptOptimize))
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
	// Headers are the request headers by lower-case name. When nil, Header
	// is read instead, without copying it.
	Headers map[string]string
	// Header is the request's header; Authorization is never shown.
	Header http.Header
}

// Eval evaluates the expression. An error (a missing key, the cost limit)
// is returned so that the caller can fail closed. The variables are built
// lazily, field by field, when the expression reads them: no map of the
// whole request is built per call.
func (e *Expr) Eval(in Input) (bool, error) {
	act := privateVars{in: &in}
	out, _, err := e.prg.Eval(&act)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("the expression gave %v, not a boolean", out.Value())
	}
	return b, nil
}
