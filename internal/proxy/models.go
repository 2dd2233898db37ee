package proxy

import (
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/route"
	"github.com/rampart-gw/rampart/internal/upstream"
)

// ModelFilter decides, for GET /v1/models, whether the caller of r may use
// model, served by the route named route. rec holds the caller's principal
// and client IP.
type ModelFilter interface {
	AllowsModel(r *http.Request, rec *record.Record, model, route string) bool
}

// listModels answers GET /v1/models with only the models p may use.
func (ex *exchange) listModels(p *record.Principal) {
	b := make([]byte, 0, 256)
	b = append(b, `{"object":"list","data":[`...)
	first := true
	for _, m := range ex.s.Routes.Models() {
		if !route.Allowed(p.Models, m) {
			continue
		}
		if f := ex.s.Models; f != nil {
			rt, ok := ex.s.Routes.Match(m)
			if !ok || !f.AllowsModel(ex.r, ex.rec, m, rt.Name) {
				continue
			}
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"id":`...)
		b, _ = jsontext.AppendQuote(b, m)
		b = append(b, `,"object":"model","created":0,"owned_by":"rampart"}`...)
	}
	b = append(b, "]}"...)
	h := ex.w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	ex.wroteHeader = true
	ex.rec.Status = http.StatusOK
	ex.closeIfBodyUnread()
	ex.setWriteDeadline()
	ex.w.WriteHeader(http.StatusOK)
	if _, err := ex.w.Write(b); err != nil {
		ex.rec.Status = upstream.StatusClientClosed
	}
}
