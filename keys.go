package anya

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/anya-org/anya-go/keystore"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
)

// Names of the Manager's entries in its key store.
const (
	hostKeyName       = "anya/host"      // the host's DID, when the Manager created it
	identityKeyPrefix = "anya/identity/" // + DID: an identity NewIdentity created
	identityKind      = "anya.identity"  // the kind metadata of an identity's entry
	hostKind          = "anya.host"      // the kind metadata of the host's entry
	identityVersion   = 1                // the version of identityEntry
	republishTimeout  = 30 * time.Second // bounds one round of republishing
)

// identityEntry is the secret of an identity's key-store entry: its DID with the private keys
// (the portable form) and its Bitcoin key.
type identityEntry struct {
	Version    int             `json:"v"`
	DID        json.RawMessage `json:"did"`                   // a did.PortableDID
	BitcoinKey string          `json:"bitcoin_key,omitempty"` // 32 bytes, hex
}

// openKeys opens the key store the options chose (see WithEphemeralKeys).
func (m *Manager) openKeys(ctx context.Context) error {
	switch {
	case m.cfg.keyStore != nil:
		m.keys = m.cfg.keyStore
	case m.cfg.passphrase != nil || m.cfg.kek != nil:
		src := keystore.RawKEK(m.cfg.kek)
		if m.cfg.passphrase != nil {
			src = keystore.Passphrase(m.cfg.passphrase)
		}
		clear(m.cfg.passphrase)
		clear(m.cfg.kek)
		s, err := keystore.Open(ctx, m.keysDB, src, keystore.WithClock(m.now))
		if err != nil {
			return fmt.Errorf("anya: the key store in %s: %w", KeysFile, err)
		}
		m.keys = s
		m.onClose(s.Close)
	case m.cfg.ephemeralKeys || m.ownDir:
		s, err := keystore.NewMemory(keystore.WithClock(m.now))
		if err != nil {
			return fmt.Errorf("anya: the in-memory key store: %w", err)
		}
		m.keys = s
	}
	return nil
}

// durableKeys reports whether the key store outlives the Manager.
func (m *Manager) durableKeys() bool {
	return m.cfg.keyStore != nil || m.cfg.passphrase != nil || m.cfg.kek != nil
}

// hostDID returns the host's DID when WithHostDID gives none: the one in a durable key store,
// created and stored there the first time; a new did:key otherwise.
func (m *Manager) hostDID(ctx context.Context) (*did.BearerDID, error) {
	if !m.durableKeys() {
		return didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	}
	e, err := m.keys.Get(ctx, hostKeyName)
	switch {
	case err == nil:
		p, err := did.ParsePortableDID(e.Secret)
		if err != nil {
			return nil, fmt.Errorf("anya: the host's DID in the key store: %w", err)
		}
		return did.Import(ctx, p, nil)
	case !errors.Is(err, keystore.ErrNotFound):
		return nil, fmt.Errorf("anya: the host's DID in the key store: %w", err)
	}
	b, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		return nil, err
	}
	p, err := b.Export(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := m.keys.Put(ctx, keystore.Entry{Name: hostKeyName, Secret: raw, Meta: map[string]string{"kind": hostKind, "did": b.String()}}); err != nil {
		return nil, fmt.Errorf("anya: store the host's DID: %w", err)
	}
	return b, nil
}

// saveIdentity puts a new identity's keys in the key store.
func (m *Manager) saveIdentity(ctx context.Context, b *did.BearerDID, key *btcec.PrivateKey, address string) error {
	p, err := b.Export(ctx)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	e := identityEntry{Version: identityVersion, DID: raw}
	if key != nil {
		e.BitcoinKey = hex.EncodeToString(key.Serialize())
	}
	secret, err := json.Marshal(e)
	clear(raw)
	if err != nil {
		return err
	}
	defer clear(secret)
	meta := map[string]string{"kind": identityKind, "did": b.String()}
	if address != "" {
		meta["address"] = address
	}
	if err := m.keys.Put(ctx, keystore.Entry{Name: identityKeyPrefix + b.String(), Secret: secret, Meta: meta}); err != nil {
		return fmt.Errorf("anya: store the keys of %s: %w", b.DID, err)
	}
	return nil
}

// readIdentity decodes an identity's key-store entry.
func readIdentity(ctx context.Context, e keystore.Entry) (*did.BearerDID, *btcec.PrivateKey, error) {
	var ie identityEntry
	if err := json.Unmarshal(e.Secret, &ie); err != nil {
		return nil, nil, fmt.Errorf("anya: key-store entry %q: %w", e.Name, err)
	}
	if ie.Version != identityVersion {
		return nil, nil, fmt.Errorf("anya: key-store entry %q has version %d, not %d", e.Name, ie.Version, identityVersion)
	}
	p, err := did.ParsePortableDID(ie.DID)
	if err != nil {
		return nil, nil, fmt.Errorf("anya: key-store entry %q: %w", e.Name, err)
	}
	if identityKeyPrefix+p.URI != e.Name {
		return nil, nil, fmt.Errorf("anya: key-store entry %q holds the keys of %s", e.Name, p.URI)
	}
	b, err := did.Import(ctx, p, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("anya: key-store entry %q: %w", e.Name, err)
	}
	var key *btcec.PrivateKey
	if ie.BitcoinKey != "" {
		raw, err := hex.DecodeString(ie.BitcoinKey)
		if err != nil || len(raw) != btcec.PrivKeyBytesLen {
			return nil, nil, fmt.Errorf("anya: key-store entry %q: a malformed Bitcoin key", e.Name)
		}
		key, _ = btcec.PrivKeyFromBytes(raw)
		clear(raw)
	}
	return b, key, nil
}

// loadIdentities takes back the identities NewIdentity created in earlier runs: their keys from
// the key store into the wallet and the Manager (their records-store grants are in the state
// database already; the republisher publishes their DID documents again).
func (m *Manager) loadIdentities(ctx context.Context) error {
	if m.keys == nil {
		return nil
	}
	names, err := m.keys.List(ctx, identityKeyPrefix)
	if err != nil {
		return fmt.Errorf("anya: list the key store: %w", err)
	}
	for _, name := range names {
		e, err := m.keys.Get(ctx, name)
		if err != nil {
			return fmt.Errorf("anya: the key store: %w", err)
		}
		b, key, err := readIdentity(ctx, e)
		clear(e.Secret)
		if err != nil {
			return err
		}
		id := &Identity{DID: b, key: key}
		if key != nil {
			if id.Address, err = m.wallet.Add(key); err != nil {
				return err
			}
		}
		m.remember(id)
	}
	return nil
}

// remember keeps an identity whose keys the Manager holds.
func (m *Manager) remember(id *Identity) {
	m.idsMu.Lock()
	defer m.idsMu.Unlock()
	if old, ok := m.ids[id.String()]; ok && old.key != nil && id.key == nil {
		return // keep the one that can pay
	}
	m.ids[id.String()] = id
}

// Identity returns an identity whose keys the Manager holds — created by NewIdentity (in this
// run or, with a durable key store, an earlier one) or added with AddIdentity in this run —
// ready to sign: its DID's signer, and SignChallenge with its Bitcoin key.
func (m *Manager) Identity(d string) (*Identity, error) {
	m.idsMu.Lock()
	defer m.idsMu.Unlock()
	id, ok := m.ids[d]
	if !ok {
		return nil, fmt.Errorf("%w: %s (no keys held for it)", ErrUnknownIdentity, d)
	}
	return id, nil
}

// Identities returns the DIDs of the identities whose keys the Manager holds, sorted.
func (m *Manager) Identities() []string {
	m.idsMu.Lock()
	defer m.idsMu.Unlock()
	out := make([]string, 0, len(m.ids))
	for d := range m.ids {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// republish publishes again the DID documents of the did:dht identities the Manager holds keys
// for, through its did:dht client; a failure is logged and retried at the next round.
func (m *Manager) republish(ctx context.Context) {
	m.idsMu.Lock()
	var bs []*did.BearerDID
	for _, id := range m.ids {
		if id.DID.DID.Method == diddht.Method {
			bs = append(bs, id.DID)
		}
	}
	m.idsMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, republishTimeout)
	defer cancel()
	for _, b := range bs {
		if err := m.dht.Publish(ctx, b); err != nil {
			if ctx.Err() != nil {
				return
			}
			m.log.Warn("anya: republish", "did", b.DID, "err", err)
		}
	}
}

// startRepublisher republishes the identities' DID documents now and every republishEvery,
// until Close, on a goroutine of its own: a gateway that does not answer never holds up New.
func (m *Manager) startRepublisher(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.republish(ctx) // at start: a gateway may have dropped them while the host was down
		every(ctx, m.cfg.republishEvery, m.republish)
	}()
	m.onClose(func() error {
		cancel()
		<-done
		return nil
	})
	return nil
}

// every calls f every d until ctx ends.
func every(ctx context.Context, d time.Duration, f func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f(ctx)
		}
	}
}
