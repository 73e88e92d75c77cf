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
	code := run(ctx, os.Args[1:], os.Stdout)
	stop()
	os.Exit(code)
}

// command is one row of the command table.
type command struct {
	path    []string
	summary string
	run     func(ctx context.Context, args []string, stdout io.Writer) error
}

// commands is the command table. Other areas add their rows here.
func commands() []command {
	return []command{
		{[]string{"message", "sign"}, "sign a message for an address (BIP-322, or legacy for P2PKH)", runMessageSign},
		{[]string{"message", "verify"}, "verify a BIP-322 or legacy message signature", runMessageVerify},
		{[]string{"tx", "features"}, "print the ML feature vector of a raw transaction", runTxFeatures},
		{[]string{"model", "train"}, "train the SDK's models into a registry directory (progress on stderr)", runModelTrain},
		{[]string{"model", "card"}, "print a model's card: metrics, selection and the path of its ROC/PR plot", runModelCard},
		{[]string{"score", "tx"}, "score a raw transaction's fraud risk with the shipped fraud model", runScoreTx},
		{[]string{"score", "features"}, "score named features with a shipped model", runScoreFeatures},
		{[]string{"did", "create"}, "create a DID (key, jwk or dht) and print it as a portable DID", runDIDCreate},
		{[]string{"did", "resolve"}, "resolve a DID and print the W3C resolution result", runDIDResolve},
		{[]string{"vc", "issue"}, "issue a verifiable credential as a VC-JWT (or vc+jwt with --v2)", runVCIssue},
		{[]string{"vc", "verify"}, "verify a VC-JWT or vc+jwt and print the credential", runVCVerify},
		{[]string{"setup"}, "install the ONNX Runtime library into the user cache, checking its sha256", runSetup},
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

// run executes the command named by args and returns the process exit code.
func run(ctx context.Context, args []string, stdout io.Writer) int {
	cmd, rest := lookup(args)
	if cmd == nil {
		writeError(stdout, usageError("unknown command %q; commands: %s", strings.Join(args, " "), commandList()))
		return exitUsage
	}
	if err := cmd.run(ctx, rest, stdout); err != nil {
		writeError(stdout, err)
		var ce *cliError
		if errors.As(err, &ce) && ce.Code == "usage" {
			return exitUsage
		}
		return exitError
	}
	return exitOK
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

func writeError(w io.Writer, err error) {
	code := "internal"
	var ce *cliError
	if errors.As(err, &ce) {
		code = ce.Code
	}
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = writeJSON(w, struct {
		Error body `json:"error"`
	}{body{code, err.Error()}})
}
