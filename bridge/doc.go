// Package bridge holds what the SDK's data bridges share: the records protocol they keep their
// records under in each identity's store, and a records client that writes, reads, queries and
// deletes those records as one author.
//
// The bridges themselves live in sub-packages, one concept each, on the integration floor: they
// import the protocol packages (bitcoin, web5/..., ml/...) and the infrastructure (bus, security,
// ...), never the root package anya, whose Manager wires them:
//
//   - didbtc: an identity's Bitcoin key in its DID document, and back.
//   - multisig: k-of-n wallets from DIDs, stored with every participant, signed in rounds.
//   - link: two-way address links (BIP-322 + JWS), revocation, reverse lookup.
//   - utxo: the UTXOs of linked addresses as records, reorg-safe.
//   - anchor: a commitment to records carried by a transaction, and its proofs.
//   - analysis: chain data forked to Web5 and ML in parallel, correlated.
//   - trigger: CEL conditions over events with side effects through boundaries.
//   - handler: event handlers with results, side effects once per event.
//   - feed: records-fed ML pipelines and two-way sync of records and model outputs.
//   - learn: features served = features trained; train-if-missing; periodic re-scoring.
//
// # The records protocol
//
// [ProtocolURI] is installed in every tenant whose records the bridges keep ([Protocol] is its
// definition; every type is JSON). [Setup] installs it as the tenant's owner and gives a grantee
// (the host) permission grants to write, read, query and delete records of the protocol, so
// the host keeps records in the identity's store without holding the identity's keys.
//
// # The records client
//
// A [Records] client signs every message as its author and sends it to a node ([Processor], a
// *dwn.Node): as the owner in its own tenant, under the grants a [GrantFunc] names in other
// tenants. A write that was already stored (the same message processed again after a crash)
// returns the stored record; a genuine conflict is a *dwn.ConflictError.
package bridge
