package keystore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
	"unicode/utf8"
)

var (
	// ErrNotFound is returned for a name that holds no entry.
	ErrNotFound = errors.New("keystore: not found")
	// ErrExists is returned by Put for a name that already holds an entry: entries never change.
	ErrExists = errors.New("keystore: name taken")
	// ErrInvalidEntry is returned for a malformed name, an empty or oversized secret, or
	// oversized metadata; nothing is stored.
	ErrInvalidEntry = errors.New("keystore: invalid entry")
	// ErrWrongKey is returned when a persistent store is opened with a passphrase or
	// key-encryption key other than the one it was created with (or its header was altered).
	ErrWrongKey = errors.New("keystore: wrong passphrase or key-encryption key")
	// ErrTampered is matched by the *IntegrityError of an entry whose stored bytes fail
	// authentication: altered, truncated, swapped with another entry's, or renamed.
	ErrTampered = errors.New("keystore: entry fails authentication")
	// ErrUnwrap is what a Wrapper's Unwrap returns (wrapped) when the data does not
	// authenticate under its key: a wrong key or altered data.
	ErrUnwrap = errors.New("keystore: cannot unwrap")
	// ErrCorrupt is returned when a store's header cannot be read at all.
	ErrCorrupt = errors.New("keystore: corrupt store")
	// ErrClosed is returned by every method of a closed store.
	ErrClosed = errors.New("keystore: closed")
	// ErrInvalidOption is wrapped by the *OptionError of an invalid option or key source.
	ErrInvalidOption = errors.New("keystore: invalid option")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero SQL store or KEK.
	ErrNotConstructed = errors.New("keystore: not constructed")
)

// Limits of an entry.
const (
	// MaxNameLen bounds an entry's name, in bytes.
	MaxNameLen = 255
	// MaxSecretLen bounds an entry's secret, in bytes.
	MaxSecretLen = 64 << 10
	// MaxMetaLen bounds an entry's metadata: the sum of its keys' and values' lengths, in bytes.
	MaxMetaLen = 16 << 10
)

// Entry is one named secret: key material and the metadata that says what it is.
type Entry struct {
	// Name identifies the entry: 1 to MaxNameLen bytes of UTF-8 without control characters.
	// Hierarchical names ("app/identity/did:dht:…") let List select a kind by prefix.
	Name string
	// Secret is the key material. Persistent stores keep it encrypted.
	Secret []byte
	// Meta describes the entry (its kind, the public key or address it belongs to, ...).
	// Persistent stores keep it in the clear but authenticated: it is not secret, and a change
	// shows when the entry is read.
	Meta map[string]string
	// Created is when the store took the entry; Put ignores it.
	Created time.Time
}

// Clone returns a deep copy of e.
func (e Entry) Clone() Entry {
	e.Secret = append([]byte(nil), e.Secret...)
	if e.Meta != nil {
		e.Meta = maps.Clone(e.Meta)
	}
	return e
}

// Store keeps named secrets.
//
// Contract (every implementation MUST follow it; keystoretest.Run checks it):
//
//   - Concurrency: all methods MUST be safe for concurrent use.
//   - Context: methods MUST return ctx.Err() once ctx is done and MUST NOT retain ctx.
//   - Put MUST refuse a name that holds an entry with an error matching ErrExists (entries are
//     immutable; Delete first), and an invalid entry (see Check) with one matching
//     ErrInvalidEntry, storing nothing. It MUST copy what it keeps: later changes to the
//     caller's slices and maps do not reach the store.
//   - Get MUST return an error matching ErrNotFound for a name without an entry, and a copy of
//     the entry otherwise, with Created set; an entry whose stored bytes no longer authenticate
//     MUST be an error matching ErrTampered, never altered data.
//   - List MUST return the names starting with prefix, in ascending byte order, without reading
//     any secret; an empty prefix lists every entry.
//   - Delete MUST remove the entry, or return an error matching ErrNotFound.
//   - A store that persists MUST NOT write a secret in the clear.
type Store interface {
	Put(ctx context.Context, e Entry) error
	Get(ctx context.Context, name string) (Entry, error)
	List(ctx context.Context, prefix string) ([]string, error)
	Delete(ctx context.Context, name string) error
}

// Wrapper encrypts and decrypts small secrets (the stores' per-entry data keys) under a
// key-encryption key that it holds and never reveals: a local AEAD key (KEK) or an external key
// management service. aad is bound to the result: Unwrap with other aad fails.
//
// Contract: Wrap and Unwrap MUST be safe for concurrent use and honour ctx. Unwrap MUST return
// an error matching ErrUnwrap when wrapped does not authenticate under the key and aad (a wrong
// key or altered data), and other errors (a service that cannot be reached) otherwise, so that
// a store never mistakes an outage for tampering.
type Wrapper interface {
	Wrap(ctx context.Context, plaintext, aad []byte) ([]byte, error)
	Unwrap(ctx context.Context, wrapped, aad []byte) ([]byte, error)
}

// IntegrityError reports an entry whose stored bytes fail authentication. It matches
// ErrTampered.
type IntegrityError struct {
	Name   string
	Reason string
}

func (e *IntegrityError) Error() string {
	return fmt.Sprintf("%v: %q: %s", ErrTampered, e.Name, e.Reason)
}

// Unwrap returns ErrTampered.
func (e *IntegrityError) Unwrap() error { return ErrTampered }

// OptionError names an invalid option, key source or argument, or an option that does not apply
// to the store being constructed; nothing is constructed. It matches ErrInvalidOption. Its
// message never shows the value, which may be key material.
type OptionError struct {
	Option string // e.g. "WithKDF", "RawKEK"
	Value  any    // the rejected value, or what can be said of it (a key's length)
	Reason string // what a valid value looks like
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("%v %s: %s", ErrInvalidOption, e.Option, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the methods of a zero SQL store or KEK: it names the
// constructor. It matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // the zero value's type, e.g. "SQL"
	Constructor string // the function that creates a usable one, e.g. "Open"
}

func (e *NotConstructedError) Error() string {
	return "keystore: a zero " + e.Type + " is not usable: create it with keystore." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// CheckName reports whether name can name an entry: an error matching ErrInvalidEntry if not.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty name", ErrInvalidEntry)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: name longer than %d bytes", ErrInvalidEntry, MaxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: name is not UTF-8", ErrInvalidEntry)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
		return fmt.Errorf("%w: name holds a control character", ErrInvalidEntry)
	}
	return nil
}

// Check reports whether e can be stored: a valid name, a secret of 1 to MaxSecretLen bytes,
// and metadata of at most MaxMetaLen bytes of UTF-8. The error matches ErrInvalidEntry.
func Check(e Entry) error {
	if err := CheckName(e.Name); err != nil {
		return err
	}
	if len(e.Secret) == 0 || len(e.Secret) > MaxSecretLen {
		return fmt.Errorf("%w: %q: secret of %d bytes (want 1 to %d)", ErrInvalidEntry, e.Name, len(e.Secret), MaxSecretLen)
	}
	n := 0
	for k, v := range e.Meta {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("%w: %q: metadata keys must be non-empty UTF-8, values UTF-8", ErrInvalidEntry, e.Name)
		}
		n += len(k) + len(v)
	}
	if n > MaxMetaLen {
		return fmt.Errorf("%w: %q: %d bytes of metadata (at most %d)", ErrInvalidEntry, e.Name, n, MaxMetaLen)
	}
	return nil
}
