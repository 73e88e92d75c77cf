package jose

import (
	"context"
	"fmt"
	"sync"
)

// KeyManager generates private keys, holds them, and signs with them. Keys are named by
// key ID; the in-memory implementation uses the RFC 7638 thumbprint of the public key.
//
// Implementations MUST be safe for concurrent use, MUST NOT return private key material
// from these methods, and MUST return ctx.Err() when ctx is done before the work starts.
// PublicKey and Sign MUST return an error wrapping ErrKeyNotFound for an unknown key ID.
type KeyManager interface {
	// GenerateKey creates a new key on curve c and returns its key ID.
	GenerateKey(ctx context.Context, c Curve) (keyID string, err error)
	// PublicKey returns the public JWK of a key.
	PublicKey(ctx context.Context, keyID string) (JWK, error)
	// Sign signs data with a key: EdDSA for Ed25519, ES256K (low-S) for secp256k1, ES256,
	// ES384 and ES512 for P-256, P-384 and P-521. ECDSA signatures are R||S: 64 bytes, and
	// 96 and 132 bytes for P-384 and P-521.
	Sign(ctx context.Context, keyID string, data []byte) ([]byte, error)
}

// KeyImporter is implemented by key managers that accept existing private keys.
type KeyImporter interface {
	// ImportKey stores a private JWK and returns its key ID.
	ImportKey(ctx context.Context, private JWK) (keyID string, err error)
}

// KeyExporter is implemented by key managers that can hand out a private key. It is the
// only way private material leaves a key manager; callers ask for it explicitly (for
// example to write a portable DID).
type KeyExporter interface {
	// ExportKey returns the private JWK of a key.
	ExportKey(ctx context.Context, keyID string) (JWK, error)
}

// MemoryKeyManager is a KeyManager, KeyImporter and KeyExporter that keeps keys in memory.
// Its key IDs are RFC 7638 thumbprints. The zero value is ready to use.
type MemoryKeyManager struct {
	mu   sync.RWMutex
	keys map[string]memKey
}

type memKey struct {
	private JWK
	parsed  *key
}

var (
	_ KeyManager  = (*MemoryKeyManager)(nil)
	_ KeyImporter = (*MemoryKeyManager)(nil)
	_ KeyExporter = (*MemoryKeyManager)(nil)
)

// NewMemoryKeyManager returns an empty in-memory key manager.
func NewMemoryKeyManager() *MemoryKeyManager { return &MemoryKeyManager{} }

// GenerateKey creates a key on curve c.
func (m *MemoryKeyManager) GenerateKey(ctx context.Context, c Curve) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	k, err := generate(c)
	if err != nil {
		return "", err
	}
	return m.store(k)
}

// ImportKey stores a private key. Importing the same key twice returns the same ID.
func (m *MemoryKeyManager) ImportKey(ctx context.Context, private JWK) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if !private.IsPrivate() {
		return "", ErrPrivateKeyExpected
	}
	return m.store(private)
}

func (m *MemoryKeyManager) store(k JWK) (string, error) {
	parsed, err := parseKey(k)
	if err != nil {
		return "", err
	}
	id, err := k.Thumbprint()
	if err != nil {
		return "", err
	}
	priv := JWK{KeyType: k.KeyType, Curve: k.Curve, X: k.X, Y: k.Y, D: k.D, KeyID: id, Algorithm: AlgorithmFor(k.Curve)}
	if k.Curve == X25519 {
		priv.Algorithm = k.Algorithm
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = make(map[string]memKey)
	}
	m.keys[id] = memKey{private: priv, parsed: parsed}
	return id, nil
}

func (m *MemoryKeyManager) get(keyID string) (memKey, error) {
	m.mu.RLock()
	k, ok := m.keys[keyID]
	m.mu.RUnlock()
	if !ok {
		return memKey{}, fmt.Errorf("%w: %q", ErrKeyNotFound, keyID)
	}
	return k, nil
}

// PublicKey returns the public JWK of a key; its kid is the key ID.
func (m *MemoryKeyManager) PublicKey(ctx context.Context, keyID string) (JWK, error) {
	if err := ctx.Err(); err != nil {
		return JWK{}, err
	}
	k, err := m.get(keyID)
	if err != nil {
		return JWK{}, err
	}
	return k.private.Public(), nil
}

// Sign signs data with a key.
func (m *MemoryKeyManager) Sign(ctx context.Context, keyID string, data []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, err := m.get(keyID)
	if err != nil {
		return nil, err
	}
	return k.parsed.sign(data)
}

// ExportKey returns the private JWK of a key.
func (m *MemoryKeyManager) ExportKey(ctx context.Context, keyID string) (JWK, error) {
	if err := ctx.Err(); err != nil {
		return JWK{}, err
	}
	k, err := m.get(keyID)
	if err != nil {
		return JWK{}, err
	}
	return k.private, nil
}

// KeyManagerSigner returns a Signer that signs with key keyID of km and puts kid in JWS
// headers. The algorithm follows from the key's curve.
func KeyManagerSigner(ctx context.Context, km KeyManager, keyID, kid string) (Signer, error) {
	pub, err := km.PublicKey(ctx, keyID)
	if err != nil {
		return nil, err
	}
	alg := AlgorithmFor(pub.Curve)
	if alg == "" {
		return nil, fmt.Errorf("%w: %s keys do not sign", ErrUnsupportedAlgorithm, pub.Curve)
	}
	return &kmSigner{km: km, keyID: keyID, kid: kid, alg: alg}, nil
}

type kmSigner struct {
	km         KeyManager
	keyID, kid string
	alg        string
}

func (s *kmSigner) Algorithm() string { return s.alg }
func (s *kmSigner) KeyID() string     { return s.kid }
func (s *kmSigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	return s.km.Sign(ctx, s.keyID, data)
}
