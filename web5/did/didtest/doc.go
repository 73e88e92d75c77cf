// Package didtest holds the conformance suite for did.MethodResolver implementations.
// Every method resolver, in-memory ones included, runs it with a one-line test:
//
//	func TestConformance(t *testing.T) { didtest.Run(t, didtest.Harness{...}) }
package didtest
