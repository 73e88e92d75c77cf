// Package natsonline is the feature store's online tier on a NATS JetStream KV bucket: hosts
// attached to one JetStream server or cluster serve the latest feature vector any of them wrote,
// while each keeps its own offline history (featurestore.Store.AsOf).
//
//	online, _ := natsonline.New(ctx, js)
//	features, _ := featurestore.Open(ctx, path, featurestore.WithOnline(online))
//
// # Consistency
//
// The latest record per key (entity, schema, version) is one KV entry, "f.<escaped key>" (bytes
// outside [-/_A-Za-z0-9] escaped as "=XX"). Put reads it and writes by compare-and-set on its
// revision, unless the stored record is newer (featurestore.Record.Newer: later time, then
// greater sequence), trying again when another host wrote in between: concurrent writers never
// move the tier backwards. Records written by different hosts at the same instant are ordered by
// their sequence numbers, which each host's offline tier assigns on its own.
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
// New takes Options in that style; the tier has no clock of its own (records carry their times).
// The zero Online is not usable: its methods return a *NotConstructedError naming New.
package natsonline
