package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "timeout awaiting response headers" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestClassify checks every branch of the one function that maps an
// upstream failure to the client's status.
func TestClassify(t *testing.T) {
	t.Parallel()
	cancelled := func(cause error) context.Context {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(cause)
		return ctx
	}
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		desc      string
		ctx       context.Context
		err       error
		status    int
		code      string
		retryable bool
	}{
		{"client went away", cancelled(ErrClientGone), context.Canceled, 499, "client_closed_request", false},
		{"context cancelled without a cause is the client", context.Background(), context.Canceled, 499, "client_closed_request", false},
		{"kill switch", cancelled(ErrKilled), context.Canceled, 503, "upstream_killed", false},
		{"idle timeout", cancelled(ErrIdleTimeout), context.Canceled, 504, "upstream_timeout", false},
		{"ceiling", cancelled(ErrTotalTimeout), context.Canceled, 504, "upstream_timeout", false},
		{"deadline", context.Background(), context.DeadlineExceeded, 504, "upstream_timeout", false},
		{"connection refused", context.Background(), dialErr, 502, "upstream_unreachable", true},
		{"unknown certificate authority", context.Background(), &tlsVerifyErr, 502, "upstream_unreachable", true},
		{"first byte timeout", context.Background(), timeoutErr{}, 504, "upstream_timeout", false},
		{"reset after the request was sent", context.Background(), io.ErrUnexpectedEOF, 502, "upstream_error", false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			f := Classify(tt.ctx, tt.err)
			if f.Status != tt.status || f.Code != tt.code || f.Retryable != tt.retryable {
				t.Fatalf("Classify = %d %s retryable=%v, want %d %s %v", f.Status, f.Code, f.Retryable, tt.status, tt.code, tt.retryable)
			}
			if !errors.Is(f.Error, tt.err) {
				t.Errorf("the cause is not kept for the log")
			}
		})
	}
}

var tlsVerifyErr = tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}

// TestDialFailureIsRetryable dials a closed port for real.
func TestDialFailureIsRetryable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	_, err = http.DefaultTransport.RoundTrip(req)
	if f := Classify(context.Background(), err); !f.Retryable || f.Status != 502 {
		t.Fatalf("dial to a closed port: %+v (%v)", f, err)
	}
}
