package natsstore

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/anya-org/anya-go/internal/natsx"
)

// Defaults of New.
const (
	// DefaultBucket is the KV bucket that keeps the runs; its blobs (values above the inline
	// limit) go to the object store of the same name with "_blobs" appended.
	DefaultBucket = "anya_workflow"
	// DefaultReplicas is the bucket's replication factor (1: a single server).
	DefaultReplicas = 1
	// DefaultInlineMax is the largest value kept inline in a KV entry.
	DefaultInlineMax = natsx.DefaultInlineMax
)

// Option configures New.
type Option func(*config)

type config struct {
	bucket    string
	replicas  int
	inlineMax int
	storage   jetstream.StorageType

	tracerProv trace.TracerProvider
}

// WithTracerProvider traces every operation of the store with tp: a span of kind client,
// "natsstore.<operation>" (create, commit, load, unfinished, definition, intent, put_intent,
// create_intent, acquire, renew, release), with db.system.name "nats", db.collection.name (the
// bucket) and db.operation.name — never run IDs, keys or values. A read that finds nothing
// has anya.found false and is no failure. Under a workflow engine these spans sit under the
// run and step spans that caused them. A nil tp is the no-op provider. Defaults to
// OpenTelemetry's no-op provider: nothing is traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProv = tp }
}

// WithBucket names the KV bucket. Engines sharing runs must use the same bucket. Defaults to
// DefaultBucket.
func WithBucket(name string) Option { return func(c *config) { c.bucket = name } }

// WithReplicas sets the replication factor of the bucket and its object store in a JetStream
// cluster (1, 3 or 5). Defaults to DefaultReplicas.
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithInlineMax sets the largest value (a run record, a definition, an intent) kept in a KV
// entry; larger ones go to the object store. It must leave room under the server's max
// payload. Defaults to DefaultInlineMax.
func WithInlineMax(n int) Option { return func(c *config) { c.inlineMax = n } }

// WithMemoryStorage keeps the bucket in memory: faster, lost when the server stops (the store
// is then not durable). Defaults to file storage.
func WithMemoryStorage() Option { return func(c *config) { c.storage = jetstream.MemoryStorage } }

// OptionError names an option (or New's argument "js") whose value New refuses; nothing is
// constructed. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("natsstore: invalid option %s(%v): %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the methods of a zero Store: it names the constructor. It
// matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // "Store"
	Constructor string // "New"
}

func (e *NotConstructedError) Error() string {
	return "natsstore: a zero " + e.Type + " is not usable: create it with natsstore." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

func (c *config) validate() error {
	switch {
	case c.bucket == "" || len(c.bucket) > 64 || strings.Trim(c.bucket, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "":
		return &OptionError{Option: "WithBucket", Value: c.bucket, Reason: "want 1 to 64 of A-Z a-z 0-9 _ -"}
	case c.replicas < 1 || c.replicas > 5:
		return &OptionError{Option: "WithReplicas", Value: c.replicas, Reason: "want 1 to 5"}
	case c.inlineMax < 1 || c.inlineMax > 8<<20:
		return &OptionError{Option: "WithInlineMax", Value: c.inlineMax, Reason: "want 1 byte to 8 MiB"}
	}
	return nil
}
