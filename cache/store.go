package cache

import (
	"context"
	"encoding/json"
	"time"
)

// Store is a shared second tier: a cache of encoded values that several processes see, such
// as a NATS KV bucket. [MemoryStore] is the in-process one. Every Store passes
// cachetest.Run, which checks the rules below.
//
// Concurrency and lifecycle:
//   - A Store MUST be safe for concurrent use.
//   - Close MUST be idempotent. After Close, Get, Set and Delete MUST return [ErrClosed].
//   - Every method MUST return ctx.Err() (possibly wrapped) when ctx has ended before it
//     completes, and MUST NOT have applied a Set or Delete that returned ctx.Err() unless it
//     was applied before ctx ended.
//
// Keys and values:
//   - A Store MUST accept any key of 1 to [MaxStoreKeyLen] bytes, any bytes included, and
//     escape it as its backend needs; distinct keys MUST NOT collide. It MUST reject an empty
//     or longer key with [ErrInvalidKey], changing nothing.
//   - Values MUST round-trip byte-exact, the empty value included. Set MUST NOT keep the
//     caller's slice, and Get MUST return a slice the caller may keep and modify.
//
// Semantics:
//   - Get MUST return [ErrNotFound] (possibly wrapped) for a key that is absent, deleted or
//     expired, and the value of the latest Set otherwise (read-your-writes from one process).
//   - Set with ttl = 0 stores without expiry. A positive ttl MAY be rounded up to the
//     backend's granularity, and MUST NOT be shortened: the value MUST be readable until ttl
//     has passed, and MUST NOT be after ttl plus that granularity. A negative ttl MUST be
//     rejected with [ErrInvalidTTL], changing nothing.
//   - Delete of an absent key MUST succeed.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
	Close() error
}

// MaxStoreKeyLen is the longest key a [Store] must accept, in bytes.
const MaxStoreKeyLen = 1024

// Codec encodes the values of a [Tiered] cache for its shared [Store]. Decode gets bytes from
// outside the process: it MUST return an error, not panic, for bytes it cannot decode.
type Codec[V any] interface {
	Encode(v V) ([]byte, error)
	Decode(data []byte) (V, error)
}

// JSON returns a [Codec] that encodes values with encoding/json.
func JSON[V any]() Codec[V] { return jsonCodec[V]{} }

type jsonCodec[V any] struct{}

func (jsonCodec[V]) Encode(v V) ([]byte, error) { return json.Marshal(v) }

func (jsonCodec[V]) Decode(data []byte) (V, error) {
	var v V
	err := json.Unmarshal(data, &v)
	return v, err
}
