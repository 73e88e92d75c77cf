package bitcoin

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
)

// Sentinel errors. Typed errors below wrap one of these, so callers test with errors.Is.
var (
	// ErrInvalidNetwork reports a Network value or name that is not one of the four networks.
	ErrInvalidNetwork = errors.New("bitcoin: invalid network")
	// ErrInvalidAddress reports an address string or script that does not decode.
	ErrInvalidAddress = errors.New("bitcoin: invalid address")
	// ErrWrongNetwork reports an address or extended key encoded for another network.
	ErrWrongNetwork = errors.New("bitcoin: wrong network")
	// ErrInvalidKey reports a malformed public, private or extended key.
	ErrInvalidKey = errors.New("bitcoin: invalid key")
	// ErrNoPrivateKey reports a private-key operation on a public-only key.
	ErrNoPrivateKey = errors.New("bitcoin: key has no private part")
	// ErrInvalidPath reports a malformed BIP-32 derivation path.
	ErrInvalidPath = errors.New("bitcoin: invalid derivation path")
	// ErrInvalidMultisig reports an unusable multisig policy (threshold, key count, duplicates).
	ErrInvalidMultisig = errors.New("bitcoin: invalid multisig")
	// ErrInvalidPSBT reports a PSBT that does not decode or breaks a BIP-174 rule.
	ErrInvalidPSBT = errors.New("bitcoin: invalid psbt")
	// ErrPSBTMismatch reports combining PSBTs of different unsigned transactions.
	ErrPSBTMismatch = errors.New("bitcoin: psbts describe different transactions")
	// ErrPSBTIncomplete reports finalizing or extracting a PSBT that lacks signatures or data.
	ErrPSBTIncomplete = errors.New("bitcoin: psbt incomplete")
	// ErrSignerCheck reports a PSBT input that fails the BIP-174 signer checks; nothing is signed.
	ErrSignerCheck = errors.New("bitcoin: psbt fails signer checks")
	// ErrInsufficientFunds reports that the candidate coins cannot pay the outputs and fee.
	ErrInsufficientFunds = errors.New("bitcoin: insufficient funds")
	// ErrDustOutput reports an output below the dust threshold.
	ErrDustOutput = errors.New("bitcoin: dust output")
	// ErrFeeTooHigh reports a fee above the configured maximum.
	ErrFeeTooHigh = errors.New("bitcoin: fee too high")
	// ErrUnsupportedScript reports a script the operation does not know how to handle.
	ErrUnsupportedScript = errors.New("bitcoin: unsupported script")
	// ErrMalformedSignature reports a signature that cannot be decoded.
	ErrMalformedSignature = errors.New("bitcoin: malformed signature")
	// ErrAddressNoKey reports a legacy message check against an address that names no key.
	ErrAddressNoKey = errors.New("bitcoin: address does not refer to a key")
	// ErrPubKeyNotRecovered reports a legacy signature from which no public key can be recovered.
	ErrPubKeyNotRecovered = errors.New("bitcoin: public key not recovered")
	// ErrNotSigned reports a legacy signature made by another key or over another message.
	ErrNotSigned = errors.New("bitcoin: message not signed by address")
	// ErrInvalidTransaction reports bytes that are not a transaction, or a transaction that
	// breaks a consensus rule the operation checks.
	ErrInvalidTransaction = errors.New("bitcoin: invalid transaction")
	// ErrAmountOutOfRange is matched by every *AmountError: an amount outside
	// 0..btcutil.MaxSatoshi, a sum of amounts above it, or a fee below zero.
	ErrAmountOutOfRange = errors.New("bitcoin: amount out of range")
	// ErrMuSig2 reports a failed MuSig2 (BIP-327) step; see *MuSig2Error for the culprit.
	ErrMuSig2 = errors.New("bitcoin: musig2")
	// ErrNonceReused reports a second signature attempt with a MuSig2 session's secret nonce.
	ErrNonceReused = errors.New("bitcoin: musig2 nonce already used")

	// Chain access: backends wrap these with %w so callers can test with errors.Is whatever
	// the backend.

	// ErrClosed is returned by every method of a closed Chain, Notifier, subscription or Sender.
	ErrClosed = errors.New("bitcoin: closed")
	// ErrNotFound reports an unknown block, transaction or (unspent) output.
	ErrNotFound = errors.New("bitcoin: not found")
	// ErrDisconnected reports that a remote backend is not connected right now; it reconnects
	// on its own and the call can be retried.
	ErrDisconnected = errors.New("bitcoin: backend disconnected")
	// ErrUnsupported reports a query the backend cannot answer (for example UTXOs of a script
	// that has no address form on a node without a script index).
	ErrUnsupported = errors.New("bitcoin: unsupported by backend")
	// ErrNoFeeEstimate reports that the backend has no data for a fee estimate.
	ErrNoFeeEstimate = errors.New("bitcoin: no fee estimate")
	// ErrRejected is matched by every [*RejectError].
	ErrRejected = errors.New("bitcoin: transaction rejected")
	// ErrKeyConflict is returned by [Sender] when an idempotency key already names a
	// different transaction.
	ErrKeyConflict = errors.New("bitcoin: idempotency key already used for another transaction")
	// ErrInvalidArgument is matched by every [*FieldError] and every [*OptionError].
	ErrInvalidArgument = errors.New("bitcoin: invalid argument")
	// ErrInvalidOption is matched by every [*OptionError]: an option of the package (or of
	// its chain backends) with a value out of range, or given to a function it does not
	// configure.
	ErrInvalidOption = errors.New("bitcoin: invalid option")
	// ErrNotConstructed is matched by every [*NotConstructedError]: a method called on the
	// zero value of a type that needs its constructor.
	ErrNotConstructed = errors.New("bitcoin: not constructed")
)

// OptionError reports an invalid [Option], found when the function it was given to
// validated its configuration: a value out of range, or an option that configures another
// function (a Sender option given to NewNotifier). Nothing is constructed, signed or sent
// when it is returned. The chain backends (simchain, rpcchain) and the test kit return it
// for their own options too, with the option's name qualified by its package
// ("simchain.WithBlockInterval"). It matches [ErrInvalidOption] and [ErrInvalidArgument].
type OptionError struct {
	Option string // the option, e.g. "WithSafetyLimit"
	Value  any    // the rejected value
	Reason string // what a valid value looks like, or what the option configures
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("bitcoin: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns [ErrInvalidOption] and [ErrInvalidArgument].
func (e *OptionError) Unwrap() []error { return []error{ErrInvalidOption, ErrInvalidArgument} }

// NotConstructedError is returned by the methods of a zero value whose type needs its
// constructor (a zero [Notifier] has no chain to follow): the error names the constructor.
// The chain backends and the test kit return it for their types too. It matches
// [ErrNotConstructed].
type NotConstructedError struct {
	Type        string // the zero value's type, qualified: "bitcoin.Notifier"
	Constructor string // what creates a usable one, qualified: "bitcoin.NewNotifier"
}

func (e *NotConstructedError) Error() string {
	return "bitcoin: a zero " + e.Type + " is not usable: create it with " + e.Constructor
}

// Unwrap returns [ErrNotConstructed].
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// notConstructed is the error of a zero value of typ, made by constructor (both in package
// bitcoin).
func notConstructed(typ, constructor string) error {
	return &NotConstructedError{Type: "bitcoin." + typ, Constructor: "bitcoin." + constructor}
}

// AddressError describes an address that failed to parse or belongs to another network.
type AddressError struct {
	Address string  // the input, truncated to 100 bytes
	Network Network // the network asked for, zero when none was
	Reason  string
	Err     error // ErrInvalidAddress or ErrWrongNetwork
}

func newAddressError(s string, net Network, err error, reason string) *AddressError {
	if len(s) > 100 {
		s = s[:100]
	}
	return &AddressError{Address: s, Network: net, Reason: reason, Err: err}
}

func (e *AddressError) Error() string {
	msg := fmt.Sprintf("%v %q", e.Err, e.Address)
	if e.Network != 0 {
		msg += " for " + e.Network.String()
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

func (e *AddressError) Unwrap() error { return e.Err }

// PSBTError locates a PSBT problem: Input or Output is the index concerned, -1 when the
// problem is not specific to one.
type PSBTError struct {
	Input  int
	Output int
	Reason string
	Err    error // ErrInvalidPSBT, ErrSignerCheck, ErrPSBTIncomplete, ErrPSBTMismatch, ...
}

func psbtErr(err error, input int, format string, args ...any) *PSBTError {
	return &PSBTError{Input: input, Output: -1, Reason: fmt.Sprintf(format, args...), Err: err}
}

func (e *PSBTError) Error() string {
	msg := ErrInvalidPSBT.Error()
	if e.Err != nil {
		msg = e.Err.Error()
	}
	switch {
	case e.Input >= 0:
		msg += fmt.Sprintf(": input %d", e.Input)
	case e.Output >= 0:
		msg += fmt.Sprintf(": output %d", e.Output)
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

func (e *PSBTError) Unwrap() error { return e.Err }

// InsufficientFundsError reports how much coin selection needed and how much was available
// after paying for each coin's own input.
type InsufficientFundsError struct {
	Needed    btcutil.Amount // outputs plus fee
	Available btcutil.Amount // sum of the candidates' effective values
}

func (e *InsufficientFundsError) Error() string {
	return fmt.Sprintf("%v: need %d sat, have %d sat spendable at this fee rate",
		ErrInsufficientFunds, int64(e.Needed), int64(e.Available))
}

func (e *InsufficientFundsError) Unwrap() error { return ErrInsufficientFunds }

// SignatureError describes a message signature that could not be decoded.
type SignatureError struct {
	Format MessageFormat // the format being decoded, FormatUnknown when undetermined
	Reason string
	Err    error // the decoder's typed error (a *PSBTError, an *AmountError, …), nil when none
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("%v: %s", ErrMalformedSignature, e.Reason)
}

// Unwrap returns ErrMalformedSignature and, when set, Err.
func (e *SignatureError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrMalformedSignature}
	}
	return []error{ErrMalformedSignature, e.Err}
}

// AmountError reports an amount outside the consensus range 0..btcutil.MaxSatoshi
// (21,000,000 BTC): an output, an input's spent output or a coin, a sum of them above the
// range, or a fee below zero. It matches ErrAmountOutOfRange and, when Err is set, Err (the
// sentinel of what carried the amount: ErrInvalidTransaction, ErrInvalidPSBT, …).
type AmountError struct {
	// What is "output", "input", "coin", "amount", one of those followed by " total" for a
	// sum, or "fee".
	What string
	// Index is the output, input or coin concerned, -1 for totals, fees and lone amounts.
	Index int
	// Value is the offending amount in satoshis; for a total, the running sum when it first
	// went out of range (at most twice the maximum: it never wraps).
	Value int64
	Err   error
}

func (e *AmountError) Error() string {
	what := e.What
	if e.Index >= 0 {
		what = fmt.Sprintf("%s %d", e.What, e.Index)
	}
	if e.What == "fee" {
		return fmt.Sprintf("%v: negative fee %d sat (inputs below outputs)", ErrAmountOutOfRange, e.Value)
	}
	return fmt.Sprintf("%v: %s is %d sat, outside 0..%d", ErrAmountOutOfRange, what, e.Value, int64(btcutil.MaxSatoshi))
}

// Unwrap returns ErrAmountOutOfRange and, when set, Err.
func (e *AmountError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrAmountOutOfRange}
	}
	return []error{ErrAmountOutOfRange, e.Err}
}

// MuSig2Error blames a BIP-327 failure on a participant's contribution when it can.
type MuSig2Error struct {
	// Signer is the index of the participant at fault, -1 when none is (e.g. the aggregate
	// nonce).
	Signer int
	// Contribution names what was wrong: "pubkey", "pubnonce", "aggnonce", "psig", or ""
	// for errors that are nobody's contribution (bad tweak, reused nonce).
	Contribution string
	Reason       string
}

func (e *MuSig2Error) Error() string {
	msg := ErrMuSig2.Error()
	if e.Contribution != "" {
		if e.Signer >= 0 {
			msg += fmt.Sprintf(": invalid %s from signer %d", e.Contribution, e.Signer)
		} else {
			msg += fmt.Sprintf(": invalid %s", e.Contribution)
		}
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

func (e *MuSig2Error) Unwrap() error { return ErrMuSig2 }
