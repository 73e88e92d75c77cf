package anya

import (
	"context"
	"time"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/cache"
)

// Namespaces of the Manager's cache tiers.
const (
	CacheBitcoin = "bitcoin" // the UTXOs of addresses (Balance)
	CacheWeb5    = "web5"    // what the Manager knows of a DID: its resolution and its links
	CacheLinks   = "links"   // link verdicts: an address and a DID, across Bitcoin and Web5
)

// DefaultCrossCacheEntries bounds the cross-protocol cache tier.
const DefaultCrossCacheEntries = 4 * DefaultCacheEntries

// tiers are the Manager's caches as cache.Tiered views. A lookup walks, in order:
//
//  1. the protocol's own cache (its namespace: CacheBitcoin, CacheWeb5, CacheLinks), bounded
//     by DefaultCacheEntries;
//  2. the cross-protocol cache, shared by every namespace (keys cache.Key(namespace, id)),
//     bounded by DefaultCrossCacheEntries, which holds the results that join protocols: a
//     link verdict is written to both its own tier and this one, so that it outlives an
//     eviction from the smaller tier;
//  3. the shared store of WithCacheStore (for the UTXO tier, whose values encode to JSON);
//  4. the source (the chain, the DID resolver and records store, the link checks).
//
// What a lower tier holds is copied up. Events invalidate the in-process tiers (and the
// store, for UTXOs): a block, the addresses it touches; a record of a DID's store, that DID.
type tiers struct {
	cross      *cache.Cache[string, any]
	utxos      *cache.Tiered[[]bitcoin.UTXO]
	identities *cache.Tiered[*identityState]
	verdicts   *cache.Tiered[*LinkVerification]
}

// openTiers builds the tiers over the per-protocol caches openCaches made.
func (m *Manager) openTiers() error {
	var err error
	if m.tiers.cross, err = cache.New[string, any](m.cacheOptions("cross", DefaultCrossCacheEntries, DefaultCacheTTL)...); err != nil {
		return err
	}
	m.onClose(m.tiers.cross.Close)
	uopts := []cache.Option{cache.WithCross(m.tiers.cross), cache.WithLogger(m.log)}
	if m.cfg.cacheStore != nil {
		uopts = append(uopts, cache.WithStore(m.cfg.cacheStore, m.cfg.cacheStoreTTL))
	}
	if m.tiers.utxos, err = cache.NewTiered(CacheBitcoin, m.utxos, uopts...); err != nil {
		return err
	}
	if m.tiers.identities, err = cache.NewTiered(CacheWeb5, m.identities, cache.WithCross(m.tiers.cross), cache.WithLogger(m.log)); err != nil {
		return err
	}
	m.tiers.verdicts, err = cache.NewTiered(CacheLinks, m.verdicts, cache.WithCross(m.tiers.cross), cache.WithLogger(m.log))
	return err
}

// invalidateIdentity drops what the in-process tiers know of d.
func (m *Manager) invalidateIdentity(d string) { m.tiers.identities.InvalidateLocal(d) }

// invalidateUTXOs drops the cached UTXOs of addresses (after the Manager sent from or to them,
// or a block touched them) from every tier.
func (m *Manager) invalidateUTXOs(addresses ...string) {
	if len(addresses) == 0 {
		return
	}
	if m.cfg.cacheStore == nil {
		m.tiers.utxos.InvalidateLocal(addresses...)
		return
	}
	if err := m.tiers.utxos.InvalidateKeys(context.Background(), addresses...); err != nil {
		m.log.Warn("anya: invalidate cached UTXOs in the shared store", "err", err)
	}
}

// cachedVerdict returns a cached link verdict.
func (m *Manager) cachedVerdict(ctx context.Context, key string) (*LinkVerification, bool) {
	v, err := m.tiers.verdicts.Get(ctx, key)
	return v, err == nil && v != nil
}

// cacheVerdict keeps a link verdict for ttl in its own tier and the cross-protocol one.
func (m *Manager) cacheVerdict(key string, v *LinkVerification, ttl time.Duration) {
	_ = m.verdicts.SetWithTTL(key, v, ttl)
	_ = m.tiers.cross.SetWithTTL(cache.Key(CacheLinks, key), v, ttl)
}

// cacheOptions are the options of the Manager's cache name: its bounds, its logger and its
// telemetry, named name.
func (m *Manager) cacheOptions(name string, entries int, ttl time.Duration) []cache.Option {
	return []cache.Option{cache.WithMaxEntries(entries), cache.WithTTL(ttl), cache.WithLogger(m.log), cache.WithName(name),
		cache.WithTracerProvider(m.cfg.tracerProv), cache.WithMeterProvider(m.cfg.meterProv)}
}
