// Package telemetry is the instrumentation plumbing every package of the SDK shares: how a
// package turns the TracerProvider and MeterProvider a host hands it into a tracer and a meter
// (or into nothing at all), how spans end without leaking data, how attribute sets are built
// once, how trace context travels in string headers, and how personal data is kept out.
//
// It imports no package of the SDK, so every floor may use it.
//
// # Off by default, and off means absent
//
// A package keeps a pointer to its instrumentation (say *busTelemetry) that is nil unless the
// host configured a provider; its hot paths test that pointer and do nothing else. Tracer and
// Meter return nil for a nil provider and for OpenTelemetry's no-op providers, so a host that
// passes noop.NewTracerProvider() pays nothing either.
//
// # Names
//
// Instruments are named anya.<package>.<thing>[.<qualifier>] (lowercase, dot-separated
// namespaces, words joined by '_'), with UCUM units: "s" for durations, "{message}", "{call}",
// "{entry}", "{row}", "{request}", "{run}" for counts. Counters carry no "_total" suffix: the
// unit says what is counted. Spans are named
// <package>.<operation> ("bus.publish", "workflow.step"); their attributes use OpenTelemetry's
// semantic-convention keys where one exists (messaging.destination.name, error.type) and
// anya.<package>.<key> otherwise. The instrumentation scope of each package is its import path
// (ScopeName). docs/observability.md lists every span, attribute and instrument.
//
// # No personal data
//
// DIDs, Bitcoin addresses, amounts, cache keys, run IDs, payloads, headers and error messages
// never become attributes, span names, events or status descriptions. End records an error
// by its type (ErrorType), never its text. A principal may be named by Pseudonym under the
// host's redaction key — the keyed hash the security package's boundaries use — or not at all.
// Package telemetrytest holds the test kit that fails a test when a given string appears
// anywhere in what was recorded.
package telemetry
