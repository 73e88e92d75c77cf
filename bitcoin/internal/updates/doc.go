// Package updates keeps the ChainUpdate handlers of a bitcoin.Chain backend: registration,
// removal, and a snapshot in registration order for delivery.
//
// # Handlers
//
// A [Handlers] set is shared by the simchain and rpcchain backends: Add registers a handler
// and returns its removal, Snapshot lists the handlers for one delivery, and Close drops
// them all. Its zero value is ready to use.
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
package updates
