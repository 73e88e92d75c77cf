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
	// ErrInvalidOption is wrapped by every [OptionError].
	ErrInvalidOption = errors.New("cache: invalid option")
	// ErrNotConstructed is wrapped by the [NotConstructedError] of a zero [MemoryStore] or
	// [Tiered].
	ErrNotConstructed = errors.New("cache: not constructed")
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

// OptionError reports an invalid option or constructor argument, found at construction: a
// value out of range, or an option of the other kind (a [Tiered] option given to [New]).
// Nothing is constructed when it is returned. It matches [ErrInvalidOption] with [errors.Is].
type OptionError struct {
	Option string // the option, e.g. "WithMaxEntries", or the constructor's argument, e.g. "namespace"
	Value  any    // the rejected value
	Reason string // what a valid value looks like
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("cache: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns [ErrInvalidOption].
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by every method of a zero [MemoryStore] or [Tiered] that
// can fail: they need their constructor's arguments, and the error names the constructor. (A
// zero [Cache] needs none: it works as New with the defaults.) It matches [ErrNotConstructed]
// with [errors.Is].
type NotConstructedError struct {
	Type        string // the zero value's type, e.g. "MemoryStore"
	Constructor string // the function that creates a usable one, e.g. "NewMemoryStore"
}

func (e *NotConstructedError) Error() string {
	return "cache: a zero " + e.Type + " is not usable: create it with cache." + e.Constructor
}

// Unwrap returns [ErrNotConstructed].
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

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
