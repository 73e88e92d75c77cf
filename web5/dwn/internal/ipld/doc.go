// Package ipld computes the content identifiers the records store uses, byte for byte as
// Decentralized Web Nodes do: CIDv1 with a sha2-256 multihash, written in base32 multibase.
//
// # Codecs
//
// [DagCBOR] encodes a JSON value in deterministic dag-cbor (map keys sorted length first,
// integers in their shortest form, other numbers as 64-bit floats), and [CBORCID] names it:
// this is how descriptors, messages and record IDs are addressed. [DataCID] names record data
// as the UnixFS importer does with CIDv1 defaults: data up to one 256 KiB chunk is a raw
// block (codec 0x55); larger data is split into raw 256 KiB leaves joined by dag-pb nodes
// in a balanced tree of at most 174 children per node.
package ipld
