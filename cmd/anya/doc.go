// Command anya is the SDK's command line. Every command prints one JSON document on
// stdout; a failure — whatever it is — prints {"error": {"code": "...", "message": "..."}} with
// a non-empty message and exits non-zero (2 for usage errors, 1 otherwise). anya help prints the
// commands with their usage and the inputs with their size limits.
//
// # Commands
//
//	anya message sign --wif WIF --address ADDR --message MSG [--format simple|full|legacy] [--network N]
//	anya message verify --address ADDR --message MSG --signature SIG [--network N]
//	anya tx features TX
//	anya model train [--out DIR] [--model NAME]
//	anya model card NAME[@VERSION] [--dir DIR]
//	anya score tx TX [--backend ort|go] [--factors N] [--dir DIR]
//	anya score features FEATURES [--model NAME[@VERSION]] [--backend ort|go] [--factors N] [--dir DIR]
//	anya did create --method key|jwk|dht [--key-type Ed25519|secp256k1|P-256] [--gateway URL]
//	anya did resolve DID [--gateway URL]
//	anya vc issue --portable-did PORTABLE_DID --subject DID --type T [--claims CLAIMS] [--v2]
//	anya vc verify JWT [--gateway URL]
//	anya setup [--force]
//
// # Inputs and their limits
//
// TX, FEATURES, JWT, CLAIMS and SIG are given as the value itself, as @FILE (the contents of
// FILE) or as - (standard input; one input per command); PORTABLE_DID is a file name, @FILE or -.
// Every input has a size limit, counted in bytes as given (hex, JSON or token text, surrounding
// whitespace included). An input over its limit is refused before it is parsed, with the code
// "input_too_large" and a message that names the input and its limit; files and standard input
// are read no further than one byte past the limit.
//
//	TX            8 MiB  a raw transaction in hex (a transaction is at most 4,000,000 bytes)
//	FEATURES      1 MiB  a JSON object of named feature values
//	JWT           1 MiB  a VC-JWT or vc+jwt (the largest token the JOSE layer parses)
//	CLAIMS        1 MiB  a JSON object of claims about the subject
//	PORTABLE_DID  1 MiB  a portable DID (JSON, with its private keys)
//	MSG           1 MiB  a message to sign or verify, as given
//	SIG           1 MiB  a BIP-322 or legacy message signature in base64
//	DID           8 KiB  a DID, as given (the longest the did package parses)
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
// Commands are rows of the table returned by commands(): a path of words, the usage after them,
// the inputs it reads, a one-line summary and a function that parses its own flags, reads its
// inputs with env.read (which applies their limits) and writes its JSON result. Returning a
// *cliError chooses the error code (a usage error gets the command's usage line appended);
// other errors are reported as "internal" ("canceled" when interrupted). A new kind of input
// gets a limit constant and a row in input.spec; a test keeps this documentation in step with
// the table.
package main
