// Package jsonoracle is an independent reading of JSON for differential tests: it finds
// member names that repeat in an object, exactly or under Unicode case folding, with
// encoding/json's tokenizer rather than the SDK's own reader, so that fuzz targets can
// check the SDK's reader against something it does not share code with.
//
// # Use
//
// [FoldDuplicate] reports the first such pair of names; [Member] reads one top-level
// member the way encoding/json does for a struct field (case-insensitively, last wins),
// which is what a second, careless reader of a signed object would see.
package jsonoracle
