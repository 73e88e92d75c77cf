package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/pex"
	"github.com/anya-org/anya-go/workflow"
)

// Size limits of the CLI's inputs, in bytes as given (hex, JSON or token text, surrounding
// whitespace included). An input over its limit is refused, before it is parsed, with an error
// (code "input_too_large") that names the input and its limit; standard input and files are read
// through a reader that stops one byte past the limit, so an oversized input costs no more
// memory than the limit.
const (
	// maxTx: a raw transaction in hex. A transaction can be at most 4,000,000 bytes (the block
	// weight limit), 8,000,000 hex digits.
	maxTx = 8 << 20
	// maxFeatures: a JSON object of named features.
	maxFeatures = 1 << 20
	// maxCredential: a VC-JWT or vc+jwt, the largest token the JOSE layer parses.
	maxCredential = jose.MaxTokenSize
	// maxClaims: the JSON object of claims of vc issue.
	maxClaims = 1 << 20
	// maxPortableDID: a portable DID (JSON, with its private keys).
	maxPortableDID = 1 << 20
	// maxMessage: a message to sign or verify.
	maxMessage = 1 << 20
	// maxSignature: a BIP-322 or legacy message signature (base64).
	maxSignature = 1 << 20
	// maxDID: a DID, the longest the did package parses.
	maxDID = did.MaxLength
	// maxPSBT: a PSBT in base64 or hex. Its inputs may carry whole previous transactions, so
	// it is twice a transaction's limit.
	maxPSBT = 16 << 20
	// maxPresentation: a VP-JWT (or a presentation's JSON), the largest token the JOSE layer
	// parses.
	maxPresentation = jose.MaxTokenSize
	// maxDefinition: a presentation definition, the largest the pex package parses.
	maxDefinition = pex.MaxDefinitionSize
	// maxWorkflow: a workflow definition, the largest the workflow package parses.
	maxWorkflow = workflow.DefaultMaxDefinitionBytes
	// maxWorkflowInput: the JSON object a workflow run starts with.
	maxWorkflowInput = 1 << 20
	// maxStatusList: a status list credential (a JWT), the largest token the JOSE layer parses.
	maxStatusList = jose.MaxTokenSize
	// maxData: a record's data, the records store's default limit.
	maxData = dwn.DefaultMaxDataSize
	// maxSignedHead: a signed audit checkpoint, the largest the security package parses.
	maxSignedHead = security.MaxSignedHeadBytes
	// maxChallenge: an address-link challenge (five short lines naming a DID and an address).
	maxChallenge = 16 << 10
	// maxWIF: a private key in WIF (52 characters; the limit leaves room for whitespace).
	maxWIF = 1 << 10
	// maxPassword: a password.
	maxPassword = 1 << 10
	// maxScript: a script in hex: at most 10,000 bytes (the consensus limit), 20,000 digits.
	maxScript = 20 << 10
)

// input is one kind of input the CLI reads.
type input int

const (
	inTx input = iota
	inFeatures
	inCredential
	inClaims
	inPortableDID
	inMessage
	inSignature
	inDID
	inPSBT
	inPresentation
	inDefinition
	inWorkflow
	inWorkflowInput
	inStatusList
	inData
	inSignedHead
	inChallenge
	inWIF
	inPassword
	inScript
	numInputs
)

// inputSpec describes an input in the usage text.
type inputSpec struct {
	Name     string `json:"name"`           // as the usage lines write it
	MaxBytes int    `json:"max_bytes"`      // the limit
	Form     string `json:"form"`           // what it is and where it may come from
	Flag     string `json:"flag,omitempty"` // for a secret: its flags, --NAME, --NAME-file and --NAME-env
	files    bool   // "@FILE" and "-" (standard input) are accepted besides the value itself
}

const fromAnywhere = ": the value, @FILE (read from FILE) or - (read from standard input)"

func (in input) spec() inputSpec {
	switch in {
	case inTx:
		return inputSpec{"TX", maxTx, "a raw transaction in hex" + fromAnywhere, "", true}
	case inFeatures:
		return inputSpec{"FEATURES", maxFeatures, "a JSON object of named feature values" + fromAnywhere, "", true}
	case inCredential:
		return inputSpec{"JWT", maxCredential, "a VC-JWT or vc+jwt credential" + fromAnywhere, "", true}
	case inClaims:
		return inputSpec{"CLAIMS", maxClaims, "a JSON object of claims about the subject" + fromAnywhere, "", true}
	case inPortableDID:
		return inputSpec{"PORTABLE_DID", maxPortableDID, "a portable DID (JSON, with its private keys): a secret, read from FILE, @FILE, - (standard input), --portable-did-file PATH or --portable-did-env VAR", "--portable-did", true}
	case inMessage:
		return inputSpec{"MSG", maxMessage, "the message, as given", "", false}
	case inSignature:
		return inputSpec{"SIG", maxSignature, "a message signature in base64" + fromAnywhere, "", true}
	case inDID:
		return inputSpec{"DID", maxDID, "a decentralized identifier, as given", "", false}
	case inPSBT:
		return inputSpec{"PSBT", maxPSBT, "a PSBT in base64 or hex" + fromAnywhere, "", true}
	case inPresentation:
		return inputSpec{"VP", maxPresentation, "a VP-JWT (pex evaluate: or a presentation's JSON)" + fromAnywhere, "", true}
	case inDefinition:
		return inputSpec{"DEFINITION", maxDefinition, "a presentation definition (JSON)" + fromAnywhere, "", true}
	case inWorkflow:
		return inputSpec{"WORKFLOW", maxWorkflow, "a workflow definition in JSON or YAML: FILE, @FILE or - (read from standard input)", "", true}
	case inWorkflowInput:
		return inputSpec{"INPUT", maxWorkflowInput, "a JSON object, the input of a workflow run" + fromAnywhere, "", true}
	case inStatusList:
		return inputSpec{"LIST", maxStatusList, "a status list credential (JWT)" + fromAnywhere, "", true}
	case inData:
		return inputSpec{"DATA", maxData, "a record's data, as bytes" + fromAnywhere, "", true}
	case inSignedHead:
		return inputSpec{"HEAD", maxSignedHead, "a signed audit checkpoint (compact JWS)" + fromAnywhere, "", true}
	case inChallenge:
		return inputSpec{"CHALLENGE", maxChallenge, "an address-link challenge" + fromAnywhere, "", true}
	case inWIF:
		return inputSpec{"WIF", maxWIF, "a private key in WIF: a secret, read with --wif-file PATH, --wif-env VAR or --wif - (standard input)", "--wif", true}
	case inPassword:
		return inputSpec{"PASSWORD", maxPassword, "the node's RPC password: a secret, read with --rpc-pass-file PATH, --rpc-pass-env VAR or --rpc-pass - (standard input)", "--rpc-pass", true}
	case inScript:
		return inputSpec{"SCRIPT", maxScript, "a script in hex, as given", "", false}
	}
	panic(fmt.Sprintf("anya: unknown input %d", int(in)))
}

// env is what a command reads from and writes to.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stdinUsed      string // the input that read standard input, if any
}

// tooLarge is the error for an input over its limit.
func tooLarge(s inputSpec, from string) error {
	return &cliError{Code: "input_too_large", Err: fmt.Errorf("%s%s is larger than its limit of %d bytes (%s)", s.Name, from, s.MaxBytes, humanBytes(s.MaxBytes))}
}

func humanBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// read returns input in given as arg: the value itself; for inputs that accept them, the
// contents of FILE for "@FILE" and standard input for "-". It refuses more than the input's
// limit with an "input_too_large" error, reading at most one byte past it.
func (e *env) read(in input, arg string) ([]byte, error) {
	s := in.spec()
	if !s.files || (arg != "-" && !strings.HasPrefix(arg, "@")) {
		if len(arg) > s.MaxBytes {
			return nil, tooLarge(s, "")
		}
		return []byte(arg), nil
	}
	var r io.Reader
	from := " from standard input"
	if arg == "-" {
		if e.stdinUsed != "" {
			return nil, usageError("%s and %s cannot both come from standard input", e.stdinUsed, s.Name)
		}
		e.stdinUsed = s.Name
		r = e.stdin
		if r == nil {
			r = strings.NewReader("")
		}
	} else {
		path := arg[1:]
		from = " in " + path
		f, err := os.Open(path)
		if err != nil {
			code := "io"
			if errors.Is(err, fs.ErrNotExist) {
				code = "not_found"
			}
			return nil, &cliError{Code: code, Err: fmt.Errorf("%s: %w", s.Name, err)}
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(s.MaxBytes)+1))
	if err != nil {
		return nil, &cliError{Code: "io", Err: fmt.Errorf("%s: read%s: %w", s.Name, from, err)}
	}
	if len(b) > s.MaxBytes {
		return nil, tooLarge(s, from)
	}
	return b, nil
}

// readFile reads the input from a file named plainly (as --portable-did takes it), "@FILE", or
// "-" for standard input.
func (e *env) readFile(in input, arg string) ([]byte, error) {
	if arg != "-" && !strings.HasPrefix(arg, "@") {
		arg = "@" + arg
	}
	return e.read(in, arg)
}
