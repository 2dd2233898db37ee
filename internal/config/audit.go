package config

import (
	"fmt"
	"time"
)

// Audit configures the audit trail: one durable record per request in the
// store. It never holds a credential, a prompt or an answer.
type Audit struct {
	// Enabled turns the audit trail on. Default: true.
	Enabled *bool `yaml:"enabled"`
	// Queue is how many records may wait for the writer. Default: 10000.
	Queue int `yaml:"queue"`
	// Batch is how many records one transaction commits. Default: 256.
	Batch int `yaml:"batch"`
	// FlushInterval is the longest a record waits before its batch
	// commits. Default: 50ms.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// OnBackpressure is what happens when the queue is full: spool
	// (default: append to a spool file in data_dir, replayed later) or
	// refuse (also spool, and answer new requests 503 until it catches up).
	OnBackpressure string `yaml:"on_backpressure"`
	// Retention is how long records are kept. Default: 2160h (90 days).
	Retention time.Duration `yaml:"retention"`
	// Capture stores prompts and answers, after DLP masking. Off by
	// default.
	Capture Capture `yaml:"capture"`
}

// Capture configures content capture: the prompt and the answer of each
// request, masked by the DLP scanner before they are stored.
type Capture struct {
	// Enabled turns content capture on; it requires dlp.enabled. Default:
	// false.
	Enabled bool `yaml:"enabled"`
	// MaxBytes caps the prompt and the answer kept per request; longer
	// text is cut. Default: 65536.
	MaxBytes int `yaml:"max_bytes"`
	// Retention is how long content is kept. Default: 168h (7 days).
	Retention time.Duration `yaml:"retention"`
	// MaxTotalBytes caps the content kept in the store; the oldest goes
	// first. Default: 1073741824 (1 GiB).
	MaxTotalBytes int64 `yaml:"max_total_bytes"`
}

// On reports whether the audit trail is enabled.
func (a *Audit) On() bool { return a.Enabled == nil || *a.Enabled }

// SetDefaults fills the zero fields.
func (a *Audit) SetDefaults() {
	if a.Enabled == nil {
		on := true
		a.Enabled = &on
	}
	if a.Queue == 0 {
		a.Queue = 10000
	}
	if a.Batch == 0 {
		a.Batch = 256
	}
	if a.FlushInterval == 0 {
		a.FlushInterval = 50 * time.Millisecond
	}
	if a.OnBackpressure == "" {
		a.OnBackpressure = "spool"
	}
	if a.Retention == 0 {
		a.Retention = 2160 * time.Hour
	}
	c := &a.Capture
	if c.MaxBytes == 0 {
		c.MaxBytes = 64 << 10
	}
	if c.Retention == 0 {
		c.Retention = 168 * time.Hour
	}
	if c.MaxTotalBytes == 0 {
		c.MaxTotalBytes = 1 << 30
	}
}

func (a *Audit) validate(errs *Errors, p string) {
	if a.Queue < 0 {
		errs.add(p+".queue", 0, "must not be negative (0 means the default)")
	}
	if a.Batch < 0 {
		errs.add(p+".batch", 0, "must not be negative (0 means the default)")
	}
	nonNegDur(errs, p+".flush_interval", a.FlushInterval)
	nonNegDur(errs, p+".retention", a.Retention)
	if a.Capture.MaxBytes < 0 {
		errs.add(p+".capture.max_bytes", 0, "must not be negative (0 means the default)")
	}
	if a.Capture.MaxTotalBytes < 0 {
		errs.add(p+".capture.max_total_bytes", 0, "must not be negative (0 means the default)")
	}
	nonNegDur(errs, p+".capture.retention", a.Capture.Retention)
	switch a.OnBackpressure {
	case "", "spool", "refuse":
	default:
		errs.add(p+".on_backpressure", 0, fmt.Sprintf("must be spool or refuse, not %q", a.OnBackpressure))
	}
}

func (a Audit) clone() Audit {
	if a.Enabled != nil {
		on := *a.Enabled
		a.Enabled = &on
	}
	return a
}
