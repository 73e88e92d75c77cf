// Package didtest holds the conformance suite for did.MethodResolver implementations.
// Every method resolver, in-memory ones included, runs it with a one-line test:
//
//	func TestConformance(t *testing.T) { didtest.Run(t, didtest.Harness{...}) }
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// The suite has no options; its Harness is a plain struct.
package didtest
