package keystore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// KEKSize is the size of a key-encryption key: AES-256.
const KEKSize = 32

// sealVersion starts every blob this package seals with AES-256-GCM.
const sealVersion = 1

// KEK is a key-encryption key held in memory: a Wrapper that seals with AES-256-GCM (a random
// 96-bit nonce per call). It is safe for concurrent use. Create it with NewKEK or DeriveKEK:
// the zero KEK holds no key, and its methods return a *NotConstructedError.
type KEK struct {
	aead cipher.AEAD
}

var _ Wrapper = (*KEK)(nil)

// NewKEK returns the key-encryption key key, which must be KEKSize random bytes (from the
// host's secret manager, a hardware token, ...). NewKEK copies what it needs.
func NewKEK(key []byte) (*KEK, error) {
	if len(key) != KEKSize {
		return nil, &OptionError{Option: "KEK", Value: len(key), Reason: fmt.Sprintf("a key-encryption key is %d bytes, not %d", KEKSize, len(key))}
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return &KEK{aead: aead}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Wrap implements Wrapper.
func (k *KEK) Wrap(ctx context.Context, plaintext, aad []byte) ([]byte, error) {
	if k.aead == nil {
		return nil, &NotConstructedError{Type: "KEK", Constructor: "NewKEK"}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return seal(k.aead, plaintext, aad), nil
}

// Unwrap implements Wrapper.
func (k *KEK) Unwrap(ctx context.Context, wrapped, aad []byte) ([]byte, error) {
	if k.aead == nil {
		return nil, &NotConstructedError{Type: "KEK", Constructor: "NewKEK"}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return open(k.aead, wrapped, aad)
}

// seal returns version || nonce || ciphertext-and-tag.
func seal(aead cipher.AEAD, plaintext, aad []byte) []byte {
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		panic("keystore: the system's random source failed: " + err.Error()) // crypto/rand never fails on supported systems
	}
	return aead.Seal(out, out[1:1+aead.NonceSize()], plaintext, aad)
}

// open reverses seal; anything that does not authenticate matches ErrUnwrap.
func open(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < 1+n+aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrUnwrap, len(sealed))
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrUnwrap, sealed[0])
	}
	pt, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnwrap, err)
	}
	return pt, nil
}

// KDF is the cost of Argon2id (RFC 9106), which turns a passphrase and a salt into a
// key-encryption key.
type KDF struct {
	Time      uint32 `json:"t"` // passes over memory
	MemoryKiB uint32 `json:"m"` // memory, in KiB
	Threads   uint8  `json:"p"` // lanes
}

// KDF costs.
var (
	// DefaultKDF is RFC 9106's second recommended option for Argon2id: 3 passes over 64 MiB with
	// 4 lanes (about half a second on one core of a laptop).
	DefaultKDF = KDF{Time: 3, MemoryKiB: 64 << 10, Threads: 4}
	// MinKDF is the least cost a store accepts, OWASP's minimum for Argon2id: 2 passes over
	// 19 MiB with 1 lane.
	MinKDF = KDF{Time: 2, MemoryKiB: 19 << 10, Threads: 1}
	// maxKDF bounds the cost read from a store's header, so that an altered header cannot make
	// Open allocate without limit.
	maxKDF = KDF{Time: 64, MemoryKiB: 4 << 20, Threads: 64}
)

func (k KDF) check(bound KDF) error {
	if k.Time < MinKDF.Time || k.MemoryKiB < MinKDF.MemoryKiB || k.Threads < MinKDF.Threads ||
		k.Time > bound.Time || k.MemoryKiB > bound.MemoryKiB || k.Threads > bound.Threads {
		return fmt.Errorf("argon2id cost t=%d m=%dKiB p=%d is outside t=%d..%d m=%d..%dKiB p=%d..%d", k.Time, k.MemoryKiB, k.Threads,
			MinKDF.Time, bound.Time, MinKDF.MemoryKiB, bound.MemoryKiB, MinKDF.Threads, bound.Threads)
	}
	return nil
}

// SaltSize is the size of the random salt of a passphrase-derived key.
const SaltSize = 16

// DeriveKEK derives a key-encryption key from passphrase and salt (at least SaltSize bytes)
// with Argon2id at cost k, which must be at least MinKDF.
func DeriveKEK(passphrase, salt []byte, k KDF) (*KEK, error) {
	if len(passphrase) == 0 {
		return nil, &OptionError{Option: "Passphrase", Reason: "empty passphrase"}
	}
	if len(salt) < SaltSize {
		return nil, &OptionError{Option: "salt", Value: len(salt), Reason: fmt.Sprintf("at least %d bytes", SaltSize)}
	}
	if err := k.check(maxKDF); err != nil {
		return nil, &OptionError{Option: "KDF", Value: k, Reason: err.Error()}
	}
	key := argon2.IDKey(passphrase, salt, k.Time, k.MemoryKiB, k.Threads, KEKSize)
	defer clear(key)
	return NewKEK(key)
}
