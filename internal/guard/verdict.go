package guard

import (
	"fmt"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/record"
)

// Record converts a verdict for the request record. Detail carries the
// category only, never matched text.
func (v Verdict) Record() record.Verdict {
	return record.Verdict{Stage: "guard", Rule: v.Guard + "/" + v.Rule, Action: v.Action, Score: v.Score, Detail: v.Category}
}

// BlockError is the client error for blocking verdicts: a 400
// content_blocked that names neither the matched text nor the policy. The
// verdicts travel in the cause, for the log.
func BlockError(vs []Verdict) *apierr.Error {
	return apierr.Wrap(fmt.Errorf("guard verdicts %v", vs), 400, "invalid_request_error", "content_blocked",
		"The request was blocked by the content policy.")
}
