package bitcoin

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// BIP-322 generic signed messages.

// MessageFormat is the encoding of a message signature.
type MessageFormat uint8

// The message signature formats of BIP-322.
const (
	// FormatUnknown lets SignMessage choose: simple for native segwit addresses, full
	// otherwise.
	FormatUnknown MessageFormat = iota
	// FormatLegacy is the compact recoverable ECDSA signature of Bitcoin Core's
	// signmessage, for P2PKH addresses only.
	FormatLegacy
	// FormatSimple is the witness stack of to_sign, prefixed "smp"; native segwit only.
	FormatSimple
	// FormatFull is the whole signed to_sign transaction, prefixed "ful".
	FormatFull
	// FormatProofOfFunds is the finalized PSBT of a to_sign transaction that also spends
	// the signer's UTXOs, prefixed "pof".
	FormatProofOfFunds
)

// String returns "legacy", "simple", "full", "pof" or "unknown".
func (f MessageFormat) String() string {
	switch f {
	case FormatLegacy:
		return "legacy"
	case FormatSimple:
		return "simple"
	case FormatFull:
		return "full"
	case FormatProofOfFunds:
		return "pof"
	}
	return "unknown"
}

// ParseMessageFormat parses the names String returns.
func ParseMessageFormat(s string) (MessageFormat, error) {
	for _, f := range []MessageFormat{FormatLegacy, FormatSimple, FormatFull, FormatProofOfFunds} {
		if f.String() == s {
			return f, nil
		}
	}
	return FormatUnknown, fmt.Errorf("%w: unknown message format %q (want legacy, simple, full or pof)", ErrMalformedSignature, s)
}

// MarshalText implements encoding.TextMarshaler.
func (f MessageFormat) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// Result is the outcome of verifying a message signature, one of BIP-322's three states.
// The zero value is Invalid.
type Result uint8

// The verification outcomes.
const (
	// Invalid: some check failed; the signature proves nothing.
	Invalid Result = iota
	// Inconclusive: the signature uses rules reserved for upgrades (an unknown to_sign
	// version, upgradable NOPs, future witness versions), so this verifier cannot judge it.
	Inconclusive
	// Valid: the signature is valid at time LockTime and age Sequence.
	Valid
)

// String returns "valid", "inconclusive" or "invalid".
func (r Result) String() string {
	switch r {
	case Valid:
		return "valid"
	case Inconclusive:
		return "inconclusive"
	}
	return "invalid"
}

// MarshalText implements encoding.TextMarshaler.
func (r Result) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Verification is the verdict on a message signature.
type Verification struct {
	Result Result
	Format MessageFormat
	// Reason explains an Invalid or Inconclusive result; empty when Valid.
	Reason string
	// LockTime and Sequence are T and S of "valid at time T and age S": the lock time of
	// to_sign and the sequence of its first input (zero for simple and legacy signatures).
	LockTime uint32
	Sequence uint32
	// Funds lists the outputs a proof of funds claims, in to_sign input order.
	Funds []wire.OutPoint
	// FundsChecked reports that every claimed output was confirmed unspent, with the claimed
	// value and script, through the lookup given to VerifyMessage. Without a lookup a proof
	// of funds can be Valid — the signatures are sound — while FundsChecked is false.
	FundsChecked bool
}

func invalid(f MessageFormat, format string, args ...any) Verification {
	return Verification{Result: Invalid, Format: f, Reason: fmt.Sprintf(format, args...)}
}

// messageHash is BIP-322's tagged hash of the message.
func messageHash(msg string) chainhash.Hash {
	return *chainhash.TaggedHash([]byte("BIP0322-signed-message"), []byte(msg))
}

// buildToSpend returns BIP-322's virtual to_spend transaction.
func buildToSpend(challenge []byte, msg string) *wire.MsgTx {
	h := messageHash(msg)
	tx := wire.NewMsgTx(0)
	in := wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{}, wire.MaxPrevOutIndex), nil, nil)
	in.Sequence = 0
	in.SignatureScript = append([]byte{txscript.OP_0, txscript.OP_DATA_32}, h[:]...)
	tx.AddTxIn(in)
	tx.AddTxOut(wire.NewTxOut(0, bytes.Clone(challenge)))
	return tx
}

// buildToSign returns BIP-322's unsigned to_sign transaction spending toSpend.
func buildToSign(toSpend *wire.MsgTx) *wire.MsgTx {
	h := toSpend.TxHash()
	tx := wire.NewMsgTx(0)
	in := wire.NewTxIn(wire.NewOutPoint(&h, 0), nil, nil)
	in.Sequence = 0
	tx.AddTxIn(in)
	tx.AddTxOut(wire.NewTxOut(0, []byte{txscript.OP_RETURN}))
	return tx
}

// NewMessagePSBT returns the BIP-322 to_sign transaction for proving control of addr while
// signing msg, as a PSBT carrying the message in the PSBT_GLOBAL_GENERIC_SIGNED_MESSAGE
// field (BIP-322 "PSBT-based signing"). Signers Sign it, it is Combined and Finalized, and
// MessageSignature encodes the result. Use it for multisig and other multi-party signing.
func NewMessagePSBT(addr Address, msg string, opts ...Option) (*PSBT, error) {
	cfg, err := newConfig(forMessagePSBT, opts)
	if err != nil {
		return nil, err
	}
	return newMessagePSBT(addr, msg, &cfg.message)
}

func newMessagePSBT(addr Address, msg string, cfg *messageConfig) (*PSBT, error) {
	if addr.IsZero() {
		return nil, fmt.Errorf("%w: zero Address", ErrInvalidAddress)
	}
	challenge := addr.PkScript()
	toSpend := buildToSpend(challenge, msg)
	toSign := buildToSign(toSpend)
	for _, c := range cfg.funds {
		in := wire.NewTxIn(&c.OutPoint, nil, nil)
		in.Sequence = 0
		toSign.AddTxIn(in)
	}
	p, err := NewPSBT(toSign)
	if err != nil {
		return nil, err
	}
	first := Coin{OutPoint: toSign.TxIn[0].PreviousOutPoint, Value: 0, PkScript: challenge, PrevTx: toSpend,
		RedeemScript: cfg.redeem, WitnessScript: cfg.witness, Multisig: cfg.multisig}
	if addr.Type() == P2TR {
		first.PrevTx = nil // taproot signatures commit to amounts; no need for the whole tx
	}
	if err := p.AddCoin(0, first); err != nil {
		return nil, err
	}
	for i, c := range cfg.funds {
		if err := p.AddCoin(i+1, c); err != nil {
			return nil, err
		}
	}
	p.p.Unknowns = append(p.p.Unknowns, &psbt.Unknown{Key: []byte{psbtGlobalGenericSignedMessage}, Value: []byte(msg)})
	return p, nil
}

// SignMessage signs msg for addr with key (BIP-322). addr may be P2PKH (legacy or full
// format), P2SH-P2WPKH of key (full), P2WPKH of key or the BIP-86 P2TR of key (simple or
// full); with WithProofOfFunds, key must also control the coins. The signature string
// carries its format prefix ("smp", "ful", "pof"); legacy signatures are unprefixed base64.
func SignMessage(key *btcec.PrivateKey, addr Address, msg string, opts ...Option) (string, error) {
	all, err := newConfig(forSign, opts)
	if err != nil {
		return "", err
	}
	cfg := all.message
	if key == nil {
		return "", fmt.Errorf("%w: nil private key", ErrInvalidKey)
	}
	pub := key.PubKey()
	switch addr.Type() {
	case P2PKH:
		if cfg.format == FormatLegacy {
			return signLegacy(key, addr, msg)
		}
	case P2SH:
		want, err := NewP2SHP2WPKH(pub, addr.Network())
		if err != nil {
			return "", err
		}
		if !want.Equal(addr) {
			return "", fmt.Errorf("%w: P2SH address is not the P2SH-P2WPKH of the key", ErrUnsupportedScript)
		}
		cfg.redeem = p2wpkhScript(hash160(pub.SerializeCompressed()))
	case P2WPKH, P2TR:
	default:
		return "", fmt.Errorf("%w: cannot sign for a %s address with one key (use SignMessageMultisig or NewMessagePSBT)", ErrUnsupportedScript, addr.Type())
	}
	if cfg.format == FormatLegacy {
		return "", fmt.Errorf("%w: the legacy format is for P2PKH addresses only (BIP-322)", ErrUnsupportedScript)
	}
	return signWithPSBT(addr, msg, &cfg, key)
}

// SignMessageMultisig signs msg for the multisig's address with keys (at least its
// threshold of them) in the full or simple format, or proof of funds with
// WithProofOfFunds. MuSig2 key-path policies need the interactive protocol instead: use
// NewMessagePSBT, TaprootKeySpendSigHash and SetTaprootKeySpendSig.
func SignMessageMultisig(keys []*btcec.PrivateKey, m *Multisig, msg string, opts ...Option) (string, error) {
	all, err := newConfig(forSignMulti, opts)
	if err != nil {
		return "", err
	}
	cfg := all.message
	if m == nil {
		return "", fmt.Errorf("%w: nil multisig", ErrInvalidMultisig)
	}
	if err := m.constructed(); err != nil {
		return "", err
	}
	if m.Kind() == MuSig2KeyPath {
		return "", fmt.Errorf("%w: MuSig2 needs interactive signing", ErrUnsupportedScript)
	}
	cfg.multisig = m
	return signWithPSBT(m.Address(), msg, &cfg, keys...)
}

func signWithPSBT(addr Address, msg string, cfg *messageConfig, keys ...*btcec.PrivateKey) (string, error) {
	p, err := newMessagePSBT(addr, msg, cfg)
	if err != nil {
		return "", err
	}
	n, err := p.Sign(keys...)
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", fmt.Errorf("%w: the key does not control %s", ErrInvalidKey, addr)
	}
	if err := p.Finalize(); err != nil {
		return "", err
	}
	return p.MessageSignature(cfg.format)
}

// MessageSignature encodes a finalized BIP-322 to_sign PSBT as a signature: "smp" + the
// witness (simple), "ful" + the transaction (full) or "pof" + the PSBT (proof of funds).
// FormatUnknown picks simple when allowed, then full, then proof of funds. The transaction
// is checked with the script interpreter first.
func (p *PSBT) MessageSignature(format MessageFormat) (string, error) {
	if err := p.constructed(); err != nil {
		return "", err
	}
	tx, err := p.Extract()
	if err != nil {
		return "", err
	}
	in := tx.TxIn[0]
	simpleOK := len(tx.TxIn) == 1 && tx.Version == 0 && tx.LockTime == 0 && in.Sequence == 0 && len(in.SignatureScript) == 0
	if format == FormatUnknown {
		switch {
		case simpleOK:
			format = FormatSimple
		case len(tx.TxIn) == 1:
			format = FormatFull
		default:
			format = FormatProofOfFunds
		}
	}
	var buf bytes.Buffer
	switch format {
	case FormatSimple:
		if !simpleOK {
			return "", fmt.Errorf("%w: simple format needs a native segwit address, one input and default fields", ErrUnsupportedScript)
		}
		if err := psbt.WriteTxWitness(&buf, in.Witness); err != nil {
			return "", err
		}
		return "smp" + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
	case FormatFull:
		if len(tx.TxIn) != 1 {
			return "", fmt.Errorf("%w: full format cannot carry extra inputs; use proof of funds", ErrUnsupportedScript)
		}
		if err := tx.Serialize(&buf); err != nil {
			return "", err
		}
		return "ful" + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
	case FormatProofOfFunds:
		return "pof" + p.Base64(), nil
	}
	return "", fmt.Errorf("%w: format %s is not PSBT based", ErrUnsupportedScript, format)
}

// Script flags of BIP-322 verification: the required rules (a failure makes the signature
// invalid) and the upgradeable ones (a failure makes it inconclusive).
const (
	requiredFlags = txscript.ScriptBip16 | txscript.ScriptVerifyDERSignatures | txscript.ScriptVerifyStrictEncoding |
		txscript.ScriptVerifyLowS | txscript.ScriptVerifyNullFail | txscript.ScriptVerifyMinimalData |
		txscript.ScriptVerifyCleanStack | txscript.ScriptVerifyMinimalIf | txscript.ScriptStrictMultiSig |
		txscript.ScriptVerifyWitness | txscript.ScriptVerifyTaproot | txscript.ScriptVerifyConstScriptCode |
		txscript.ScriptVerifyCheckLockTimeVerify | txscript.ScriptVerifyCheckSequenceVerify
	upgradeableFlags = txscript.ScriptDiscourageUpgradableNops | txscript.ScriptVerifyDiscourageUpgradeableWitnessProgram |
		txscript.ScriptVerifyDiscourageUpgradeableTaprootVersion | txscript.ScriptVerifyDiscourageOpSuccess |
		txscript.ScriptVerifyDiscourageUpgradeablePubkeyType
)

// VerifyMessage verifies a BIP-322 signature of msg for addr: the prefixed formats "smp",
// "ful" and "pof", and the older unprefixed encodings (legacy for P2PKH, then simple, then
// full). It returns a Verification whose Result is Valid, Inconclusive or Invalid; err is
// reserved for signatures that cannot be decoded (*SignatureError wrapping
// ErrMalformedSignature), a failing UTXO lookup and ctx cancellation. A 65-byte unprefixed
// signature with a BIP-137 segwit header is checked as a BIP-137 signature for P2WPKH and
// P2SH addresses.
func VerifyMessage(ctx context.Context, addr Address, msg, sig string, opts ...Option) (Verification, error) {
	all, err := newConfig(forVerify, opts)
	if err != nil {
		return Verification{}, err
	}
	cfg := all.verify
	if err := ctx.Err(); err != nil {
		return Verification{}, err
	}
	if addr.IsZero() {
		return Verification{}, fmt.Errorf("%w: zero Address", ErrInvalidAddress)
	}
	prefix := ""
	if len(sig) >= 3 {
		switch sig[:3] {
		case "smp", "ful", "pof":
			prefix = sig[:3]
		}
	}
	raw, err := base64.StdEncoding.DecodeString(sig[len(prefix):])
	if err != nil {
		return Verification{}, &SignatureError{Reason: "error decoding signature as base64: " + err.Error()}
	}
	if len(raw) == 0 {
		return Verification{}, &SignatureError{Reason: "signature too short"}
	}
	toSpend := buildToSpend(addr.PkScript(), msg)
	switch prefix {
	case "smp":
		wit, err := parseWitness(raw)
		if err != nil {
			return Verification{}, &SignatureError{Format: FormatSimple, Reason: "error parsing signature as simple variant: " + err.Error(), Err: err}
		}
		return verifySimple(addr, toSpend, wit), nil
	case "ful":
		tx, err := DecodeTx(raw)
		if err != nil {
			return Verification{}, &SignatureError{Format: FormatFull, Reason: "error parsing signature as full variant: " + err.Error(), Err: err}
		}
		return verifyFull(ctx, toSpend, tx, FormatFull, nil, &cfg)
	case "pof":
		p, err := ParsePSBT(raw)
		if err != nil {
			return Verification{}, &SignatureError{Format: FormatProofOfFunds, Reason: "error parsing signature as proof-of-funds variant: " + err.Error(), Err: err}
		}
		return verifyProofOfFunds(ctx, toSpend, p, &cfg)
	}
	// Unprefixed: legacy, or a signature from before BIP-322 v1.0.0.
	if len(raw) == 65 {
		switch {
		case addr.Type() == P2PKH:
			return legacyVerification(addr, msg, sig), nil
		case (addr.Type() == P2WPKH || addr.Type() == P2SH) && raw[0] >= 35 && raw[0] <= 42:
			return legacyVerification(addr, msg, sig), nil
		}
	}
	if wit, err := parseWitness(raw); err == nil {
		return verifySimple(addr, toSpend, wit), nil
	}
	tx, err := DecodeTx(raw)
	if err == nil {
		return verifyFull(ctx, toSpend, tx, FormatFull, nil, &cfg)
	}
	var ae *AmountError
	if errors.As(err, &ae) { // a transaction, but one no chain could hold
		return Verification{}, &SignatureError{Format: FormatFull, Reason: "error parsing signature as full variant: " + err.Error(), Err: err}
	}
	return Verification{}, &SignatureError{Reason: "unprefixed signature is neither legacy, simple nor full"}
}

func legacyVerification(addr Address, msg, sig string) Verification {
	if err := VerifyMessageLegacy(addr, msg, sig); err != nil {
		return invalid(FormatLegacy, "invalid signature: %v", err)
	}
	return Verification{Result: Valid, Format: FormatLegacy}
}

func verifySimple(addr Address, toSpend *wire.MsgTx, wit wire.TxWitness) Verification {
	switch addr.Type() {
	case P2WPKH, P2WSH, P2TR, WitnessUnknown:
	default:
		return invalid(FormatSimple, "invalid signature: the simple format needs a native segwit address, not %s", addr.Type())
	}
	toSign := buildToSign(toSpend)
	toSign.TxIn[0].Witness = wit
	v, _ := verifyFull(context.Background(), toSpend, toSign, FormatSimple, nil, &verifyConfig{})
	return v
}

// verifyFull checks a to_sign transaction against to_spend. prevOuts supplies the outputs
// spent by inputs after the first (proof of funds).
func verifyFull(ctx context.Context, toSpend, toSign *wire.MsgTx, format MessageFormat,
	prevOuts map[wire.OutPoint]*wire.TxOut, cfg *verifyConfig) (Verification, error) {

	if len(toSign.TxIn) == 0 {
		return invalid(format, "invalid signature: to_sign has no inputs"), nil
	}
	want := wire.OutPoint{Hash: toSpend.TxHash(), Index: 0}
	if toSign.TxIn[0].PreviousOutPoint != want {
		return invalid(format, "invalid signature: to_sign does not spend to_spend of this message and address"), nil
	}
	if len(toSign.TxOut) != 1 || toSign.TxOut[0].Value != 0 || !bytes.Equal(toSign.TxOut[0].PkScript, []byte{txscript.OP_RETURN}) {
		return invalid(format, "invalid signature: to_sign must have exactly one output, OP_RETURN of value 0"), nil
	}
	if format != FormatProofOfFunds && len(toSign.TxIn) != 1 {
		return invalid(format, "invalid signature: extra inputs need the proof-of-funds format"), nil
	}
	if i := duplicateInput(toSign); i >= 0 {
		return invalid(format, "invalid signature: input %d spends the same output as an earlier input", i), nil
	}
	// The output that decides whose signature this is comes from to_spend — from the
	// address and message being verified — and nothing the signature claims replaces it.
	outs := make(map[wire.OutPoint]*wire.TxOut, len(prevOuts)+1)
	for op, o := range prevOuts {
		outs[op] = o
	}
	outs[want] = toSpend.TxOut[0]
	for i, in := range toSign.TxIn {
		if _, ok := outs[in.PreviousOutPoint]; !ok {
			return invalid(format, "invalid signature: input %d has no UTXO data", i), nil
		}
	}
	fetcher := txscript.NewMultiPrevOutFetcher(outs)
	// Outputs of future segwit versions are anyone-can-spend under today's rules (btcd's
	// interpreter then trips over CLEANSTACK, Core's does not): they are left out of the
	// required checks and make the result inconclusive.
	var future []int
	for i, in := range toSign.TxIn {
		if isFutureWitness(fetcher.FetchPrevOutput(in.PreviousOutPoint).PkScript, in.SignatureScript) {
			future = append(future, i)
		}
	}
	if err := verifyTxScripts(toSign, fetcher, requiredFlags, future...); err != nil {
		return invalid(format, "invalid signature: %v", err.(*PSBTError).Reason), nil
	}
	if reason := checkMessageRules(toSign, fetcher); reason != "" {
		return invalid(format, "invalid signature: %s", reason), nil
	}
	v := Verification{Result: Valid, Format: format, LockTime: toSign.LockTime, Sequence: toSign.TxIn[0].Sequence}
	if len(future) > 0 {
		v.Result, v.Reason = Inconclusive, fmt.Sprintf("input %d spends a segwit version reserved for upgrades", future[0])
		return v, nil
	}
	if toSign.Version != 0 && toSign.Version != 2 {
		v.Result, v.Reason = Inconclusive, fmt.Sprintf("to_sign version %d is not 0 or 2", toSign.Version)
		return v, nil
	}
	if err := verifyTxScripts(toSign, fetcher, requiredFlags|upgradeableFlags); err != nil {
		v.Result, v.Reason = Inconclusive, "uses rules reserved for upgrades: "+err.(*PSBTError).Reason
		return v, nil
	}
	for _, in := range toSign.TxIn[1:] {
		v.Funds = append(v.Funds, in.PreviousOutPoint)
	}
	if format == FormatProofOfFunds && cfg.lookup != nil {
		for i, in := range toSign.TxIn[1:] {
			got, err := cfg.lookup(ctx, in.PreviousOutPoint)
			if err != nil {
				if ctx.Err() != nil {
					return Verification{}, ctx.Err()
				}
				return Verification{}, fmt.Errorf("bitcoin: utxo lookup for %v: %w", in.PreviousOutPoint, err)
			}
			claimed := outs[in.PreviousOutPoint]
			if got == nil {
				return invalid(format, "input %d: %v is not an unspent output", i+1, in.PreviousOutPoint), nil
			}
			if got.Value != claimed.Value || !bytes.Equal(got.PkScript, claimed.PkScript) {
				return invalid(format, "input %d: %v differs from the claimed output", i+1, in.PreviousOutPoint), nil
			}
		}
		v.FundsChecked = true
	}
	return v, nil
}

func verifyProofOfFunds(ctx context.Context, toSpend *wire.MsgTx, p *PSBT, cfg *verifyConfig) (Verification, error) {
	if !p.IsComplete() {
		return invalid(FormatProofOfFunds, "invalid signature: the proof-of-funds PSBT is not finalized"), nil
	}
	tx, err := psbtFinalTx(p)
	if err != nil {
		return Verification{}, &SignatureError{Format: FormatProofOfFunds, Reason: "error parsing signature as proof-of-funds variant: " + err.Error(), Err: err}
	}
	// The claimed outputs come from the one reading of the PSBT, through the accessor every
	// other use of an input's UTXO goes through (ParsePSBT has refused a witness UTXO that
	// contradicts the non-witness one).
	prevOuts := map[wire.OutPoint]*wire.TxOut{}
	for i := 1; i < len(tx.TxIn); i++ {
		op := tx.TxIn[i].PreviousOutPoint
		if o, ok := p.prevOut(i); ok {
			prevOuts[op] = o
		} else {
			// BIP-322: fall back to an earlier input's non-witness UTXO of the same transaction.
			for j := 1; j < i; j++ {
				if nw := p.p.Inputs[j].NonWitnessUtxo; nw != nil && tx.TxIn[j].PreviousOutPoint.Hash == op.Hash && int(op.Index) < len(nw.TxOut) {
					prevOuts[op] = nw.TxOut[op.Index]
					break
				}
			}
		}
	}
	return verifyFull(ctx, toSpend, tx, FormatProofOfFunds, prevOuts, cfg)
}

// psbtFinalTx assembles the final transaction of a finalized PSBT without verifying it.
func psbtFinalTx(p *PSBT) (tx *wire.MsgTx, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("extract: %v", r)
		}
	}()
	return psbt.Extract(p.p)
}

// checkMessageRules enforces the BIP-322 rules the script flags do not: SIGHASH_ALL (or
// SIGHASH_DEFAULT for taproot) on every signature and no OP_CODESEPARATOR in segwit
// scripts. It recognises signatures by shape (strict DER plus one byte for ECDSA, 64 or 65
// bytes for Schnorr) and returns a reason, empty when the rules hold.
func checkMessageRules(tx *wire.MsgTx, fetcher txscript.PrevOutputFetcher) string {
	for i, in := range tx.TxIn {
		pk := fetcher.FetchPrevOutput(in.PreviousOutPoint).PkScript
		program := pk
		pushes, _ := scriptPushes(in.SignatureScript)
		if classify(pk) == classP2SH && len(pushes) > 0 {
			program = pushes[len(pushes)-1]
			pushes = pushes[:len(pushes)-1]
		}
		for _, p := range pushes {
			if isECDSASigWithType(p) && p[len(p)-1] != byte(txscript.SigHashAll) {
				return fmt.Sprintf("input %d: signature does not use SIGHASH_ALL", i)
			}
		}
		version, _, isWitness := witnessProgram(program)
		if !isWitness {
			continue
		}
		wit := in.Witness
		switch {
		case version == 0:
			items := wit
			if classify(program) == classP2WSH && len(wit) > 0 {
				if hasCodeSeparator(wit[len(wit)-1]) {
					return fmt.Sprintf("input %d: OP_CODESEPARATOR is forbidden", i)
				}
				items = wit[:len(wit)-1]
			}
			for _, it := range items {
				if isECDSASigWithType(it) && it[len(it)-1] != byte(txscript.SigHashAll) {
					return fmt.Sprintf("input %d: signature does not use SIGHASH_ALL", i)
				}
			}
		case version == 1 && len(program) == 34:
			if len(wit) >= 2 && len(wit[len(wit)-1]) > 0 && wit[len(wit)-1][0] == txscript.TaprootAnnexTag {
				wit = wit[:len(wit)-1]
			}
			items := wit
			if len(wit) >= 2 { // script path
				if hasCodeSeparator(wit[len(wit)-2]) {
					return fmt.Sprintf("input %d: OP_CODESEPARATOR is forbidden", i)
				}
				items = wit[:len(wit)-2]
			}
			for _, it := range items {
				if len(it) == 65 && it[64] != byte(txscript.SigHashAll) {
					return fmt.Sprintf("input %d: signature uses neither SIGHASH_DEFAULT nor SIGHASH_ALL", i)
				}
			}
		}
	}
	return ""
}

// isFutureWitness reports whether spending pk (with sigScript, for P2SH) executes a
// witness program of a version this verifier cannot judge: 2 and above, or version 1 that
// is not native 32-byte taproot.
func isFutureWitness(pk, sigScript []byte) bool {
	nested := false
	if classify(pk) == classP2SH {
		pushes, ok := scriptPushes(sigScript)
		if !ok || len(pushes) != 1 {
			return false
		}
		pk, nested = pushes[0], true
	}
	v, prog, ok := witnessProgram(pk)
	return ok && (v >= 2 || v == 1 && (nested || len(prog) != 32))
}

func isECDSASigWithType(b []byte) bool {
	if len(b) < 9 || len(b) > 73 || b[0] != 0x30 {
		return false
	}
	_, err := ecdsa.ParseDERSignature(b[:len(b)-1])
	return err == nil
}

func hasCodeSeparator(script []byte) bool {
	tok := txscript.MakeScriptTokenizer(0, script)
	for tok.Next() {
		if tok.Opcode() == txscript.OP_CODESEPARATOR {
			return true
		}
	}
	return false
}
