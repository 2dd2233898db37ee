package config

import (
	"strings"
	"testing"
)

func TestTelemetryAndAlertsValidation(t *testing.T) {
	t.Parallel()
	ratio := 1.5
	tests := []struct {
		desc  string
		cfg   func(c *Config)
		field string // "" when valid
	}{
		{"off by default", func(*Config) {}, ""},
		{"traces on without endpoint", func(c *Config) { c.Telemetry.Traces.Enabled = true }, "telemetry.traces.endpoint"},
		{"traces endpoint not http", func(c *Config) {
			c.Telemetry.Traces.Enabled, c.Telemetry.Traces.Endpoint = true, "ftp://collector"
		}, "telemetry.traces.endpoint"},
		{"traces grpc", func(c *Config) { c.Telemetry.Traces.Protocol = "grpc" }, "telemetry.traces.protocol"},
		{"traces ratio above 1", func(c *Config) { c.Telemetry.Traces.SampleRatio = &ratio }, "telemetry.traces.sample_ratio"},
		{"traces fine", func(c *Config) {
			c.Telemetry.Traces.Enabled, c.Telemetry.Traces.Endpoint = true, "http://127.0.0.1:4318"
		}, ""},
		{"sink without url", func(c *Config) { c.Alerts.Sinks = []AlertSink{{Name: "a"}} }, "alerts.sinks[0].url"},
		{"sink without name", func(c *Config) { c.Alerts.Sinks = []AlertSink{{URL: "https://hooks.example.com/x"}} }, "alerts.sinks[0].name"},
		{"sink bad format", func(c *Config) {
			c.Alerts.Sinks = []AlertSink{{Name: "a", URL: "https://hooks.example.com/x", Format: "xml"}}
		}, "alerts.sinks[0].format"},
		{"sink names twice", func(c *Config) {
			c.Alerts.Sinks = []AlertSink{{Name: "a", URL: "https://h/x"}, {Name: "a", URL: "https://h/y"}}
		}, "alerts.sinks[1].name"},
		{"negative rate", func(c *Config) { c.Alerts.MaxPerMinute = -1 }, "alerts.max_per_minute"},
		{"capture without dlp", func(c *Config) { c.Audit.Capture.Enabled = true }, "audit.capture.enabled"},
		{"capture with dlp", func(c *Config) { c.Audit.Capture.Enabled, c.DLP.Enabled = true, true }, ""},
		{"capture negative cap", func(c *Config) { c.Audit.Capture.MaxBytes = -1 }, "audit.capture.max_bytes"},
	}
	for _, tc := range tests {
		c := &Config{}
		tc.cfg(c)
		err := c.Validate()
		if tc.field == "" {
			if err != nil && (strings.Contains(err.Error(), "telemetry") || strings.Contains(err.Error(), "alerts") || strings.Contains(err.Error(), "capture")) {
				t.Errorf("%s: unexpected error %v", tc.desc, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: error %v does not name %s", tc.desc, err, tc.field)
		}
	}
}

func TestTelemetryAndAlertSecretsRedacted(t *testing.T) {
	t.Parallel()
	c := &Config{}
	c.Telemetry.Traces.Headers = map[string]string{"X-Api-Key": "collector-secret"}
	c.Alerts.Sinks = []AlertSink{{Name: "slack", URL: "https://hooks.slack.com/services/T0/B0/hook-secret",
		Headers: map[string]string{"Authorization": "Bearer sink-secret"}}}
	out, err := c.MarshalYAMLRedacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"collector-secret", "hook-secret", "sink-secret"} {
		if strings.Contains(string(out), s) {
			t.Errorf("redacted dump holds %q:\n%s", s, out)
		}
	}
	// The original is untouched.
	if c.Alerts.Sinks[0].Headers["Authorization"] != "Bearer sink-secret" || c.Telemetry.Traces.Headers["X-Api-Key"] != "collector-secret" {
		t.Error("Redacted changed the configuration it copied")
	}
}
