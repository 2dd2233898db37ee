package keys

import (
	"errors"

	"github.com/rampart-gw/rampart/internal/store"
)

// ErrInvalidKey is returned by Verify for every rejected key. The reason
// (one of the Err* values below) is wrapped inside it for the log, through
// errors.Is; a client is only ever told that the key is invalid.
var ErrInvalidKey = errors.New("invalid api key")

// Reasons a key is rejected, wrapped in ErrInvalidKey.
var (
	// ErrMalformed: the token does not have the key format.
	ErrMalformed = errors.New("malformed key")
	// ErrUnknownKey: no key has this id.
	ErrUnknownKey = errors.New("unknown key id")
	// ErrWrongSecret: the id exists but the secret does not match.
	ErrWrongSecret = errors.New("wrong secret")
	// ErrRevoked: the key was revoked.
	ErrRevoked = errors.New("key revoked")
	// ErrExpired: the key is past its expiry time.
	ErrExpired = errors.New("key expired")
	// ErrThrottled: the id is not cached and too many unknown ids were
	// looked up recently, so the store was not asked.
	ErrThrottled = errors.New("lookup of uncached key id throttled")
)

// ErrNotFound is returned by Revoke and Rotate for an unknown id.
var ErrNotFound = store.ErrNotFound

// ErrInvalidInput is wrapped by Create when the input is not acceptable.
var ErrInvalidInput = errors.New("invalid key input")

// ErrAlreadyRevoked is returned by Rotate for a revoked key: rotating it
// would bring a withdrawn credential back to life.
var ErrAlreadyRevoked = errors.New("key already revoked")

// invalidKeyError is ErrInvalidKey with a reason. The values are built once,
// so rejecting a key does not allocate.
type invalidKeyError struct{ reason error }

func (e *invalidKeyError) Error() string        { return "invalid api key: " + e.reason.Error() }
func (e *invalidKeyError) Is(target error) bool { return target == ErrInvalidKey }
func (e *invalidKeyError) Unwrap() error        { return e.reason }

var (
	errMalformed   error = &invalidKeyError{ErrMalformed}
	errUnknown     error = &invalidKeyError{ErrUnknownKey}
	errWrongSecret error = &invalidKeyError{ErrWrongSecret}
	errRevoked     error = &invalidKeyError{ErrRevoked}
	errExpired     error = &invalidKeyError{ErrExpired}
	errThrottled   error = &invalidKeyError{ErrThrottled}
)
