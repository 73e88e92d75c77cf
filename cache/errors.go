package cache

import (
	"errors"
	"fmt"
)

// Sentinel errors. Test for them with [errors.Is].
var (
	// ErrNotFound says the key has no value: a loader returns it (possibly wrapped) for a key
	// its source does not have, and the cache returns it for a key it knows is missing.
	ErrNotFound = errors.New("cache: not found")
	// ErrClosed is returned by the operations of a closed cache or store that need background
	// work or a connection.
	ErrClosed = errors.New("cache: closed")
	// ErrInvalidConfig is wrapped by every [ConfigError].
	ErrInvalidConfig = errors.New("cache: invalid configuration")
	// ErrInvalidTTL is returned for a negative TTL.
	ErrInvalidTTL = errors.New("cache: invalid TTL")
	// ErrNoExpiry is returned by [Cache.SetWithTTL] on a cache created without [WithTTL] or
	// [WithNegativeTTL], which does not track time.
	ErrNoExpiry = errors.New("cache: the cache was created without expiry (WithTTL)")
	// ErrNilLoader is returned by GetOrLoad for a nil loader.
	ErrNilLoader = errors.New("cache: nil loader")
	// ErrLoaderPanicked is matched by the [*PanicError] of a loader that panicked.
	ErrLoaderPanicked = errors.New("cache: loader panicked")
	// ErrInvalidKey is returned by a [Store] for an empty key or one longer than
	// [MaxStoreKeyLen].
	ErrInvalidKey = errors.New("cache: invalid key (1 to 1024 bytes)")
)

// ConfigError reports an invalid option, found at construction. Nothing is constructed when
// it is returned.
type ConfigError struct {
	Field  string // the option's field, e.g. "MaxEntries"
	Value  any    // the rejected value
	Reason string // what a valid value looks like
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("cache: invalid configuration: %s = %v: %s", e.Field, e.Value, e.Reason)
}

// Is reports whether target is [ErrInvalidConfig].
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// PanicError is returned to every caller waiting for a load whose loader panicked. Nothing is
// cached, so the next lookup loads again.
type PanicError struct {
	Value any    // what the loader panicked with
	Stack []byte // the loader's stack when it panicked
}

func (e *PanicError) Error() string { return fmt.Sprintf("cache: loader panicked: %v", e.Value) }

// Is reports whether target is [ErrLoaderPanicked].
func (e *PanicError) Is(target error) bool { return target == ErrLoaderPanicked }

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}
