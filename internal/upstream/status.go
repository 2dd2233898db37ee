package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"

	"github.com/rampart-gw/rampart/internal/apierr"
)

// StatusClientClosed is the status recorded when the client went away
// before the answer was complete (nginx's 499). It is logged, never sent.
const StatusClientClosed = 499

// Causes attached to a cancelled upstream context, so that Classify can
// tell why the call ended.
var (
	ErrClientGone   = errors.New("client went away")
	ErrIdleTimeout  = errors.New("upstream sent nothing within the idle timeout")
	ErrTotalTimeout = errors.New("upstream call exceeded its ceiling")
	ErrKilled       = errors.New("upstream cut off by the kill switch")
)

// Failure is an upstream failure mapped to the client's answer.
type Failure struct {
	*apierr.Error
	// Retryable is true when the request certainly did not reach the
	// upstream (it could not connect), so another upstream may be tried.
	Retryable bool
}

// Classify maps the error of an upstream call, made under ctx, to the
// client's answer. It is the one place where that mapping lives.
func Classify(ctx context.Context, err error) Failure {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, ErrClientGone):
		return Failure{Error: apierr.Wrap(err, StatusClientClosed, apierr.TypeInvalidRequest,
			"client_closed_request", "The client closed the request.")}
	case errors.Is(cause, ErrKilled):
		return Failure{Error: apierr.Wrap(err, http.StatusServiceUnavailable, apierr.TypeServer,
			"upstream_killed", "The model's upstream was cut off by the kill switch.")}
	case errors.Is(cause, ErrIdleTimeout):
		return Failure{Error: apierr.Wrap(err, http.StatusGatewayTimeout, apierr.TypeServer,
			"upstream_timeout", "The model's upstream stopped sending data (idle timeout).")}
	case errors.Is(cause, ErrTotalTimeout), errors.Is(err, context.DeadlineExceeded):
		return Failure{Error: apierr.Wrap(err, http.StatusGatewayTimeout, apierr.TypeServer,
			"upstream_timeout", "The model's upstream did not finish within the time limit.")}
	case errors.Is(err, context.Canceled):
		return Failure{Error: apierr.Wrap(err, StatusClientClosed, apierr.TypeInvalidRequest,
			"client_closed_request", "The client closed the request.")}
	}
	if isConnectFailure(err) {
		return Failure{Retryable: true, Error: apierr.Wrap(err, http.StatusBadGateway, apierr.TypeServer,
			"upstream_unreachable", "The gateway could not connect to the model's upstream.")}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Failure{Error: apierr.Wrap(err, http.StatusGatewayTimeout, apierr.TypeServer,
			"upstream_timeout", "The model's upstream did not answer in time.")}
	}
	return Failure{Error: apierr.Wrap(err, http.StatusBadGateway, apierr.TypeServer,
		"upstream_error", "The connection to the model's upstream failed.")}
}

// isConnectFailure reports whether err happened before the request could
// have been sent: dialling or the TLS handshake.
func isConnectFailure(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var rh tls.RecordHeaderError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var ve *tls.CertificateVerificationError
	return errors.As(err, &rh) || errors.As(err, &ua) || errors.As(err, &hn) ||
		errors.As(err, &ci) || errors.As(err, &ve)
}
