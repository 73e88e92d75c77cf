// Command anya is the SDK's command line. Every command prints one JSON document on
// stdout; a failure prints {"error": {"code": "...", "message": "..."}} and exits non-zero
// (2 for usage errors, 1 otherwise).
//
// # Commands
//
//	anya message sign --wif WIF --address ADDR --message MSG [--format simple|full|legacy] [--network N]
//	anya message verify --address ADDR --message MSG --signature SIG [--network N]
//	anya tx features HEX
//	anya model train [--out DIR] [--model NAME]
//	anya model card NAME[@VERSION] [--dir DIR]
//	anya score tx HEX [--backend ort|go] [--factors N] [--dir DIR]
//	anya score features JSON|- [--model NAME[@VERSION]] [--backend ort|go] [--factors N] [--dir DIR]
//	anya did create --method key|jwk|dht [--key-type Ed25519|secp256k1|P-256] [--gateway URL]
//	anya did resolve DID [--gateway URL]
//	anya vc issue --portable-did FILE --subject DID --type T [--claims JSON] [--v2]
//	anya vc verify JWT|- [--gateway URL]
//
// message sign prints {"signature": "..."}: a BIP-322 signature (or a legacy one for P2PKH
// with --format legacy). message verify prints {"result": "valid"|"inconclusive"|"invalid",
// "format": "...", "reason": "..."} and exits 0 whenever it could judge the signature. The
// network defaults to the one the address belongs to (testnet for addresses testnet,
// signet and regtest share). tx features prints the named feature vector of a raw
// transaction given in hex.
//
// model train retrains the SDK's own models (package models/recipe) into DIR (default
// ./models), bit-for-bit identical to the shipped ones, with a progress bar on stderr, and
// prints each model's id, sha256, metrics and the paths of its card and ROC/PR plot. model card
// prints a model's test metrics, the selection between candidate algorithms and the plot's path
// (for the models built into the binary, the card and plot are written to the user cache
// directory). score tx extracts a transaction's features (package bitcoin), scores them with the
// fraud model and prints {"model": "fraud@1", "score": 0..1, "factors": [...]}: the sender's
// identity is unknown, so only the transaction speaks. score features scores a JSON object of
// named features; unnamed ones take their schema default. Both use ONNX Runtime by default
// (run `make setup` first) or the pure-Go evaluator with --backend go.
//
// did create prints the new DID in portable form, {"uri", "document", "privateKeys",
// "metadata"} — it holds the private keys. For dht the identity key is Ed25519 and another
// --key-type adds an assertion key; with --gateway the DID is published. did resolve prints
// the W3C resolution result ({"@context", "didResolutionMetadata", "didDocument",
// "didDocumentMetadata"}) and exits 0 also when the result carries an error code; did:dht
// needs --gateway. vc issue prints {"vcJwt": "..."}; vc verify prints {"verified": true|false,
// "credential": {...}, "error": "..."} and exits 0 whenever it could judge the token (the
// credential is shown decoded even when it does not verify).
//
// # Adding commands
//
// Commands are rows of the table returned by commands(): a path of words, a one-line
// summary and a function that parses its own flags and writes its JSON result. Returning a
// *cliError chooses the error code; other errors are reported as "internal".
package main
