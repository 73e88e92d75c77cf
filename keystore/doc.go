// Package keystore keeps named secrets — key material and the metadata that says what it is —
// for a host that must sign again after a restart. It knows no protocol: a secret is bytes.
//
// # Stores
//
// A [Store] puts, gets, lists and deletes entries; entries never change once stored. [SQL] is
// the persistent store, in an SQLite database of the host's data directory, encrypted at rest;
// [Memory] keeps entries in memory only (tests, or keys meant to die with the process). Both pass
// the conformance suite keystoretest.Run, which every Store implementation runs.
//
// # Encryption at rest
//
// [SQL] never writes a secret in the clear. Each entry is sealed with AES-256-GCM under its own
// random 256-bit data key, with the entry's name, creation time and metadata as associated data;
// the data key is wrapped by the store's key-encryption key, with the name as associated data.
// Altering, truncating, renaming or swapping any stored byte of an entry makes Get fail with an
// *IntegrityError (ErrTampered); deleting an entry or restoring an older copy of the database
// cannot be detected by the store itself. Metadata is stored in the clear (authenticated): do not
// put secrets in it.
//
// The key-encryption key comes from the host ([KeySource]):
//
//   - [Passphrase]: Argon2id (RFC 9106) over the passphrase and a random 16-byte salt, at the cost
//     [DefaultKDF] (3 passes, 64 MiB, 4 lanes) unless [WithKDF] sets another (at least [MinKDF]:
//     2 passes, 19 MiB, 1 lane). The salt and cost are kept in the store's header.
//   - [RawKEK]: 32 random bytes the host keeps elsewhere (a secret manager, a hardware token).
//   - [External]: a [Wrapper] — typically a key management service — wraps and unwraps each entry's
//     data key, so the key-encryption key never enters the process. Wrap and Unwrap are the whole
//     interface a service has to implement.
//
// The header also holds a check value wrapped when the store was created: opening it with another
// passphrase or key fails at once with ErrWrongKey.
//
// # Names
//
// Names are 1 to 255 bytes of UTF-8 without control characters; hierarchical names
// ("app/identity/…") let List select one kind of entry by prefix.
//
// # Conventions
//
// The SDK has one option style. A constructor takes options of one type, Option, a
// func(*config) over an unexported configuration: it applies the defaults, then the options in
// order, then validates the whole configuration once and returns a typed *OptionError naming
// the offending option, its value and the reason (it matches the package's ErrInvalidOption
// with errors.Is). Option constructors never fail and never panic, and each option's
// documentation ends with its default. Time comes from WithClock(now func() time.Time),
// time.Now by default; timers and sleeps use package time, so tests fake time with
// testing/synctest. Logs go to WithLogger(*slog.Logger), silent by default. The zero value of an
// exported type either works as documented or returns an error naming its constructor (it
// matches the package's ErrNotConstructed with errors.Is); it never panics.
//
// Open and NewMemory take the one Option type: WithClock configures both stores, WithKDF the SQL
// store only (an option given to a store it does not configure is an *OptionError). The zero
// Memory is an empty store, ready to use; the zero SQL and KEK return a *NotConstructedError
// naming Open and NewKEK.
package keystore
