// Package apierr is the one place where a failure becomes the client's answer:
// an OpenAI-style JSON error ({"error":{"message","type","code"}}) with the
// right HTTP status. An Error keeps the public message apart from the private
// cause, which is logged but never sent to the client.
package apierr

import (
	"bytes"

	"errors"
	"fmt"
	"github.com/go-json-experiment/json/jsontext"
	"net/http"
	"strconv"
	"time"
)

// OpenAI error types.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeServer         = "server_error"
	TypeUpstream       = "upstream_error"
)

// Error is a failure with a status and a message fit for the client.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Type is the OpenAI error type, such as invalid_request_error.
	Type string
	// Code is a short machine-readable code, such as body_too_large.
	Code string
	// Message is safe to show the client: it never contains secrets, the
	// matched text of a rule or an internal error string.
	Message string
	// Param names the offending request field, when there is one.
	Param string
	// RetryAfter, when positive, is sent as the Retry-After header.
	RetryAfter time.Duration
	// Cause is the private reason, for the log only.
	Cause error
}

// Error returns the private description, for logs. It is never sent to a
// client; Write sends Message.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.Status, e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an Error without a cause.
func New(status int, typ, code, msg string) *Error {
	return &Error{Status: status, Type: typ, Code: code, Message: msg}
}

// Wrap returns an Error with a private cause.
func Wrap(cause error, status int, typ, code, msg string) *Error {
	return &Error{Status: status, Type: typ, Code: code, Message: msg, Cause: cause}
}

// BadRequest is a 400 invalid_request_error.
func BadRequest(code, msg string) *Error {
	return New(http.StatusBadRequest, TypeInvalidRequest, code, msg)
}

// BadParam is a 400 invalid_request_error naming the field at fault.
func BadParam(param, code, msg string) *Error {
	e := BadRequest(code, msg)
	e.Param = param
	return e
}

// From turns any error into an *Error. An error that is not one becomes an
// opaque 500 whose cause is kept for the log.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Wrap(err, http.StatusInternalServerError, TypeServer, "internal_error",
		"The gateway failed to process the request; quote the request ID when reporting it.")
}

// Write sends err to the client as an OpenAI-style JSON error. It must be
// called before any part of the response body was written.
func Write(w http.ResponseWriter, err error) {
	e := From(err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	// A length, not chunks: the answer is complete once it is flushed,
	// without waiting for the handler to return.
	body := e.JSON()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// JSON renders the error body: {"error":{"message","type","param","code"}}.
func (e *Error) JSON() []byte {
	var b bytes.Buffer
	b.Grow(96 + len(e.Message))
	b.WriteString(`{"error":{"message":`)
	b.Write(quote(e.Message))
	b.WriteString(`,"type":`)
	b.Write(quote(e.Type))
	b.WriteString(`,"param":`)
	if e.Param == "" {
		b.WriteString("null")
	} else {
		b.Write(quote(e.Param))
	}
	b.WriteString(`,"code":`)
	if e.Code == "" {
		b.WriteString("null")
	} else {
		b.Write(quote(e.Code))
	}
	b.WriteString("}}")
	return b.Bytes()
}

// quote renders s as a JSON string. Invalid UTF-8 is replaced by U+FFFD;
// AppendQuote reports it as an error after replacing it, which is all a
// message needs.
func quote(s string) []byte {
	b, _ := jsontext.AppendQuote(nil, s)
	return b
}
