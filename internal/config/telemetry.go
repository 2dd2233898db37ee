package config

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"time"
)

// Telemetry configures what the gateway exports about itself besides
// metrics and logs.
type Telemetry struct {
	// Traces exports OpenTelemetry spans over OTLP. Off by default.
	Traces Traces `yaml:"traces"`
}

// Traces configures OpenTelemetry tracing: a span per request, a child
// span per stage and per upstream attempt, exported over OTLP/HTTP.
type Traces struct {
	// Enabled turns tracing on. Default: false.
	Enabled bool `yaml:"enabled"`
	// Endpoint is the collector's OTLP/HTTP URL; "/v1/traces" is added when
	// the URL has no path. Required when enabled.
	Endpoint string `yaml:"endpoint"`
	// Protocol is the OTLP transport: http/protobuf (the only one built in).
	Protocol string `yaml:"protocol"`
	// SampleRatio is the share of new traces recorded, 0 to 1. A request
	// that arrives with a sampled traceparent is always recorded.
	// Default: 1.
	SampleRatio *float64 `yaml:"sample_ratio"`
	// Headers are sent with every export (a collector's API key).
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds one export. Default: 10s.
	Timeout time.Duration `yaml:"timeout"`
	// ServiceName is the service.name resource attribute. Default: rampart.
	ServiceName string `yaml:"service_name"`
	// Queue is how many finished spans may wait for export; more are
	// dropped and counted. Default: 2048.
	Queue int `yaml:"queue"`
}

// Ratio returns the sample ratio with its default.
func (t *Traces) Ratio() float64 {
	if t.SampleRatio == nil {
		return 1
	}
	return *t.SampleRatio
}

// SetDefaults fills the zero fields.
func (t *Telemetry) SetDefaults() {
	tr := &t.Traces
	setString(&tr.Protocol, "http/protobuf")
	setString(&tr.ServiceName, "rampart")
	setDuration(&tr.Timeout, 10*time.Second)
	if tr.Queue == 0 {
		tr.Queue = 2048
	}
}

func (t *Telemetry) validate(errs *Errors, p string) {
	tr := &t.Traces
	p += ".traces"
	switch tr.Protocol {
	case "", "http/protobuf":
	case "grpc":
		errs.add(p+".protocol", 0, "grpc is not built in; use http/protobuf (an OpenTelemetry collector accepts both)")
	default:
		errs.add(p+".protocol", 0, fmt.Sprintf("must be http/protobuf, not %q", tr.Protocol))
	}
	if tr.Enabled || tr.Endpoint != "" {
		checkHTTPURL(errs, p+".endpoint", tr.Endpoint)
	}
	if r := tr.SampleRatio; r != nil && (*r < 0 || *r > 1 || *r != *r) {
		errs.add(p+".sample_ratio", 0, "must be between 0 and 1")
	}
	nonNegDur(errs, p+".timeout", tr.Timeout)
	if tr.Queue < 0 {
		errs.add(p+".queue", 0, "must not be negative (0 means the default)")
	}
	for k := range tr.Headers {
		if k == "" {
			errs.add(p+".headers", 0, "a header name must not be empty")
		}
	}
}

func (t Telemetry) clone() Telemetry {
	if t.Traces.SampleRatio != nil {
		r := *t.Traces.SampleRatio
		t.Traces.SampleRatio = &r
	}
	t.Traces.Headers = maps.Clone(t.Traces.Headers)
	return t
}

// Alerts configures incident notifications sent to webhooks.
type Alerts struct {
	// Sinks are the webhooks every incident goes to. No sinks: alerts off.
	Sinks []AlertSink `yaml:"sinks"`
	// Dedup is how long an incident with the same key is not sent again.
	// Default: 10m.
	Dedup time.Duration `yaml:"dedup"`
	// MaxPerMinute caps the alerts sent per minute, all incidents
	// together; more are dropped and counted. Default: 30.
	MaxPerMinute int `yaml:"max_per_minute"`
	// Queue is how many alerts may wait to be sent; more are dropped and
	// counted. Default: 256.
	Queue int `yaml:"queue"`
	// BlockedBurst raises an incident when one principal has this many
	// requests blocked within BlockedWindow. Default: 10; 0 keeps the
	// default, a negative value turns the incident off.
	BlockedBurst int `yaml:"blocked_burst"`
	// BlockedWindow is the window of BlockedBurst. Default: 1m.
	BlockedWindow time.Duration `yaml:"blocked_window"`
}

// AlertSink is one webhook.
type AlertSink struct {
	// Name identifies the sink in logs and metrics. Required, unique.
	Name string `yaml:"name"`
	// URL is the webhook's http or https URL. Required. It is a secret
	// (Slack puts the token in the path).
	URL string `yaml:"url"`
	// Format is slack ({"text": ...}) or json (the whole incident).
	// Default: json.
	Format string `yaml:"format"`
	// Headers are sent with every alert (an Authorization header).
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds one delivery. Default: 5s.
	Timeout time.Duration `yaml:"timeout"`
}

// SetDefaults fills the zero fields.
func (a *Alerts) SetDefaults() {
	setDuration(&a.Dedup, 10*time.Minute)
	if a.MaxPerMinute == 0 {
		a.MaxPerMinute = 30
	}
	if a.Queue == 0 {
		a.Queue = 256
	}
	if a.BlockedBurst == 0 {
		a.BlockedBurst = 10
	}
	setDuration(&a.BlockedWindow, time.Minute)
	for i := range a.Sinks {
		s := &a.Sinks[i]
		setString(&s.Format, "json")
		setDuration(&s.Timeout, 5*time.Second)
	}
}

func (a *Alerts) validate(errs *Errors, p string) {
	nonNegDur(errs, p+".dedup", a.Dedup)
	nonNegDur(errs, p+".blocked_window", a.BlockedWindow)
	if a.MaxPerMinute < 0 {
		errs.add(p+".max_per_minute", 0, "must not be negative (0 means the default)")
	}
	if a.Queue < 0 {
		errs.add(p+".queue", 0, "must not be negative (0 means the default)")
	}
	seen := map[string]bool{}
	for i, s := range a.Sinks {
		sp := fmt.Sprintf("%s.sinks[%d]", p, i)
		if s.Name == "" {
			errs.add(sp+".name", 0, "is required")
		} else if seen[s.Name] {
			errs.add(sp+".name", 0, fmt.Sprintf("%q is used twice", s.Name))
		}
		seen[s.Name] = true
		checkHTTPURL(errs, sp+".url", s.URL)
		switch s.Format {
		case "", "json", "slack":
		default:
			errs.add(sp+".format", 0, fmt.Sprintf("must be slack or json, not %q", s.Format))
		}
		nonNegDur(errs, sp+".timeout", s.Timeout)
	}
}

func (a Alerts) clone() Alerts {
	a.Sinks = slices.Clone(a.Sinks)
	for i := range a.Sinks {
		a.Sinks[i].Headers = maps.Clone(a.Sinks[i].Headers)
	}
	return a
}

// checkHTTPURL requires an absolute http or https URL.
func checkHTTPURL(errs *Errors, p, raw string) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		errs.add(p, 0, "is required")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		errs.add(p, 0, "must be an absolute http or https URL")
	}
}
