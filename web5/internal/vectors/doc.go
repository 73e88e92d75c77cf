// Package vectors reads web5-spec conformance vector files for the Web5 packages' tests.
//
// A file is {"description", "vectors": [{"description", "input", "output", "errors"}]}.
// [Run] runs one subtest per vector and fails if the file does not hold the number of cases
// the caller expects, so a vector can neither be dropped nor added silently.
package vectors
