package natsx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The buckets and object stores of the SDK's JetStream backends are made by OpenKV and
// OpenObjectStore instead of nats.go's CreateOrUpdateKeyValue and CreateOrUpdateObjectStore,
// which create their streams with AllowDirect. Direct gets are answered by any replica of a
// replicated stream, including a follower that has not applied the latest writes yet: on a
// cluster, a key just written (a run just created, a record just stored) may then read as
// missing or as its older value. Without AllowDirect, reads go to the stream's leader, which
// answers with every acknowledged write. nats.go's functions also turn AllowDirect back on, and
// AllowAtomicPublish off, whenever they update an existing bucket; OpenKV and OpenObjectStore
// write the whole configuration every time, so hosts opening one bucket leave it as it was.

// KVConfig is a KV bucket as OpenKV makes it: nats.go's configuration (without mirrors or
// sources) and whether the bucket takes atomic batches (Batch, Txn).
type KVConfig struct {
	jetstream.KeyValueConfig
	Batch bool
}

// ErrConfig is returned by OpenKV and OpenObjectStore for a configuration they do not make.
var ErrConfig = errors.New("natsx: unsupported bucket configuration")

// OpenKV creates the KV bucket cfg, or updates an existing one to cfg, with reads served by the
// stream's leader (read-your-writes on a cluster), and returns it.
func OpenKV(ctx context.Context, js jetstream.JetStream, cfg KVConfig) (jetstream.KeyValue, error) {
	if !validBucket(cfg.Bucket) {
		return nil, fmt.Errorf("%w: bucket name %q (want 1 or more of A-Z a-z 0-9 _ -)", ErrConfig, cfg.Bucket)
	}
	if cfg.Mirror != nil || len(cfg.Sources) > 0 {
		return nil, fmt.Errorf("%w: bucket %s mirrors or sources another", ErrConfig, cfg.Bucket)
	}
	if cfg.History > jetstream.KeyValueMaxHistory {
		return nil, fmt.Errorf("%w: bucket %s keeps %d values a key (at most %d)", ErrConfig, cfg.Bucket, cfg.History, jetstream.KeyValueMaxHistory)
	}
	history := int64(max(cfg.History, 1))
	dup := 2 * time.Minute
	if cfg.TTL > 0 && cfg.TTL < dup {
		dup = cfg.TTL
	}
	sc := jetstream.StreamConfig{
		Name:               "KV_" + cfg.Bucket,
		Description:        cfg.Description,
		Subjects:           []string{"$KV." + cfg.Bucket + ".>"},
		MaxMsgsPerSubject:  history,
		MaxBytes:           orUnlimited(cfg.MaxBytes),
		MaxAge:             cfg.TTL,
		MaxMsgSize:         int32(orUnlimited(int64(cfg.MaxValueSize))),
		Storage:            cfg.Storage,
		Replicas:           max(cfg.Replicas, 1),
		Placement:          cfg.Placement,
		AllowRollup:        true,
		DenyDelete:         true,
		Duplicates:         dup,
		MaxMsgs:            -1,
		MaxConsumers:       -1,
		RePublish:          cfg.RePublish,
		Discard:            jetstream.DiscardNew,
		Metadata:           cfg.Metadata,
		AllowAtomicPublish: cfg.Batch,
	}
	if cfg.Compression {
		sc.Compression = jetstream.S2Compression
	}
	if cfg.LimitMarkerTTL > 0 {
		sc.AllowMsgTTL, sc.SubjectDeleteMarkerTTL = true, cfg.LimitMarkerTTL
	}
	if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
		return nil, fmt.Errorf("natsx: bucket %s: %w", cfg.Bucket, err)
	}
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("natsx: bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// OpenObjectStore creates the object store cfg, or updates an existing one to cfg, with reads
// served by the stream's leader, and returns it.
func OpenObjectStore(ctx context.Context, js jetstream.JetStream, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	if !validBucket(cfg.Bucket) {
		return nil, fmt.Errorf("%w: object store name %q (want 1 or more of A-Z a-z 0-9 _ -)", ErrConfig, cfg.Bucket)
	}
	sc := jetstream.StreamConfig{
		Name:        "OBJ_" + cfg.Bucket,
		Description: cfg.Description,
		Subjects:    []string{"$O." + cfg.Bucket + ".C.>", "$O." + cfg.Bucket + ".M.>"},
		MaxAge:      cfg.TTL,
		MaxBytes:    orUnlimited(cfg.MaxBytes),
		Storage:     cfg.Storage,
		Replicas:    max(cfg.Replicas, 1),
		Placement:   cfg.Placement,
		Discard:     jetstream.DiscardNew,
		AllowRollup: true,
		Metadata:    cfg.Metadata,
	}
	if cfg.Compression {
		sc.Compression = jetstream.S2Compression
	}
	if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
		return nil, fmt.Errorf("natsx: object store %s: %w", cfg.Bucket, err)
	}
	obs, err := js.ObjectStore(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("natsx: object store %s: %w", cfg.Bucket, err)
	}
	return obs, nil
}

func orUnlimited(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

func validBucket(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
