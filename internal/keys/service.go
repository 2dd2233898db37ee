// Package keys manages Rampart's API keys: creation, verification on the
// request path, revocation, rotation, the `rampart keys` command and the
// admin API. Keys are stored only as hashes; verification is served from an
// in-memory cache that Run keeps in step with the store, so a revocation
// made by any instance takes effect everywhere within CacheTTL.
package keys

import (
	"fmt"
	"log/slog"
	"path"
	"slices"
	"time"
	"unicode"

	"github.com/rampart-gw/rampart/internal/store"
)

// Defaults of Options.
const (
	DefaultCacheTTL      = 2 * time.Second
	DefaultFlushInterval = 10 * time.Second
	DefaultMissRate      = 50
	DefaultMissBurst     = 100
)

// Limits on CreateInput.
const (
	maxNameLen   = 128
	maxModels    = 64
	maxModelLen  = 256
	maxExpiresIn = 10 * 365 * 24 * time.Hour
)

// Options tune a Service. The zero value is usable.
type Options struct {
	// CacheTTL bounds how long a cached key is trusted without news from
	// the store: the longest delay before a revocation made by another
	// process or instance takes effect here. Default: 2s.
	CacheTTL time.Duration
	// FlushInterval is how often last-use times are written to the store,
	// in one batch. Default: 10s.
	FlushInterval time.Duration
	// MissRate and MissBurst bound store reads for ids not in the cache, per
	// second and in a burst; over the bound such keys are rejected without
	// asking the store. Defaults: 50/s, burst 100.
	MissRate  float64
	MissBurst int
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Logger receives background errors. Default: discard.
	Logger *slog.Logger
}

// setDefaults fills zero fields.
func (o *Options) setDefaults() {
	if o.CacheTTL <= 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.MissRate <= 0 {
		o.MissRate = DefaultMissRate
	}
	if o.MissBurst <= 0 {
		o.MissBurst = DefaultMissBurst
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Service creates, verifies and revokes API keys. It is safe for concurrent
// use.
type Service struct {
	st     store.KeyStore
	opts   Options
	log    *slog.Logger
	cache  *cache
	misses *bucket
}

// NewService returns a Service over st. Call Run in the background to flush
// last-use times and follow changes made by other instances.
func NewService(st store.KeyStore, opts Options) *Service {
	opts.setDefaults()
	return &Service{
		st:     st,
		opts:   opts,
		log:    opts.Logger,
		cache:  newCache(),
		misses: newBucket(opts.MissRate, opts.MissBurst),
	}
}

// CreateInput describes a new key.
type CreateInput struct {
	// Name labels the key; required.
	Name string
	// Team groups keys for policy and usage.
	Team string
	// Models restricts the key to these models (path.Match globs); empty
	// means any model.
	Models []string
	// ExpiresIn is the key's lifetime; zero means it does not expire.
	ExpiresIn time.Duration
}

// validate checks the input; names are shown in tables and logs, so control
// characters are refused.
func (in *CreateInput) validate() error {
	if in.Name == "" {
		return fmt.Errorf("%w: name is required", ErrInvalidInput)
	}
	if err := checkLabel("name", in.Name); err != nil {
		return err
	}
	if err := checkLabel("team", in.Team); err != nil {
		return err
	}
	if len(in.Models) > maxModels {
		return fmt.Errorf("%w: at most %d models", ErrInvalidInput, maxModels)
	}
	for _, m := range in.Models {
		if m == "" || len(m) > maxModelLen {
			return fmt.Errorf("%w: model names must be 1 to %d bytes", ErrInvalidInput, maxModelLen)
		}
		if _, err := path.Match(m, ""); err != nil {
			return fmt.Errorf("%w: invalid model pattern %q", ErrInvalidInput, m)
		}
	}
	if in.ExpiresIn < 0 || in.ExpiresIn > maxExpiresIn {
		return fmt.Errorf("%w: expiry must be between 0 (never) and %s", ErrInvalidInput, maxExpiresIn)
	}
	return nil
}

// checkLabel bounds a name or team and refuses control characters.
func checkLabel(field, s string) error {
	if len(s) > maxNameLen {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidInput, field, maxNameLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("%w: %s contains a control character or invalid UTF-8", ErrInvalidInput, field)
		}
	}
	return nil
}

// clone copies a record, so callers cannot change the cached one.
func clone(r *store.KeyRecord) *store.KeyRecord {
	c := *r
	c.Models = slices.Clone(r.Models)
	c.Hash = slices.Clone(r.Hash)
	return &c
}
