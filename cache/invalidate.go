package cache

import "context"

// InvalidateOn returns an event handler that invalidates the keys an event names, for wiring
// a cache to an event source without the cache depending on it. invalidate is
// [Cache.InvalidateKeys] or [Tiered.InvalidateKeys]; keys lists the keys an event touches.
// With the SDK's bus, E is the envelope type and the handler is the subscriber:
//
//	bus.Subscribe(b, "bitcoin.block.connected", cache.InvalidateOn(utxos.InvalidateKeys,
//		func(e bus.Envelope[Block]) []string { return e.Payload.Addresses }))
func InvalidateOn[E any, K comparable](invalidate func(ctx context.Context, keys ...K) error, keys func(E) []K) func(context.Context, E) error {
	return func(ctx context.Context, e E) error {
		ks := keys(e)
		if len(ks) == 0 {
			return nil
		}
		return invalidate(ctx, ks...)
	}
}
