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
package keystore
