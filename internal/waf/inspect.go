package waf

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/corazawaf/coraza/v3/experimental"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"
)

// scoreVar is the CRS variable holding the inbound anomaly score at the
// blocking paranoia level, the one compared with the threshold.
const scoreVar = "blocking_inbound_anomaly_score"

// inspect runs phases 1 (headers) and 2 (body) of one transaction. Phases 3
// and 4 would need the response body, which is never buffered.
func (w *WAF) inspect(ctx context.Context, r *http.Request, payload []byte) (Verdict, error) {
	tx := w.coraz.(experimental.WAFWithOptions).NewTransactionWithOptions(experimental.Options{Context: ctx})
	defer tx.Close()
	if tx.IsRuleEngineOff() {
		return Verdict{}, nil
	}
	it := processHeaders(tx, r)
	if it == nil && len(payload) > 0 {
		var err error
		if it, _, err = tx.WriteRequestBody(payload); err != nil {
			return Verdict{}, fmt.Errorf("write body: %w", err)
		}
	}
	if it == nil {
		var err error
		if it, err = tx.ProcessRequestBody(); err != nil {
			return Verdict{}, fmt.Errorf("process body: %w", err)
		}
	}
	return verdict(tx, it), nil
}

// processHeaders feeds the connection, request line and headers, restoring
// the fields net/http moves out of the header map, and runs phase 1.
func processHeaders(tx types.Transaction, r *http.Request) *types.Interruption {
	cip, cport := splitAddr(r.RemoteAddr)
	sip, sport := "", 0
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		sip, sport = splitAddr(a.String())
	}
	tx.ProcessConnection(cip, cport, sip, sport)
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	tx.ProcessURI(uri, r.Method, r.Proto)
	for k, vs := range r.Header {
		for _, v := range vs {
			tx.AddRequestHeader(k, v)
		}
	}
	if r.Host != "" {
		tx.AddRequestHeader("Host", r.Host)
		tx.SetServerName(r.Host)
	}
	// Every Transfer-Encoding value is restored so that smuggling attempts
	// (TE.TE) reach the rules that look for them.
	for _, te := range r.TransferEncoding {
		tx.AddRequestHeader("Transfer-Encoding", te)
	}
	return tx.ProcessRequestHeaders()
}

func splitAddr(addr string) (string, int) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

// verdict reads the outcome of a processed transaction.
func verdict(tx types.Transaction, it *types.Interruption) Verdict {
	var v Verdict
	if it != nil {
		v.Blocked, v.Status, v.Rule = true, it.Status, it.RuleID
	} else if d, ok := tx.(interface{ DetectionOnlyInterruption() *types.Interruption }); ok {
		if di := d.DetectionOnlyInterruption(); di != nil {
			v.Status, v.Rule = di.Status, di.RuleID
		}
	}
	if v.Status == 0 && v.Rule != 0 {
		v.Status = http.StatusForbidden
	}
	for _, m := range tx.MatchedRules() {
		if l, ok := m.(interface{ Log() bool }); ok && !l.Log() {
			continue
		}
		v.RuleIDs = append(v.RuleIDs, m.Rule().ID())
		v.Messages = append(v.Messages, m.Message())
	}
	v.Score = score(tx)
	return v
}

func score(tx types.Transaction) int {
	s, ok := tx.(interface {
		Variables() plugintypes.TransactionVariables
	})
	if !ok {
		return 0
	}
	vals := s.Variables().TX().Get(scoreVar)
	if len(vals) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(vals[0])
	return n
}

// payload is the part of body the rules see in scope.
func (w *WAF) payload(r *http.Request, body []byte, scope string) []byte {
	switch scope {
	case ScopeNone:
		return nil
	case ScopeFull:
		return body
	}
	if len(body) == 0 || !isJSON(r.Header.Get("Content-Type")) {
		// Only JSON carries prose worth sparing; any other body (a form, a
		// multipart upload) gets the standard CRS treatment.
		return body
	}
	env, err := Envelope(body)
	if err != nil {
		// Coraza parses the raw body instead: it flags the syntax error
		// (REQBODY_ERROR, rule 200002) rather than letting a body the
		// envelope parser cannot read skip inspection.
		return body
	}
	return env
}
