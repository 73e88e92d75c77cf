// Package multisig builds Bitcoin multisig wallets from DIDs: it resolves k-of-n DIDs, takes
// each one's Bitcoin key from its document (package didbtc), builds the policy with package
// bitcoin, keeps the wallet as a record in every participant's store, and runs the signing
// round in which each participant signs with its own key.
//
// # Wallets
//
// [New] makes a [Wallet] of one of three kinds ([WithKind]): sorted P2WSH (k-of-n
// OP_CHECKMULTISIG, BIP-67 key order), MuSig2 key path (n-of-n, one BIP-327 aggregate key in
// a taproot output) or tapscript (k-of-n OP_CHECKSIGADD leaf behind the NUMS point or, with
// [WithMuSig2KeyPath], behind the MuSig2 aggregate so that all n can also spend by key path).
// A DID that does not resolve, is deactivated or publishes no Bitcoin key is a
// *[ParticipantError] naming it. [Wallet.Descriptor] is the wallet's output descriptor with its
// BIP-380 checksum.
//
// # Records
//
// [Wallet.Save] writes the wallet's [Record] (kind, threshold, network, address, descriptor,
// participants with their DIDs, verification methods and keys) at bridge.PathWallet in a
// tenant's store; [Load] reads them back and [FromRecord] rebuilds each from its keys: a record
// whose address, descriptor or threshold is not what its keys make is [ErrTampered].
// [Wallet.Verify] re-resolves the participants and checks they still publish their keys.
//
// # Signing rounds
//
// The coordinator starts a [Round] over an unsigned PSBT spending the wallet's coins
// ([Wallet.Coin] gives bitcoin.CreatePSBT what it needs) and sends its bytes to the
// participants. Each participant's [Signer] holds its private key and refuses to sign a PSBT
// with an input that does not spend the wallet's address.
//
//   - Script path (P2WSH, tapscript): each of at least k participants returns a signed copy
//     ([Signer.SignPSBT], [Round.AddSigned]).
//   - MuSig2 key path: every participant sends one public nonce per input ([Signer.Nonces],
//     [Round.AddNonces]), receives all of them ([Round.Nonces]) and returns its partial
//     signatures ([Signer.PartialSigs], [Round.AddPartialSigs]). A session signs once.
//
// [Round.Finish] combines, finalizes and extracts the transaction (running every input
// through the script interpreter); a bad partial signature is a *bitcoin.MuSig2Error, in an
// error naming its participant's DID. A nonce seen twice in a round (another input's, another
// participant's) is refused ([ErrRound], matching bitcoin.ErrNonceReused): it was not drawn
// fresh. [ErrSpent] is for a host that records its rounds' spends (the anya Manager): a round
// over a coin that another recorded transaction spends would conflict with it.
package multisig
