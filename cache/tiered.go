package cache

import (
	"context"
	"errors"
	"time"
)

// MaxNamespaceLen is the longest namespace, in bytes.
const MaxNamespaceLen = 64

// Key returns the key of id in namespace: namespace + "/" + id. A namespace is a lowercase
// token (see [ValidNamespace]) and so has no "/": keys of different namespaces never collide,
// whatever their ids hold.
func Key(namespace, id string) string { return namespace + "/" + id }

// ValidNamespace reports whether ns is a namespace: 1 to [MaxNamespaceLen] bytes of a-z, 0-9,
// '-' and '_', starting with a letter or digit.
func ValidNamespace(ns string) bool {
	if len(ns) == 0 || len(ns) > MaxNamespaceLen {
		return false
	}
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// WithCross adds the cross-protocol cache to the lookup chain, after the namespace's own: a
// cache shared by every namespace, whose keys are [Key](namespace, id) and whose values have
// any type. Bridges between protocols write to it. It configures a [Tiered] cache. Defaults to
// none.
func WithCross(cross *Cache[string, any]) Option {
	return func(c *config) {
		if c.accepts(kindTiered, "WithCross", cross) {
			c.cross = cross
		}
	}
}

// WithStore adds a shared [Store] to the lookup chain, after the in-process caches; loaded
// values are written to it with ttl (0: no expiry). It configures a [Tiered] cache. Defaults
// to none.
func WithStore(store Store, ttl time.Duration) Option {
	return func(c *config) {
		if c.accepts(kindTiered, "WithStore", store) {
			c.store, c.storeTTL = store, ttl
		}
	}
}

// WithCodec sets the codec of the values written to the [Store]; it must be a Codec of the
// Tiered cache's value type. It configures a [Tiered] cache. Defaults to [JSON].
func WithCodec[V any](codec Codec[V]) Option {
	return func(c *config) {
		if c.accepts(kindTiered, "WithCodec", codec) {
			c.codec = codec
		}
	}
}

// Tiered is one namespace's view of the cache tiers: its own in-process [Cache] (the
// per-protocol cache), the cross-protocol cache, and the shared [Store]. Lookups fall back
// along the chain, in this order:
//
//  1. the namespace's cache, under id;
//  2. the cross-protocol cache, under Key(namespace, id), if it holds a value of type V;
//  3. the shared store, under Key(namespace, id), decoded with the codec;
//  4. the loader, whose value is also written to the store.
//
// A value found in tiers 2 to 4 is written to the namespace's cache, so the next lookup stops
// at 1. Steps 2 to 4 run as one single-flight load of the namespace's cache: a stampede makes
// one pass down the chain. A shared tier that fails or holds undecodable bytes is logged and
// treated as a miss.
//
// Create it with [NewTiered]. It owns none of its tiers: close them yourself. The methods of
// the zero value that can fail return a [*NotConstructedError].
type Tiered[V any] struct {
	ns    string
	local *Cache[string, V]
	cfg   config
	codec Codec[V]
}

// NewTiered returns the tiers of namespace, whose own cache is local.
func NewTiered[V any](namespace string, local *Cache[string, V], opts ...Option) (*Tiered[V], error) {
	cfg, err := newConfig(kindTiered, opts)
	if err != nil {
		return nil, err
	}
	bad := func(option string, v any, reason string) (*Tiered[V], error) {
		return nil, &OptionError{Option: option, Value: v, Reason: reason}
	}
	if !ValidNamespace(namespace) {
		return bad("namespace", namespace, "must be 1-64 bytes of a-z, 0-9, '-' and '_'")
	}
	if local == nil {
		return bad("local", nil, "must not be nil")
	}
	t := &Tiered[V]{ns: namespace, local: local, cfg: cfg, codec: JSON[V]()}
	if cfg.codec != nil {
		codec, ok := cfg.codec.(Codec[V])
		if !ok {
			return bad("WithCodec", cfg.codec, "must be a Codec of the value type")
		}
		t.codec = codec
	}
	return t, nil
}

func notTiered() error { return &NotConstructedError{Type: "Tiered", Constructor: "NewTiered"} }

// Namespace returns the namespace.
func (t *Tiered[V]) Namespace() string { return t.ns }

// Get looks id up along the chain without loading: it returns [ErrNotFound] if no tier has it.
func (t *Tiered[V]) Get(ctx context.Context, id string) (V, error) {
	return t.GetOrLoad(ctx, id, func(context.Context, string) (V, error) {
		var zero V
		return zero, ErrNotFound
	})
}

// GetOrLoad looks id up along the chain (see [Tiered]) and loads it with loader if no tier has
// it, with the semantics of [Cache.GetOrLoad].
func (t *Tiered[V]) GetOrLoad(ctx context.Context, id string, loader func(ctx context.Context, id string) (V, error)) (V, error) {
	if t.local == nil {
		var zero V
		return zero, notTiered()
	}
	if loader == nil {
		var zero V
		return zero, ErrNilLoader
	}
	if t.local.closed.Load() {
		var zero V
		return zero, ErrClosed
	}
	// The chain's loader is built on a miss only, so that a hit allocates nothing.
	if it, ok := t.local.lookup(ctx, id, func() func(context.Context, string) (V, error) { return t.chain(loader) }); ok {
		return t.local.result(it)
	}
	return t.local.loadMiss(ctx, id, t.chain(loader))
}

// chain returns the loader of steps 2 to 4 of the chain, ending with loader.
func (t *Tiered[V]) chain(loader func(context.Context, string) (V, error)) func(context.Context, string) (V, error) {
	return func(ctx context.Context, id string) (V, error) { return t.fallback(ctx, id, loader) }
}

// fallback runs steps 2 to 4 of the chain.
func (t *Tiered[V]) fallback(ctx context.Context, id string, loader func(context.Context, string) (V, error)) (V, error) {
	key := Key(t.ns, id)
	if t.cfg.cross != nil {
		if v, ok := t.cfg.cross.Get(key); ok {
			if tv, ok := v.(V); ok {
				return tv, nil
			}
		}
	}
	if t.cfg.store != nil {
		data, err := t.cfg.store.Get(ctx, key)
		switch {
		case err == nil:
			v, derr := t.codec.Decode(data)
			if derr == nil {
				return v, nil
			}
			t.cfg.logger.WarnContext(ctx, "cache: undecodable value in the shared tier", "key", key, "err", derr)
		case errors.Is(err, ErrNotFound):
		case ctx.Err() != nil:
			var zero V
			return zero, ctx.Err()
		default:
			t.cfg.logger.WarnContext(ctx, "cache: shared tier failed", "key", key, "err", err)
		}
	}
	v, err := loader(ctx, id)
	if err != nil {
		return v, err
	}
	if t.cfg.store != nil {
		if err := t.storeValue(ctx, key, v); err != nil {
			t.cfg.logger.WarnContext(ctx, "cache: writing the shared tier failed", "key", key, "err", err)
		}
	}
	return v, nil
}

func (t *Tiered[V]) storeValue(ctx context.Context, key string, v V) error {
	data, err := t.codec.Encode(v)
	if err != nil {
		return err
	}
	return t.cfg.store.Set(ctx, key, data, t.cfg.storeTTL)
}

// Set writes v for id to the namespace's cache and the shared store, if any.
func (t *Tiered[V]) Set(ctx context.Context, id string, v V) error {
	if t.local == nil {
		return notTiered()
	}
	t.local.Set(id, v)
	if t.cfg.store != nil {
		return t.storeValue(ctx, Key(t.ns, id), v)
	}
	return nil
}

// InvalidateKeys removes ids from every tier: the namespace's cache, the cross-protocol cache
// and the store. It returns the store's errors, joined.
func (t *Tiered[V]) InvalidateKeys(ctx context.Context, ids ...string) error {
	if t.local == nil {
		return notTiered()
	}
	var errs []error
	for _, id := range ids {
		t.local.Invalidate(id)
		key := Key(t.ns, id)
		if t.cfg.cross != nil {
			t.cfg.cross.Invalidate(key)
		}
		if t.cfg.store != nil {
			if err := t.cfg.store.Delete(ctx, key); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// InvalidateLocal removes ids from the in-process tiers only — the namespace's cache and the
// cross-protocol cache — leaving the shared store alone. It is what a host does when the
// shared store tells it that another host changed or deleted the keys (see
// cache/natscache.Watch).
func (t *Tiered[V]) InvalidateLocal(ids ...string) {
	for _, id := range ids {
		t.local.Invalidate(id)
		if t.cfg.cross != nil {
			t.cfg.cross.Invalidate(Key(t.ns, id))
		}
	}
}

// InvalidatePrefix removes the ids that start with prefix from the in-process tiers, and
// returns how many it removed. The store has no listing, so its entries stay until their TTL.
// The zero Tiered removes nothing.
func (t *Tiered[V]) InvalidatePrefix(prefix string) int {
	if t.local == nil {
		return 0
	}
	n := InvalidatePrefix(t.local, prefix)
	if t.cfg.cross != nil {
		n += InvalidatePrefix(t.cfg.cross, Key(t.ns, prefix))
	}
	return n
}
