// Package didbtc puts an identity's Bitcoin key in its DID document and reads it back: anyone
// who resolves the DID can then derive the identity's addresses, build multisig policies with
// it, and check that an address belongs to it.
//
// # Publishing a key
//
// A Bitcoin key is a secp256k1 public key. [AddKey] adds it to a did:dht document as a
// verification method ([Fragment], a JsonWebKey with crv secp256k1 and alg ES256K) and lists
// the did:pkh of its address ([WithAddressType], P2WPKH by default) in alsoKnownAs; [Publish]
// then publishes the new document through a [Publisher] (a *diddht.Client).
//
// did:jwk and did:key documents are derived from the DID itself and cannot take another
// method: for them the identity's DID key is its Bitcoin key. [NewDID] creates such a DID from
// a secp256k1 private key (importing it into a key manager), and [AddKey] on a did:jwk or
// did:key accepts only the key the DID already is (it returns the DID unchanged) and refuses
// any other with [ErrImmutableDocument].
//
// # Reading keys
//
// [Keys] returns every secp256k1 verification method of a resolved document as a [Key], the
// methods whose did:pkh is listed in alsoKnownAs first ([Primary] is the first). A did:pkh in
// alsoKnownAs counts only when its address derives from one of the document's keys on the
// network asked for (P2PKH, P2SH-P2WPKH, P2WPKH or BIP-86 P2TR): anyone can write any did:pkh
// there, so an address no key of the document derives proves nothing and is ignored. A
// document without a secp256k1 method yields a *[NoKeyError] (matching [ErrNoBitcoinKey]).
package didbtc
