package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	t.Parallel()
	secret := errors.New("dial tcp 10.0.0.5:8000: connection refused; key sk-live-123")
	tests := []struct {
		name       string
		err        error
		status     int
		typ, code  string
		param      any
		retryAfter string
	}{
		{"bad param", BadParam("messages[0].role", "invalid_value", "bad role"), 400, TypeInvalidRequest, "invalid_value", "messages[0].role", ""},
		{"bad request without param", BadRequest("invalid_json", "broken"), 400, TypeInvalidRequest, "invalid_json", nil, ""},
		{"retry after rounds up", &Error{Status: 429, Type: TypeRateLimit, Code: "x", Message: "slow down", RetryAfter: 1500 * time.Millisecond}, 429, TypeRateLimit, "x", nil, "2"},
		{"wrapped error keeps its status", fmt.Errorf("ctx: %w", New(503, TypeServer, "overloaded", "busy")), 503, TypeServer, "overloaded", nil, ""},
		{"plain error is an opaque 500", secret, 500, TypeServer, "internal_error", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			Write(rec, tt.err)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			var body struct {
				Error struct {
					Message string `json:"message"`
					Type    string `json:"type"`
					Param   any    `json:"param"`
					Code    string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, rec.Body.String())
			}
			e := body.Error
			if e.Type != tt.typ || e.Code != tt.code || e.Param != tt.param || e.Message == "" {
				t.Errorf("error = %+v", e)
			}
			if strings.Contains(rec.Body.String(), "sk-live") || strings.Contains(rec.Body.String(), "10.0.0.5") {
				t.Errorf("the private cause reached the client: %s", rec.Body.String())
			}
		})
	}
}

func TestJSONEscapesAndRepairsText(t *testing.T) {
	t.Parallel()
	e := BadRequest("c", "quote \" backslash \\ newline \n control \x01 bad utf8 \xff")
	var v map[string]map[string]any
	if err := json.Unmarshal(e.JSON(), &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, e.JSON())
	}
	if !strings.Contains(v["error"]["message"].(string), "quote \" backslash \\ newline \n") {
		t.Errorf("message changed: %q", v["error"]["message"])
	}
}

func TestErrorKeepsCauseForLogs(t *testing.T) {
	t.Parallel()
	cause := errors.New("boom")
	e := Wrap(cause, http.StatusBadGateway, TypeServer, "upstream_error", "The upstream failed.")
	if !errors.Is(e, cause) || !strings.Contains(e.Error(), "boom") {
		t.Fatalf("cause lost: %v", e)
	}
}

func BenchmarkJSON(b *testing.B) {
	e := BadParam("model", "model_not_found", "The model \"x\" does not exist or you do not have access to it.")
	b.ReportAllocs()
	for b.Loop() {
		_ = e.JSON()
	}
}
