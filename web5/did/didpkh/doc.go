// Package didpkh implements the did:pkh method for Bitcoin: a DID naming a CAIP-10
// blockchain account in the bip122 namespace, so a Bitcoin address can be used where a DID
// is expected.
//
//	did:pkh:bip122:000000000019d6689c085ae165831e93:128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p6
//
// The chain reference is the first 32 hex characters of the chain's genesis block hash.
// Mainnet, testnet3, testnet4, signet, regtest and btcd's simnet are known; the address must be a valid
// address (base58 P2PKH/P2SH or bech32/bech32m segwit) of that network.
//
// # Documents
//
// Resolution is a pure function of the DID: one verification method, "#blockchainAccountId",
// of type EcdsaSecp256k1RecoveryMethod2020 carrying the CAIP-10 account, listed under
// authentication and assertionMethod. It holds no public key: proving control of the
// address takes a Bitcoin message signature (BIP-137/BIP-322), which the bitcoin package
// verifies.
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// The package has no options: New takes none, and the zero Resolver is ready to use.
package didpkh
