// Command anya is the SDK's command line. Every command prints one JSON document on
// stdout; a failure prints {"error": {"code": "...", "message": "..."}} and exits non-zero
// (2 for usage errors, 1 otherwise).
//
// # Commands
//
//	anya message sign --wif WIF --address ADDR --message MSG [--format simple|full|legacy] [--network N]
//	anya message verify --address ADDR --message MSG --signature SIG [--network N]
//	anya tx features HEX
//
// message sign prints {"signature": "..."}: a BIP-322 signature (or a legacy one for P2PKH
// with --format legacy). message verify prints {"result": "valid"|"inconclusive"|"invalid",
// "format": "...", "reason": "..."} and exits 0 whenever it could judge the signature. The
// network defaults to the one the address belongs to (testnet for addresses testnet,
// signet and regtest share). tx features prints the named feature vector of a raw
// transaction given in hex.
//
// # Adding commands
//
// Commands are rows of the table returned by commands(): a path of words, a one-line
// summary and a function that parses its own flags and writes its JSON result. Returning a
// *cliError chooses the error code; other errors are reported as "internal".
package main
