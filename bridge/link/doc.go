// Package link links DIDs and Bitcoin addresses both ways: a link proves control of the
// address and of the DID, can be looked up from either side, and can be revoked.
//
// # Proving a link
//
// [Linker.Challenge] returns a message naming the DID, the address, the time and a nonce only
// the linker can compute (an HMAC under [WithChallengeKey]). Both sides sign the same bytes: the
// address with BIP-322 (bitcoin.SignMessage) and the DID with a compact JWS by a key listed
// under its authentication relationship. [Linker.Link] checks the challenge (issued here, for
// these parties, within [WithChallengeTTL]) and both signatures, then issues the link
// credential — a VC 2.0 of type [CredentialType] from the linker's issuer, whose subject is the
// DID and whose claims are the address, its did:pkh, the DID's verification method and both
// proofs — with an entry in the issuer's revocation list, stores it in the DID's store
// (bridge.PathLink) and indexes it.
//
// # Verifying and revoking
//
// [Linker.Verify] checks a credential end to end: signature and validity period, a trusted
// issuer ([WithTrustedIssuers]), type, subject, address and account, both proofs again, and
// the revocation list — read at every verification, so a revocation counts at once.
// [Linker.Revoke] sets the link's entry in the list (a W3C Bitstring Status List credential,
// re-signed, kept in the issuer's store at bridge.PathStatusList) and drops it from the index.
// Every failure is a *[CheckError] naming the check, matching [ErrChallenge], [ErrProof],
// [ErrCredential] or [ErrRevoked].
//
// # Reverse lookup
//
// The [Index] answers address → DIDs ([Index.DIDs]), DID → addresses ([Index.Addresses]) and
// an address's link metadata — linked DID, verification method, linked at — ([Index.Lookup]);
// its Owners method is what the utxo and trigger bridges take. [Linker.Load] rebuilds it from
// the stores at start, leaving out links that no longer verify.
//
// # Several hosts
//
// Hosts that issue as one DID over one shared records store each run a linker with
// [WithSharedStore] and the same [WithChallengeKey]. The revocation list is then read from the
// store again before every change and every status check, and merged (revocations are never
// undone): a revocation made through one host counts on every other at once, and a host hands
// out the entries after those the others handed out. Each index holds the links its own linker
// made or loaded; [Linker.Refresh] reads one DID's links again (the hosts call it when told of a
// link made or revoked elsewhere), and [Linker.Revoke] looks in the DID's store for a link its
// index lacks. Every write of the list is a compare-and-set on the version the linker read
// (bridge.Records.UpdateIfLatest): a linker that loses to another reads the list again,
// merges and writes again, so no entry is handed out twice and no revocation is lost, and the
// list's record is created as one record by whichever linker comes first. Hosts may also take
// the entries of new links from a counter they share ([WithEntries]), which spares them the
// retries.
package link
