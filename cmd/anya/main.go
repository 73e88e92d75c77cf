package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
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

// commands is the command table: each row gives a command's words, its usage and the inputs it
// reads, a summary and its function. Other areas add their rows here.
func commands() []command {
	score := "[--backend ort|go] [--factors N] [--dir DIR]"
	return []command{
		{[]string{"message", "sign"}, "--wif WIF --address ADDR --message MSG [--format simple|full|legacy] [--network N]", []input{inMessage},
			"sign a message for an address (BIP-322, or legacy for P2PKH)", runMessageSign},
		{[]string{"message", "verify"}, "--address ADDR --message MSG --signature SIG [--network N]", []input{inMessage, inSignature},
			"verify a BIP-322 or legacy message signature", runMessageVerify},
		{[]string{"tx", "features"}, "TX", []input{inTx},
			"print the ML feature vector of a raw transaction", runTxFeatures},
		{[]string{"model", "train"}, "[--out DIR] [--model NAME]", nil,
			"train the SDK's models into a registry directory (progress on stderr)", runModelTrain},
		{[]string{"model", "card"}, "NAME[@VERSION] [--dir DIR]", nil,
			"print a model's card: metrics, selection and the path of its ROC/PR plot", runModelCard},
		{[]string{"score", "tx"}, "TX " + score, []input{inTx},
			"score a raw transaction's fraud risk with the shipped fraud model", runScoreTx},
		{[]string{"score", "features"}, "FEATURES [--model NAME[@VERSION]] " + score, []input{inFeatures},
			"score named features with a shipped model", runScoreFeatures},
		{[]string{"did", "create"}, "--method key|jwk|dht [--key-type Ed25519|secp256k1|P-256] [--gateway URL]", nil,
			"create a DID (key, jwk or dht) and print it as a portable DID", runDIDCreate},
		{[]string{"did", "resolve"}, "DID [--gateway URL]", []input{inDID},
			"resolve a DID and print the W3C resolution result", runDIDResolve},
		{[]string{"vc", "issue"}, "--portable-did PORTABLE_DID --subject DID --type T [--claims CLAIMS] [--v2]", []input{inPortableDID, inDID, inClaims},
			"issue a verifiable credential as a VC-JWT (or vc+jwt with --v2)", runVCIssue},
		{[]string{"vc", "verify"}, "JWT [--gateway URL]", []input{inCredential},
			"verify a VC-JWT or vc+jwt and print the credential", runVCVerify},
		{[]string{"setup"}, "[--force]", nil, "install the ONNX Runtime library into the user cache, checking its sha256",
			func(ctx context.Context, e *env, args []string) error { return runSetup(ctx, args, e.stdout) }},
	}
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// cliError is an error with the code printed in the error document.
type cliError struct {
	Code string
	Err  error
}

func (e *cliError) Error() string { return e.Err.Error() }
func (e *cliError) Unwrap() error { return e.Err }

func usageError(format string, args ...any) error {
	return &cliError{Code: "usage", Err: fmt.Errorf(format, args...)}
}

// run executes the command named by args and returns the process exit code. It is the CLI's one
// error path: whatever goes wrong — a usage error, a failed command, a panic — is printed as
// {"error": {"code", "message"}} with a non-empty message, and the exit code is not 0.
func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) (code int) {
	defer func() {
		if p := recover(); p != nil {
			writeError(stdout, fmt.Errorf("anya: internal error: %v", p))
			code = exitError
		}
	}()
	if len(args) == 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		if err := writeJSON(stdout, help()); err != nil {
			return exitError
		}
		return exitOK
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		writeError(stdout, usageError("unknown command %q; commands: %s (anya help shows their usage and input limits)", strings.Join(args, " "), commandList()))
		return exitUsage
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: os.Stderr}
	if err := cmd.run(ctx, e, rest); err != nil {
		var ce *cliError
		if errors.As(err, &ce) && ce.Code == "usage" {
			writeError(stdout, &cliError{Code: "usage", Err: fmt.Errorf("%w; usage: %s", err, cmd.usage())})
			return exitUsage
		}
		writeError(stdout, err)
		return exitError
	}
	return exitOK
}

// helpDoc is what anya help prints.
type helpDoc struct {
	Usage    string        `json:"usage"`
	Commands []commandHelp `json:"commands"`
	Inputs   []inputSpec   `json:"inputs"`
}

type commandHelp struct {
	Command string `json:"command"`
	Usage   string `json:"usage"`
	Summary string `json:"summary"`
}

func help() helpDoc {
	h := helpDoc{Usage: "anya COMMAND [ARGS]: every command prints one JSON document; inputs larger than their limit (max_bytes) are refused"}
	for _, c := range commands() {
		h.Commands = append(h.Commands, commandHelp{strings.Join(c.path, " "), c.usage(), c.summary})
	}
	for in := range numInputs {
		h.Inputs = append(h.Inputs, in.spec())
	}
	return h
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

func commandList() string {
	var names []string
	for _, c := range commands() {
		names = append(names, strings.Join(c.path, " "))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// newFlags returns a flag set that reports errors instead of printing or exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args and requires the named flags to be non-empty.
func parseFlags(fs *flag.FlagSet, args []string, required ...string) error {
	if err := fs.Parse(args); err != nil {
		return usageError("%s: %v", fs.Name(), err)
	}
	for _, name := range required {
		if !flagSet(fs, name) {
			return usageError("%s: --%s is required", fs.Name(), name)
		}
	}
	return nil
}

// flagSet reports whether the flag was given on the command line (an empty message is a
// valid message).
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeError prints err as the error document. The message is never empty, and the code names
// the kind of failure: a *cliError's code, "canceled" for an interrupted command, else "internal".
func writeError(w io.Writer, err error) {
	code := "internal"
	var ce *cliError
	switch {
	case errors.As(err, &ce) && ce.Code != "":
		code = ce.Code
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		code = "canceled"
	}
	msg := err.Error()
	if strings.TrimSpace(msg) == "" {
		msg = "anya: " + code + " error"
	}
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = writeJSON(w, struct {
		Error body `json:"error"`
	}{body{code, msg}})
}
