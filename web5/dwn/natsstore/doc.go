// Package natsstore is a dwn.Store on a NATS JetStream KV bucket: records nodes, in several
// processes attached to one JetStream server or cluster, share their tenants' records and
// protocols.
//
//	store, _ := natsstore.New(ctx, js)
//	node, _ := dwn.New(resolver, dwn.WithStore(store))
//
// # Layout
//
// Every part of a key is escaped with bytes outside [-/_A-Za-z0-9] as "=XX", so tenants, record
// IDs and protocol URIs never collide and hold no dots:
//
//	r.<tenant>.<record id>                 the record: properties, messages, data
//	i.<tenant>.<dimension>.<value>.<id>    an index entry, for protocol, schema, recipient,
//	                                        parent and context (its root)
//	p.<tenant>.<protocol uri>              the protocol definition in force
//
// Records larger than WithInlineMax go to the object store "<bucket>_blobs" under their
// SHA-256, and the entry refers to them.
//
// # Consistency
//
// PutRecord and PutProtocol compare the CID of the latest message with prev and write by
// compare-and-set on the revision they read (create-only for prev ""), so of concurrent
// writers from one version exactly one succeeds and the others get dwn.ErrConflict. A record's
// index entries are written before the record: a stored record is always reachable by its
// indexes, and an entry left by a refused put only adds a candidate that a query reads, checks
// against the filter (dwn.Filter.Matches) and drops.
//
// # Queries
//
// Query reads the candidates of the narrowest index the filter allows — the record itself for
// a record ID, else the entries of its parent, context, recipient, schema or protocol, else
// every record of the tenant in one watch — keeps the live records that match, sorts them
// (dwn.DateSort.Less) and returns the page after the cursor. The cost grows with the candidates
// of that index, not with the page.
//
// The store does not own the connection; Close only makes further calls fail.
//
// # Conventions
//
// The SDK has one option style. A constructor takes options of one type, Option, a
// func(*config) over an unexported configuration: it applies the defaults, then the options in
// order, then validates the whole configuration once and returns a typed *OptionError naming
// the offending option, its value and the reason (it matches the package's ErrInvalidOption
// with errors.Is). Option constructors never fail and never panic, and each option's
// documentation ends with its default. Time comes from WithClock(now func() time.Time),
// time.Now by default; timers and sleeps use package time, so tests fake time with
// testing/synctest. Logs go to WithLogger(*slog.Logger), silent by default. The zero value of an
// exported type either works as documented or returns an error naming its constructor (it
// matches the package's ErrNotConstructed with errors.Is); it never panics.
//
// New takes Options in that style; the store has no clock of its own (records carry their
// times). The zero Store is not usable: its methods return a *NotConstructedError naming New, and
// Close returns nil.
package natsstore
