// Package anchor commits to Web5 records in a Bitcoin transaction and proves, later and from
// the chain alone, which records were committed and which were not.
//
// # The commitment
//
// A record is anchored by its CID ([RecordCID]: the CID of its latest message, which names the
// CID of its data), so an update or a delete after anchoring shows as "not committed". [Commit]
// builds a Merkle tree over the CIDs with domain-separated tagged hashes (BIP-340 style; tags
// [TagLeaf], [TagNode], [TagRoot]): leaves are TaggedHash(TagLeaf, cid), deduplicated and
// sorted ascending — so the root does not depend on the order records are given in, and
// absence is provable — and nodes pair left to right, an odd last node moving up unchanged
// (never hashed with itself). The root binds the leaf count: TaggedHash(TagRoot, count ||
// tree root). [Proof] proves a leaf at an index among Count leaves; [AbsenceProof] proves a
// CID absent by the two adjacent leaves its hash would sort between (or the first or last
// leaf).
//
// # On chain
//
// [Anchor] has a [Wallet] build a transaction carrying the root and broadcasts it, in one of
// two ways ([Method]):
//
//   - [OpReturn] (the default): an OP_RETURN output holding "ANYA", version 1 and the root
//     (37 bytes).
//   - [Taproot] ([WithTaproot]): a pay-to-contract output — the root is the taproot merkle
//     root of an output to the given internal key, so the output looks like any key-path P2TR
//     output and the key's owner spends it by the key path, tweaked with the root.
//
// The [Receipt] (the output, the method, the root and the CIDs in leaf order) is what to keep:
// [SaveReceipt] stores it in a tenant's store (bridge.PathAnchor).
//
// # Verifying
//
// [Verify] recomputes the root from the receipt's CIDs, reads the transaction back from the
// chain ([TxSource], a bitcoin.Chain), checks that the output carries the root and returns,
// for each CID asked about, an inclusion or an absence proof, with the block holding the
// anchor. A receipt that does not hold together — CIDs that do not make its root, an output
// that does not carry it, another internal key, an unknown method — is a *[TamperError]
// (matching [ErrTampered]). [VerifyProof] checks one CID's proof against the chain for a
// third party that holds only the proof, the root and the anchor point.
package anchor
