package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout)
	stop()
	os.Exit(code)
}

// command is one row of the command table.
type command struct {
	path    []string
	args    string  // the usage after the command's words: "TX" or "--address ADDR [--network N]"
	inputs  []input // the inputs it reads, with their size limits, for the usage text
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// usage is the command's usage line.
func (c *command) usage() string {
	u := "anya " + strings.Join(c.path, " ")
	if c.args != "" {
		u += " " + c.args
	}
	return u
}

func (c *command) name() string { return strings.Join(c.path, " ") }

// Usage fragments shared by several rows.
const (
	scoreArgs = "[--backend ort|go] [--factors N] [--dir DIR]"
	wifArgs   = "(--wif-file PATH | --wif-env VAR | --wif -)"
	wifOpt    = "[--wif-file PATH | --wif-env VAR | --wif -]"
	chainArgs = "[--rpc HOST:PORT --rpc-user USER (--rpc-pass-file PATH | --rpc-pass-env VAR | --rpc-pass -) [--rpc-cert FILE] [--network N] [--nats URL [--host-name NAME]]] [--gateway URL]"
)

// commands is the command table: each row gives a command's words, its usage and the inputs it
// reads, a summary and its function; one row per command. Other areas add their rows here (and
// their examples in examples()).
func commands() []command {
	return []command{
		{[]string{"message", "sign"}, "--address ADDR --message MSG " + wifArgs + " [--format simple|full|legacy] [--network N]", []input{inMessage, inWIF}, "sign a message for an address (BIP-322, or legacy for P2PKH)", runMessageSign},
		{[]string{"message", "verify"}, "--address ADDR --message MSG --signature SIG [--network N]", []input{inMessage, inSignature}, "verify a BIP-322 or legacy message signature", runMessageVerify},
		{[]string{"tx", "features"}, "TX", []input{inTx}, "print the ML feature vector of a raw transaction", runTxFeatures},
		{[]string{"model", "train"}, "[--out DIR] [--model NAME]", nil, "train the SDK's models into a registry directory (progress on a terminal's stderr)", runModelTrain},
		{[]string{"model", "card"}, "NAME[@VERSION] [--dir DIR]", nil, "print a model's card: metrics, selection and the path of its ROC/PR plot", runModelCard},
		{[]string{"score", "tx"}, "TX " + scoreArgs, []input{inTx}, "score a raw transaction's fraud risk against the Manager's risk threshold", runScoreTx},
		{[]string{"score", "block"}, "BLOCK [--backend ort|go] [--all] [--dir DIR]", []input{inBlock}, "score every transaction of a serialized block: counts, alerts at the risk threshold, per-transaction latency", runScoreBlock},
		{[]string{"score", "features"}, "FEATURES [--model NAME[@VERSION]] " + scoreArgs, []input{inFeatures}, "score named features with a shipped model", runScoreFeatures},
		{[]string{"did", "create"}, "--method key|jwk|dht [--key-type Ed25519|secp256k1|P-256|P-384|P-521] [--gateway URL] [--out FILE]", nil, "create a DID (key, jwk or dht) and print it, or write it to a file, as a portable DID", runDIDCreate},
		{[]string{"did", "resolve"}, "DID [--gateway URL] [--web-loopback-http]", []input{inDID}, "resolve a DID and print the W3C resolution result", runDIDResolve},
		{[]string{"vc", "issue"}, "--portable-did PORTABLE_DID --subject DID --type T [--claims CLAIMS] [--status-list URL --status-index N] [--v2]", []input{inPortableDID, inDID, inClaims}, "issue a verifiable credential as a VC-JWT (or vc+jwt with --v2)", runVCIssue},
		{[]string{"vc", "verify"}, "JWT [--gateway URL]", []input{inCredential}, "verify a VC-JWT or vc+jwt and print the credential", runVCVerify},
		{[]string{"vp", "create"}, "--portable-did PORTABLE_DID --credential JWT... [--definition DEFINITION] [--nonce N] [--audience DID] [--v2]", []input{inPortableDID, inCredential, inDefinition}, "present credentials as a holder: a signed VP-JWT, answering a presentation definition", runVPCreate},
		{[]string{"vp", "verify"}, "VP [--nonce N] [--audience DID] [--definition DEFINITION] [--gateway URL]", []input{inPresentation, inDefinition}, "verify a VP-JWT and the credentials in it (and evaluate it against a definition)", runVPVerify},
		{[]string{"pex", "evaluate"}, "--definition DEFINITION (VP | --credential JWT...) [--audience DID] [--gateway URL]", []input{inDefinition, inPresentation, inCredential}, "evaluate a presentation, or select credentials, against a presentation definition", runPEXEvaluate},
		{[]string{"status-list", "create"}, "--portable-did PORTABLE_DID --url URL [--purpose revocation|suspension] [--size N] [--set I,J,...] [--from LIST] [--v2]", []input{inPortableDID, inStatusList}, "issue a status list credential with the given entries set", runStatusListCreate},
		{[]string{"status-list", "check"}, "JWT [--list LIST...] [--allow-private-networks] [--gateway URL]", []input{inCredential, inStatusList}, "check a credential's revocation or suspension status against status lists", runStatusListCheck},
		{[]string{"link", "challenge"}, "--data-dir DIR --portable-did PORTABLE_DID [--address ADDR] " + wifOpt + " " + chainArgs, []input{inPortableDID, inWIF, inPassword}, "link an address to a DID: issue the challenge, take its BIP-322 signature, store the link credential", runLinkChallenge},
		{[]string{"link", "prove"}, "--challenge CHALLENGE --address ADDR " + wifArgs + " [--did DID] [--network N]", []input{inChallenge, inWIF}, "answer an address-link challenge: sign it with the address's key (BIP-322)", runLinkProve},
		{[]string{"link", "verify"}, "--data-dir DIR --did DID --address ADDR [--credential JWT] [--trust DID...] " + chainArgs, []input{inDID, inCredential, inPassword}, "verify that a DID controls an address through an address-link credential", runLinkVerify},
		{[]string{"pay"}, "--data-dir DIR --portable-did PORTABLE_DID " + wifArgs + " --to ADDR --amount SAT --id PAYMENT_ID [--credential JWT] [--fund SAT] [--mine N] " + chainArgs, []input{inPortableDID, inWIF, inCredential, inPassword}, "make a verified payment: verify the sender, score the risk, send, record", runPay},
		{[]string{"payment", "show"}, "PAYMENT_ID --data-dir DIR " + chainArgs, []input{inPassword}, "print a verified payment as stored, step by step", runPaymentShow},
		{[]string{"payment", "list"}, "--data-dir DIR --did DID", []input{inDID}, "list the payments recorded in a sender's records store", runPaymentList},
		{[]string{"workflow", "run"}, "WORKFLOW --data-dir DIR --id RUN_ID [--input INPUT] [--portable-did PORTABLE_DID " + wifArgs + "] [--fund SAT] " + chainArgs, []input{inWorkflow, inWorkflowInput, inPortableDID, inWIF, inPassword}, "run a workflow definition (JSON or YAML) on a Manager's operations", runWorkflowRun},
		{[]string{"dwn", "write"}, "--data-dir DIR --portable-did PORTABLE_DID --data DATA [--tenant DID] [--data-format TYPE] [--protocol URI --path P] [--schema URI] [--recipient DID] [--published] [--update RECORD_ID] [--grant ID] [--gateway URL]", []input{inPortableDID, inData}, "write a record into a tenant's records store", runDWNWrite},
		{[]string{"dwn", "query"}, "--data-dir DIR --portable-did PORTABLE_DID [--tenant DID] [--protocol URI] [--path P] [--schema URI] [--recipient DID] [--author DID] [--record RECORD_ID] [--data-format TYPE] [--limit N] [--grant ID] [--gateway URL]", []input{inPortableDID}, "query a tenant's records", runDWNQuery},
		{[]string{"dwn", "read"}, "RECORD_ID --data-dir DIR --portable-did PORTABLE_DID [--tenant DID] [--grant ID] [--gateway URL]", []input{inPortableDID}, "read a record with its data", runDWNRead},
		{[]string{"psbt", "create"}, "--coin TXID:VOUT:SAT:ADDR[:SCRIPT]... --to ADDR:SAT... --change ADDR [--fee-rate SAT_VB] [--locktime N] [--network N]", nil, "build an unsigned PSBT from coins and outputs (coin selection, change, BIP-69 order)", runPSBTCreate},
		{[]string{"psbt", "sign"}, "PSBT " + wifArgs, []input{inPSBT, inWIF}, "sign the inputs of a PSBT that a key can sign", runPSBTSign},
		{[]string{"psbt", "combine"}, "PSBT PSBT...", []input{inPSBT}, "merge the signatures and data of PSBTs of one transaction", runPSBTCombine},
		{[]string{"psbt", "finalize"}, "PSBT", []input{inPSBT}, "finalize a fully signed PSBT and extract the transaction", runPSBTFinalize},
		{[]string{"psbt", "decode"}, "PSBT [--network N]", []input{inPSBT}, "show a PSBT's inputs, outputs, fee and signing state", runPSBTDecode},
		{[]string{"multisig", "create"}, "--threshold K --pubkey HEX... [--kind p2wsh|taproot|musig2] [--network N]", nil, "build a k-of-n multisig: its address and scripts", runMultisigCreate},
		{[]string{"address", "decode"}, "ADDR [--network N]", nil, "decode an address: network, type, program and script (hex and asm)", runAddressDecode},
		{[]string{"address", "encode"}, "(--script SCRIPT | --pubkey HEX --type p2pkh|p2wpkh|p2sh-p2wpkh|p2tr | --witness-script SCRIPT | --redeem-script SCRIPT) [--network N]", []input{inScript}, "encode an address from an output script, a public key or a script", runAddressEncode},
		{[]string{"audit", "verify"}, "--data-dir DIR [--head SEQ:HASH] [--signed-head HEAD --signer DID] [--gateway URL]", []input{inSignedHead}, "verify the audit log's hash chain, up to a checkpoint when given", runAuditVerify},
		{[]string{"audit", "tail"}, "--data-dir DIR [-n N]", nil, "print the newest entries of the audit log", runAuditTail},
		{[]string{"console"}, "--data-dir DIR [--listen HOST:PORT] [--password-file PATH | --password-env VAR | --password -] [--writes] " + chainArgs, []input{inPassword}, "serve the web console of a data directory's Manager on loopback until interrupted: print its URL and credentials", runConsole},
		{[]string{"node"}, "[--datadir DIR] [--mining-address ADDR] [--blocks N] [--rpc-listen HOST:PORT] [--rpc-pass-file PATH | --rpc-pass-env VAR | --rpc-pass -]", []input{inPassword}, "run a regtest btcd: print its RPC endpoint and credentials, stop on interrupt", runNode},
		{[]string{"nats"}, "[--store-dir DIR] [--listen HOST:PORT]", nil, "run an embedded NATS server with JetStream on loopback, for hosts sharing their state (--nats): print its URL, stop on interrupt", runNATS},
		{[]string{"setup"}, "[--force]", nil, "install the ONNX Runtime library into the user cache, checking its sha256", func(ctx context.Context, e *env, args []string) error { return runSetup(ctx, args, e.stdout) }},
	}
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// cliError is an error with the code printed in the error document, and optionally details
// (a payment, a DID resolution result) printed with it.
type cliError struct {
	Code   string
	Err    error
	Detail any
}

func (e *cliError) Error() string { return e.Err.Error() }
func (e *cliError) Unwrap() error { return e.Err }

func usageError(format string, args ...any) error {
	return &cliError{Code: "usage", Err: fmt.Errorf(format, args...)}
}

// run executes the command named by args and returns the process exit code, with standard
// error as the process's.
func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) int {
	return runIO(ctx, args, stdin, stdout, os.Stderr)
}

// runIO executes the command named by args and returns the process exit code. It is the CLI's
// one error path: whatever goes wrong — a usage error, a failed command, a panic — is printed
// as {"error": {"code", "message"}} with a non-empty message, and the exit code is not 0.
// Standard error carries only what is meant for a person: warnings, prompts, progress bars.
func runIO(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if p := recover(); p != nil {
			writeError(stdout, fmt.Errorf("anya: internal error: %v", p))
			code = exitError
		}
	}()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) >= 1 && isHelp(args[0]) {
		if len(args) == 1 {
			return result(stdout, writeJSON(stdout, help()))
		}
		return helpFor(ctx, e, args[1:])
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		if g := group(args); g != "" && len(args) > 1 && isHelp(args[1]) {
			return result(stdout, writeJSON(stdout, groupHelp(g)))
		}
		what := fmt.Sprintf("unknown command %q", strings.Join(args, " "))
		if len(args) == 0 {
			what = "no command given"
		}
		writeError(stdout, usageError("%s; commands: %s (anya help shows their usage and input limits; anya COMMAND --help one command's)", what, commandList()))
		return exitUsage
	}
	err := cmd.run(ctx, e, rest)
	var hr *helpRequest
	if errors.As(err, &hr) {
		return result(stdout, writeJSON(stdout, cmd.help(hr)))
	}
	return fail(stdout, cmd, err)
}

// fail prints err, if any, and returns the exit code.
func fail(stdout io.Writer, cmd *command, err error) int {
	if err == nil {
		return exitOK
	}
	var ce *cliError
	if errors.As(err, &ce) && ce.Code == "usage" {
		writeError(stdout, &cliError{Code: "usage", Err: fmt.Errorf("%w; usage: %s (anya %s --help for more)", err, cmd.usage(), cmd.name())})
		return exitUsage
	}
	writeError(stdout, err)
	return exitError
}

// result returns the exit code of a command whose output was written with err.
func result(stdout io.Writer, err error) int {
	if err != nil {
		writeError(stdout, &cliError{Code: "io", Err: err})
		return exitError
	}
	return exitOK
}

func isHelp(s string) bool { return s == "help" || s == "-h" || s == "-help" || s == "--help" }

// helpFor answers "anya help COMMAND..." (and "anya help GROUP").
func helpFor(ctx context.Context, e *env, args []string) int {
	cmd, rest := lookup(args)
	if cmd != nil && len(rest) == 0 {
		var hr *helpRequest
		if err := cmd.run(ctx, e, []string{"--help"}); !errors.As(err, &hr) {
			writeError(e.stdout, fmt.Errorf("anya: %s does not answer --help: %v", cmd.name(), err))
			return exitError
		}
		return result(e.stdout, writeJSON(e.stdout, cmd.help(hr)))
	}
	if g := group(args); g != "" && len(args) == 1 {
		return result(e.stdout, writeJSON(e.stdout, groupHelp(g)))
	}
	writeError(e.stdout, usageError("help: unknown command %q; commands: %s", strings.Join(args, " "), commandList()))
	return exitUsage
}

// lookup finds the command whose path is the longest prefix of args.
func lookup(args []string) (*command, []string) {
	var best *command
	for _, c := range commands() {
		if len(args) < len(c.path) || (best != nil && len(best.path) >= len(c.path)) {
			continue
		}
		match := true
		for i, w := range c.path {
			if args[i] != w {
				match = false
				break
			}
		}
		if match {
			c := c
			best = &c
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, args[len(best.path):]
}

// group returns args[0] when it is the first word of commands ("psbt"), else "".
func group(args []string) string {
	if len(args) == 0 {
		return ""
	}
	for _, c := range commands() {
		if len(c.path) > 1 && c.path[0] == args[0] {
			return args[0]
		}
	}
	return ""
}

func commandList() string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name())
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// errorBody is the error document's "error" member.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// writeError prints err as the error document. The message is never empty, and the code names
// the kind of failure: a *cliError's code, "canceled" for an interrupted command, else "internal".
func writeError(w io.Writer, err error) {
	b := errorBody{Code: "internal"}
	var ce *cliError
	switch {
	case errors.As(err, &ce) && ce.Code != "":
		b.Code, b.Detail = ce.Code, ce.Detail
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		b.Code = "canceled"
	}
	b.Message = err.Error()
	if strings.TrimSpace(b.Message) == "" {
		b.Message = "anya: " + b.Code + " error"
	}
	_ = writeJSON(w, struct {
		Error errorBody `json:"error"`
	}{b})
}
