// Package zerotest calls every exported method of a zero value, for the tests that hold the
// SDK's rule that a zero value works or returns an error naming its constructor, and never
// panics.
//
// # Calling every method
//
// [Call] takes a pointer to a zero value and calls each of its exported methods with zero
// arguments (context.Background() for a context), runs the unsubscribe functions and
// iterators the methods return, reports a panic as a test failure and hands back what each
// method returned, so that the test can check every error names the constructor.
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
package zerotest
