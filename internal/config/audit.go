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
