// Command anya is the SDK's command line. Every command prints one JSON document on stdout.
// anya help lists the commands with their usage and the inputs with their size limits;
// anya COMMAND --help (or anya help COMMAND) shows one command's usage, flags with their
// defaults, input limits and examples, and exits 0.
//
// # Commands
//
//	anya message sign --address ADDR --message MSG (--wif-file PATH | --wif-env VAR | --wif -) [--format simple|full|legacy] [--network N]
//	anya message verify --address ADDR --message MSG --signature SIG [--network N]
//	anya tx features TX
//	anya model train [--out DIR] [--model NAME]
//	anya model card NAME[@VERSION] [--dir DIR]
//	anya score tx TX [--backend ort|go] [--factors N] [--dir DIR]
//	anya score block BLOCK [--backend ort|go] [--all] [--dir DIR]
//	anya score features FEATURES [--model NAME[@VERSION]] [--backend ort|go] [--factors N] [--dir DIR]
//	anya did create --method key|jwk|dht [--key-type Ed25519|secp256k1|P-256|P-384|P-521] [--gateway URL] [--out FILE]
//	anya did resolve DID [--gateway URL] [--web-loopback-http]
//	anya vc issue --portable-did PORTABLE_DID --subject DID --type T [--claims CLAIMS] [--status-list URL --status-index N] [--v2]
//	anya vc verify JWT [--gateway URL]
//	anya vp create --portable-did PORTABLE_DID --credential JWT... [--definition DEFINITION] [--nonce N] [--audience DID] [--v2]
//	anya vp verify VP [--nonce N] [--audience DID] [--definition DEFINITION] [--gateway URL]
//	anya pex evaluate --definition DEFINITION (VP | --credential JWT...) [--audience DID] [--gateway URL]
//	anya status-list create --portable-did PORTABLE_DID --url URL [--purpose revocation|suspension] [--size N] [--set I,J,...] [--from LIST] [--v2]
//	anya status-list check JWT [--list LIST...] [--allow-private-networks] [--gateway URL]
//	anya link challenge --data-dir DIR --portable-did PORTABLE_DID [--address ADDR] [--wif-file PATH | --wif-env VAR | --wif -] [--rpc HOST:PORT --rpc-user USER (--rpc-pass-file PATH | --rpc-pass-env VAR | --rpc-pass -) [--rpc-cert FILE] [--network N] [--nats URL [--host-name NAME]]] [--gateway URL]
//	anya link prove --challenge CHALLENGE --address ADDR (--wif-file PATH | --wif-env VAR | --wif -) [--did DID] [--network N]
//	anya link verify --data-dir DIR --did DID --address ADDR [--credential JWT] [--trust DID...] [--rpc HOST:PORT --rpc-user USER (--rpc-pass-file PATH | --rpc-pass-env VAR | --rpc-pass -) [--rpc-cert FILE] [--network N] [--nats URL [--host-name NAME]]] [--gateway URL]
//	anya pay --data-dir DIR --portable-did PORTABLE_DID (--wif-file PATH | --wif-env VAR | --wif -) --to ADDR --amount SAT --id PAYMENT_ID [--credential JWT] [--fund SAT] [--mine N] [--rpc HOST:PORT --rpc-user USER (--rpc-pass-file PATH | --rpc-pass-env VAR | --rpc-pass -) [--rpc-cert FILE] [--network N] [--nats URL [--host-name NAME]]] [--gateway URL]
//	anya payment show PAYMENT_ID --data-dir DIR [--rpc HOST:PORT --rpc-user USER (--rpc-pass-file PATH | --rpc-pass-env VAR | --rpc-pass -) [--rpc-cert FILE] [--network N] [--nats URL [--host-name NAME]]] [--gateway URL]
//	anya payment list --data-dir DIR --did DID
//	anya workflow run WORKFLOW --data-dir DIR --id RUN_ID [--input INPUT] [--portable-did PORTABLE_DID (--wif-file PATH | --wif-env VAR | --wif -)] [--fund SAT] [--rpc HOST:PORT --rpc-user USER (--rpc-pass-file PATH | --rpc-pass-env VAR | --rpc-pass -) [--rpc-cert FILE] [--network N] [--nats URL [--host-name NAME]]] [--gateway URL]
//	anya dwn write --data-dir DIR --portable-did PORTABLE_DID --data DATA [--tenant DID] [--data-format TYPE] [--protocol URI --path P] [--schema URI] [--recipient DID] [--published] [--update RECORD_ID] [--grant ID] [--gateway URL]
//	anya dwn query --data-dir DIR --portable-did PORTABLE_DID [--tenant DID] [--protocol URI] [--path P] [--schema URI] [--recipient DID] [--author DID] [--record RECORD_ID] [--data-format TYPE] [--limit N] [--grant ID] [--gateway URL]
//	anya dwn read RECORD_ID --data-dir DIR --portable-did PORTABLE_DID [--tenant DID] [--grant ID] [--gateway URL]
//	anya psbt create --coin TXID:VOUT:SAT:ADDR[:SCRIPT]... --to ADDR:SAT... --change ADDR [--fee-rate SAT_VB] [--locktime N] [--network N]
//	anya psbt sign PSBT (--wif-file PATH | --wif-env VAR | --wif -)
//	anya psbt combine PSBT PSBT...
//	anya psbt finalize PSBT
//	anya psbt decode PSBT [--network N]
//	anya multisig create --threshold K --pubkey HEX... [--kind p2wsh|taproot|musig2] [--network N]
//	anya address decode ADDR [--network N]
//	anya address encode (--script SCRIPT | --pubkey HEX --type p2pkh|p2wpkh|p2sh-p2wpkh|p2tr | --witness-script SCRIPT | --redeem-script SCRIPT) [--network N]
//	anya audit verify --data-dir DIR [--head SEQ:HASH] [--signed-head HEAD --signer DID] [--gateway URL]
//	anya audit tail --data-dir DIR [-n N]
//	anya console --data-dir DIR [--listen HOST:PORT] [--password-file PATH | --password-env VAR | --password -] [--writes] [--rpc HOST:PORT --rpc-user USER (--rpc-pass-file PATH | --rpc-pass-env VAR | --rpc-pass -) [--rpc-cert FILE] [--network N] [--nats URL [--host-name NAME]]] [--gateway URL]
//	anya node [--datadir DIR] [--mining-address ADDR] [--blocks N] [--rpc-listen HOST:PORT] [--rpc-pass-file PATH | --rpc-pass-env VAR | --rpc-pass -]
//	anya nats [--store-dir DIR] [--listen HOST:PORT]
//
// # Errors
//
// Every failure prints one error document, {"error": {"code": "...", "message": "...",
// "detail": ...}}, with a non-empty message, and exits non-zero: 2 for a usage error (an unknown
// command or flag, a missing or malformed argument; the message ends with the command's usage
// line), 1 otherwise. The code is stable and says what went wrong: usage, input_too_large,
// not_found, io, invalid_hex, invalid_transaction, invalid_block, invalid_psbt, invalid_address,
// wrong_network, invalid_key, invalid_did, method_not_supported, unreachable,
// resolution_failed, invalid_portable_did, invalid_definition, invalid_workflow,
// payment_blocked, payment_unverified, payment_failed, canceled, internal, and the others the
// commands document. The optional detail carries what the failure is about: the W3C resolution
// result of a DID that did not resolve, the payment that was not sent, the failed workflow run.
//
// A verdict is not an error: message verify, vc verify, vp verify, pex evaluate, status-list
// check, link verify and audit verify exit 0 whenever they could judge — a signature that does
// not verify, a revoked credential, a tampered audit log are results, with the reason in the
// document. What keeps them from judging (a did:dht issuer without --gateway, a gateway that
// cannot be reached, a cancelled command) is an error. pay is an action: a payment that was
// not sent (blocked, unverified, failed) is an error whose code names the outcome and whose
// detail is the payment with its reason: "reason" is the SDK's stable code (no_link,
// address_mismatch, link_expired, link_revoked, untrusted_issuer, link_invalid,
// did_unresolvable, risk_above_threshold, insufficient_funds, no_key, tx_rejected, step_failed,
// awaiting_keys, in_progress) and "refusal" its message and details (the risk and threshold,
// the amounts needed and spendable, the step). A payment ID names one attempt: paying it again
// prints the stored outcome, so after fixing the cause pay under a new --id.
//
// # Secrets
//
// Private keys, portable DIDs (which hold private keys) and passwords never need to be on the
// command line, where other users of the machine can read them (ps, /proc) and shells keep
// them in their history. Each has three ways in: --NAME-file PATH (or --NAME @PATH),
// --NAME-env VAR and --NAME - (standard input). --portable-did FILE names a file, as it always did. --wif VALUE still
// works, for scripts written against earlier versions, but prints a warning on standard error;
// so does --rpc-pass VALUE. Errors never repeat a secret. did create --out FILE writes the new
// DID's private keys to a file only its owner can read and prints the public part only.
//
//	anya setup [--force]
//
// # Inputs and their limits
//
// TX, FEATURES, JWT, CLAIMS, SIG, PSBT, VP, DEFINITION, INPUT, LIST, DATA, HEAD and CHALLENGE
// are given as the value itself, as @FILE (the contents of FILE) or as - (standard input; one
// input per command); PORTABLE_DID and WORKFLOW are a file name, @FILE or -; WIF and PASSWORD
// are secrets (see above). Every input has a size limit, counted in bytes as given (hex, JSON
// or token text, surrounding whitespace included). An input over its limit is refused before
// it is parsed, with the code "input_too_large" and a message that names the input and its
// limit; files and standard input are read no further than one byte past the limit.
//
//	TX            8 MiB  a raw transaction in hex (a transaction is at most 4,000,000 bytes)
//	FEATURES      1 MiB  a JSON object of named feature values
//	JWT           1 MiB  a VC-JWT or vc+jwt (the largest token the JOSE layer parses)
//	CLAIMS        1 MiB  a JSON object of claims about the subject
//	PORTABLE_DID  1 MiB  a portable DID (JSON, with its private keys)
//	MSG           1 MiB  a message to sign or verify, as given
//	SIG           1 MiB  a BIP-322 or legacy message signature in base64
//	DID           8 KiB  a DID, as given (the longest the did package parses)
//	PSBT          16 MiB  a PSBT in base64, hex or (from a file) binary; inputs may carry whole transactions
//	VP            1 MiB  a VP-JWT, or for pex evaluate a presentation's JSON
//	DEFINITION    1 MiB  a presentation definition (the largest the pex package parses)
//	WORKFLOW      1 MiB  a workflow definition in JSON or YAML (the largest the workflow package parses)
//	INPUT         1 MiB  the JSON object a workflow run starts with
//	LIST          1 MiB  a status list credential (a JWT)
//	DATA          1 MiB  a record's data (the records store's default limit)
//	HEAD          4 KiB  a signed audit checkpoint (the largest the security package parses)
//	CHALLENGE     16 KiB  an address-link challenge
//	WIF           1 KiB  a private key in WIF
//	PASSWORD      1 KiB  a node's RPC password
//	SCRIPT        20 KiB  a script in hex, as given (a script is at most 10,000 bytes)
//	BLOCK         8 MiB  a serialized block, binary or hex: FILE, @FILE, - or the hex itself (a block is at most 4,000,000 bytes)
//
// # Bitcoin
//
// message sign prints {"signature": "..."}: a BIP-322 signature (or a legacy one for P2PKH
// with --format legacy). message verify prints {"result": "valid"|"inconclusive"|"invalid",
// "format": "...", "reason": "..."}. The network defaults to the one the address belongs to
// (testnet for addresses testnet, signet and regtest share). tx features prints the named
// feature vector of a raw transaction given in hex.
//
// address decode prints an address's network (and every network written the same way), type,
// witness version, program and output script in hex and asm; address encode builds one from an
// output script, a public key (p2pkh, p2wpkh, p2sh-p2wpkh, p2tr) or a witness or redeem script.
// multisig create prints a k-of-n multisig's address and scripts: sorted P2WSH, a taproot
// OP_CHECKSIGADD leaf (optionally with a MuSig2 key path), or an n-of-n MuSig2 key path.
// psbt create selects coins for the outputs (branch and bound, then largest first), adds change
// and orders everything per BIP-69; psbt sign adds the signatures a key can make (not_signed
// when there are none); psbt combine merges PSBTs of one transaction; psbt finalize finalizes
// and extracts the transaction, run through the script interpreter; psbt decode shows the
// inputs (value, address, signatures), outputs, fee and state. PSBTs print as base64.
//
// # ML
//
// model train retrains the SDK's own models (package models/recipe) into DIR (default
// ./models), bit-for-bit identical to the shipped ones, and prints each model's id, sha256,
// metrics and the paths of its card and ROC/PR plot. model card prints a model's test metrics,
// the selection between candidate algorithms and the plot's path (for the models built into
// the binary, the card and plot are written to the user cache directory). score tx extracts a
// transaction's features (package bitcoin), scores them with the fraud model and prints
// {"model": "fraud@1", "score": 0..1, "threshold": 0.7, "blocked": bool, "factors": [...]}: the
// threshold is the one the Manager's verified payment blocks at (--risk-threshold, as the
// payment commands take it; anya.DefaultRiskThreshold by default), and blocked says whether it
// would block a payment at this score. score features scores a JSON
// object of named features; unnamed ones take their schema default; for another model than
// fraud, threshold is the model's own decision threshold. Both use ONNX Runtime by default (run
// make setup first) or the pure-Go evaluator with --backend go. --factors is 0 or more.
//
// score block scores every transaction of a serialized block but the coinbase, each on its own,
// with the fraud model, building its vector as the fraud monitor (bridge/monitor) does: the
// outputs a transaction spends are known when the same block created them, features outside
// the model's range are clamped to it, the sender is unknown. It prints {"block", "height",
// "transactions", "scored", "alerts", "threshold", "clamped", "model", "backend",
// "latency_us": {"p50", "p99", "max"}, "elapsed_ms"}, where alerts counts the transactions at
// or above the threshold (the monitor's, monitor.DefaultThreshold = anya.DefaultRiskThreshold)
// and the latency is one transaction's features, vector and model; --all adds "scores", every
// transaction's {"txid", "risk", "alert"} in block order. BLOCK is a file name, @FILE or -
// (binary or hex), or the block in hex; a block that does not parse is invalid_block.
//
// # Web5
//
// did create prints the new DID in portable form, {"uri", "document", "privateKeys",
// "metadata"} — it holds the private keys (see --out). --key-type is any signing key type of
// did:key and did:jwk: Ed25519 (the default), secp256k1, P-256, P-384 or P-521; a did:key with
// an Ed25519 key also lists the X25519 key agreement key derived from it. For dht the identity
// key is Ed25519 and another --key-type (secp256k1 or P-256, the did:dht registry's signing key
// types) adds an assertion key; with --gateway the DID is published. did resolve
// prints the W3C resolution result; a DID that does not resolve is an error whose code names
// the W3C error (invalid_did, not_found, method_not_supported, ...; unreachable when the
// gateway or web server cannot be reached), whose message says why (for did:web the URL tried
// and the HTTP status; for did:dht without a gateway, how to give one) and whose detail is the
// W3C result. --gateway defaults to $ANYA_DHT_GATEWAY.
//
// vc issue prints {"vcJwt": "..."}, optionally with a status list entry; vc verify prints
// {"verified", "credential", "error"}. vp create presents credentials as a holder (a signed
// VP-JWT with the verifier's nonce and audience), answering a presentation definition with a
// presentation_submission when given one; vp verify verifies the holder's signature, nonce,
// audience and every credential, and evaluates the presentation against a definition. pex
// evaluate checks a presentation (a VP-JWT, verified first, or a presentation's JSON) against
// a definition, or selects the credentials that satisfy it. status-list create issues a status
// list credential (StatusList2021, or BitstringStatusList with --v2) with the given entries set;
// status-list check verifies a credential and its status against the lists given (fetched from
// their URLs otherwise): active, revoked, suspended or unknown.
//
// # Data directories
//
// link, pay, payment, workflow, dwn, audit and console work on the data directory of a Manager
// (--data-dir, default $ANYA_DATA_DIR): its SQLite databases (anya.WorkflowFile,
// anya.StateFile, anya.AuditFile, anya.DWNFile), the host's DID (HostDIDFile, created on first
// use, readable by its owner only; --host-did gives another) and the chain it follows
// (ChainFile). One command at a time may use a data directory. link, pay, payment show,
// workflow run and console open a Manager on it, on the embedded chain — a regtest chain that lives as
// long as the command — or on a btcd node (--rpc, --rpc-user, --rpc-pass-file, --network); a
// data directory stays with the kind of chain it started on (a node's directory opened without
// --rpc is refused, with the node's endpoint in the message). On the embedded chain, pay and workflow run
// first fund the sender from the chain's faucet (--fund, default 1 BTC), and pay --mine N mines
// and waits for the confirmation; on a node, fund and mine with the node (anya node).
//
// link challenge links an address to a DID: the Manager issues a challenge naming both, the
// address's key signs it (BIP-322) and the host stores an address-link credential in the DID's
// records store. With --wif the command signs itself. Without, it writes the challenge to
// standard error (text on a terminal, a JSON line otherwise) and reads the signature from the
// first line of standard input — a Manager's challenges can be answered only to the Manager
// that issued them, so the command waits for the answer. link prove is the wallet's side: it
// checks that a challenge names the address (and DID) and signs it. link verify checks a link
// with a credential or the ones stored: {"verified", "score", "reason", "refusal",
// "credential"}, the reason being one of the stable codes of pay's.
//
// pay makes a verified payment (verify the sender's link, score the risk, send below the
// threshold, record it in the sender's store) and prints it with its steps; the payment ID is
// its idempotency key. payment show prints a payment as stored — the same document pay printed,
// and then where its transaction is ("confirmation": status, height, block) and its events in
// order ("events": sent, confirmed, reorged, ...); payment list lists the payment
// records in a sender's store (sent payments, with their confirmation). workflow run registers
// a workflow definition (JSON or YAML) with the Manager's engine and runs it, acting for the
// identity given. dwn write, query and read send signed messages, as the author's portable DID,
// to the records store of the data directory. audit verify checks the audit log's hash chain,
// up to a checkpoint when given one (--head SEQ:HASH, or --signed-head with the DID that must
// have signed it: the head is accepted only under a key of that DID's document listed for
// assertion); audit tail prints the newest entries.
//
// console serves the web console (package console) of a Manager on the data directory until
// interrupted (SIGINT, exiting 0): payments and workflow runs with their steps, alerts, the
// audit log and whether it verifies, circuit breakers, models with their cards, health and the
// bus's live events. It listens on loopback only (--listen, default a free port on 127.0.0.1;
// another address is a usage error: to serve it elsewhere, mount package console in a host
// behind TLS), behind HTTP Basic authentication as "operator" with the password given (at
// least 8 characters) or a random one, and prints {"url", "user", "password", "data_dir",
// "writes"} — the password only when it made it up. It is read-only unless --writes lets the
// operator reset circuit breakers.
//
// node runs a regtest btcd ($ANYA_BTCD, .tools/bin/btcd in the working directory or a parent,
// or btcd on PATH) with --txindex and --addrindex, RPC on loopback without TLS (its
// credentials in a configuration file only its owner can read, not on btcd's command line),
// mines --blocks to the mining address, prints {"rpc", "user", "pass", "network", "datadir",
// "mining_address", "height", "pid", "btcd"} once the node answers, and stops the node when
// interrupted (SIGINT), exiting 0. If btcd stops on its own, an error document follows.
//
// # Hosts sharing NATS JetStream
//
// nats runs an embedded NATS server with JetStream (the server is part of this binary) on
// loopback — 127.0.0.1:4222 unless --listen says otherwise; it has no authentication, so it
// refuses other addresses — keeping its streams in --store-dir (default a temporary directory,
// removed when it stops), prints {"url", "store_dir", "jetstream"} once it accepts connections
// (an error with the code nats_failed if it does not), and stops when interrupted (SIGINT),
// exiting 0. Given --nats URL, link, pay, payment show and
// workflow run open their Manager with anya.WithJetStream on that server instead of the data
// directory's SQLite files: every data directory given the same --nats is one host of a set
// that shares payments, workflow runs, coin reservations, records and one audit chain — a
// payment made through one shows on another. Such hosts must follow one chain, so --nats needs
// --rpc (a node, anya node), and they act as one host, so give them one --host-did (the link
// credentials one issues, the others then trust). Each host is named (--host-name, default one derived from the data
// directory); a data directory stays with where its state is (ChainFile records it): opened
// without --nats, or used by audit, dwn and payment list, which read its SQLite files, it is
// refused. Three terminals:
//
//	anya node --mining-address bcrt1q... --blocks 432      # prints rpc, user, pass
//	anya nats                                               # prints url
//	anya pay --data-dir host-a --host-did host.json ... --rpc 127.0.0.1:PORT --rpc-user anya --rpc-pass-env PASS --nats nats://127.0.0.1:4222
//	anya payment show order-42 --data-dir host-b --host-did host.json --rpc ... --nats nats://127.0.0.1:4222
//
// Long work — training models, mining blocks — shows progress bars on standard error when it
// is a terminal, never in the JSON.
//
// # Adding commands
//
// Commands are rows of the table returned by commands(), one line each: a path of words, the
// usage after them, the inputs it reads, a one-line summary and a function that parses its
// own flags with parse or noArgs (which answer --help), reads its inputs with env.read or a
// secret's read (which apply their limits) and writes its JSON result. Each command has
// examples in examples(). Returning a *cliError chooses the error code (a usage error gets
// the command's usage line appended); other errors are reported as "internal" ("canceled"
// when interrupted). A new kind of input gets a limit constant and a row in input.spec; tests
// keep this documentation in step with the table, run every command's --help and every
// example's flags, and give every command a bad input.
package main
