package bitcoin

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// Coin is a spendable output together with what a signer needs to spend it.
type Coin struct {
	OutPoint wire.OutPoint
	Value    btcutil.Amount
	PkScript []byte // the output script
	// PrevTx is the whole transaction that created the output. It is required for
	// non-segwit outputs (P2PKH, bare P2SH), whose signatures do not commit to the value,
	// and recommended for segwit v0 ones.
	PrevTx *wire.MsgTx
	// RedeemScript is the P2SH redeem script (for P2SH-P2WPKH: 0014{hash160(key)}).
	RedeemScript []byte
	// WitnessScript is the P2WSH witness script.
	WitnessScript []byte
	// Multisig, when set, supplies the scripts of a multisig output (witness script,
	// taproot internal key, leaf and control block).
	Multisig *Multisig
}

// resolve fills the value and script from PrevTx when they are missing and checks that
// they agree with it.
func (c Coin) resolve() (Coin, error) {
	if c.PrevTx == nil {
		if c.PkScript == nil {
			return c, fmt.Errorf("coin %v has neither a script nor its previous transaction", c.OutPoint)
		}
		return c, nil
	}
	if c.PrevTx.TxHash() != c.OutPoint.Hash || int(c.OutPoint.Index) >= len(c.PrevTx.TxOut) {
		return c, fmt.Errorf("previous transaction does not contain coin %v", c.OutPoint)
	}
	o := c.PrevTx.TxOut[c.OutPoint.Index]
	if c.PkScript == nil {
		c.PkScript, c.Value = o.PkScript, btcutil.Amount(o.Value)
	} else if !bytes.Equal(o.PkScript, c.PkScript) || btcutil.Amount(o.Value) != c.Value {
		return c, fmt.Errorf("coin %v: value or script differs from the previous transaction", c.OutPoint)
	}
	return c, nil
}

// PSBT is a BIP-174 partially signed transaction. Methods that change it either succeed or
// leave it unchanged. A PSBT is not safe for concurrent use. Create it with [NewPSBT],
// [ParsePSBT], [CreatePSBT] or [NewMessagePSBT]: a zero PSBT is empty (no bytes, no
// transaction) and its methods that can fail return a [*NotConstructedError].
type PSBT struct {
	p *psbt.Packet
}

// BIP-322 adds this global type for a PSBT that signs a message.
const psbtGlobalGenericSignedMessage = 0x09

// NewPSBT returns a PSBT for the unsigned transaction tx (BIP-174 creator). tx must have no
// scriptSigs or witnesses, and outputs within 0..btcutil.MaxSatoshi summing to no more (an
// *AmountError otherwise); it is copied.
func NewPSBT(tx *wire.MsgTx) (*PSBT, error) {
	if tx == nil {
		return nil, psbtErr(ErrInvalidPSBT, -1, "nil transaction")
	}
	if tx.SerializeSizeStripped() > psbt.MaxPsbtValueLength {
		return nil, psbtErr(ErrInvalidPSBT, -1, "transaction larger than a PSBT can hold")
	}
	if err := checkOutputs(tx.TxOut, ErrInvalidPSBT); err != nil {
		return nil, amountPSBTErr(err, false)
	}
	if i := duplicateInput(tx); i >= 0 {
		return nil, psbtErr(ErrInvalidPSBT, i, "spends the same output as an earlier input")
	}
	p, err := psbt.NewFromUnsignedTx(tx.Copy())
	if err != nil {
		return nil, psbtErr(ErrInvalidPSBT, -1, "%v", err)
	}
	return &PSBT{p: p}, nil
}

// amountPSBTErr wraps an *AmountError (or another error) in a *PSBTError naming the output
// (or, with input, the input) it is about.
func amountPSBTErr(err error, input bool) error {
	var ae *AmountError
	if !errors.As(err, &ae) {
		return psbtErr(ErrInvalidPSBT, -1, "%v", err)
	}
	pe := &PSBTError{Input: -1, Output: -1, Err: ae}
	if input {
		pe.Input = ae.Index
	} else {
		pe.Output = ae.Index
	}
	return pe
}

// ParsePSBT decodes a PSBT from its binary serialization or its base64 text. Malformed
// input returns a *PSBTError wrapping ErrInvalidPSBT: anything BIP-174 forbids, encodings
// other readers would read differently (see the package's PSBT reader), a non-witness UTXO
// that is not the transaction its input spends, a witness UTXO that contradicts it, two
// inputs spending one output, and
// amounts outside 0..btcutil.MaxSatoshi — each output, each spent output, and the sums of
// both — for which the *PSBTError wraps an *AmountError. BIP-370 (version 2) PSBTs are
// rejected.
//
// The bytes are read once: the PSBT returned is built from that one reading, and every
// other method — Sign above all — works on it.
func ParsePSBT(b []byte) (*PSBT, error) {
	raw := b
	if !bytes.HasPrefix(b, psbtMagic) {
		dec, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil {
			return nil, psbtErr(ErrInvalidPSBT, -1, "neither binary PSBT nor base64: %v", derr)
		}
		raw = dec
	}
	p, err := decodePSBT(raw)
	if err != nil {
		return nil, err
	}
	if err := checkOutputs(p.UnsignedTx.TxOut, ErrInvalidPSBT); err != nil {
		return nil, amountPSBTErr(err, false)
	}
	if i := duplicateInput(p.UnsignedTx); i >= 0 {
		return nil, psbtErr(ErrInvalidPSBT, i, "spends the same output as an earlier input")
	}
	out := &PSBT{p: p}
	if err := out.checkInputs(); err != nil {
		return nil, err
	}
	return out, nil
}

// checkInputs enforces what the package relies on about the inputs' UTXO data: a non-witness
// UTXO is the transaction its input spends, a witness UTXO agrees with it when both are
// given, and the known spent amounts are in range and sum to no more than
// btcutil.MaxSatoshi. With that, every reader of an input's UTXO (prevOut, btcd's
// finalizer, message verification) sees the same output, and no sum of amounts overflows.
func (p *PSBT) checkInputs() error {
	var sum amountSum
	for i := range p.p.Inputs {
		if err := p.checkNonWitnessUTXO(i); err != nil {
			return err
		}
		in := &p.p.Inputs[i]
		if in.NonWitnessUtxo != nil && in.WitnessUtxo != nil {
			o := in.NonWitnessUtxo.TxOut[p.p.UnsignedTx.TxIn[i].PreviousOutPoint.Index]
			if in.WitnessUtxo.Value != o.Value || !bytes.Equal(in.WitnessUtxo.PkScript, o.PkScript) {
				return psbtErr(ErrInvalidPSBT, i, "witness utxo contradicts the non-witness utxo")
			}
		}
		if in.NonWitnessUtxo != nil {
			if err := checkOutputs(in.NonWitnessUtxo.TxOut, ErrInvalidPSBT); err != nil {
				return &PSBTError{Input: i, Output: -1, Reason: "non-witness utxo", Err: err}
			}
		}
		if o, ok := p.prevOut(i); ok {
			if err := sum.add("input", i, o.Value, ErrInvalidPSBT); err != nil {
				return amountPSBTErr(err, true)
			}
		}
	}
	return nil
}

// checkNonWitnessUTXO verifies that a non-witness UTXO is the transaction the input spends.
func (p *PSBT) checkNonWitnessUTXO(i int) error {
	in := p.p.Inputs[i]
	if in.NonWitnessUtxo == nil {
		return nil
	}
	prev := p.p.UnsignedTx.TxIn[i].PreviousOutPoint
	if in.NonWitnessUtxo.TxHash() != prev.Hash {
		return psbtErr(ErrInvalidPSBT, i, "non-witness utxo does not match the outpoint hash")
	}
	if int(prev.Index) >= len(in.NonWitnessUtxo.TxOut) {
		return psbtErr(ErrInvalidPSBT, i, "outpoint index beyond the non-witness utxo's outputs")
	}
	return nil
}

// constructed returns a [*NotConstructedError] for a zero PSBT.
func (p *PSBT) constructed() error {
	if p == nil || p.p == nil || p.p.UnsignedTx == nil {
		return notConstructed("PSBT", "NewPSBT, ParsePSBT or CreatePSBT")
	}
	return nil
}

// Bytes returns the binary serialization.
func (p *PSBT) Bytes() []byte {
	if p.constructed() != nil {
		return nil
	}
	var b bytes.Buffer
	if err := p.p.Serialize(&b); err != nil {
		return nil
	}
	return b.Bytes()
}

// Base64 returns the base64 serialization, the usual text form.
func (p *PSBT) Base64() string {
	if p.constructed() != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(p.Bytes())
}

// UnsignedTx returns a copy of the unsigned transaction.
func (p *PSBT) UnsignedTx() *wire.MsgTx {
	if p.constructed() != nil {
		return nil
	}
	return p.p.UnsignedTx.Copy()
}

// Clone returns an independent copy.
func (p *PSBT) Clone() *PSBT {
	if p.constructed() != nil {
		return &PSBT{}
	}
	return &PSBT{p: copyPacket(p.p)}
}

// SignalsRBF reports whether the transaction signals replaceability (BIP-125): some input
// has a sequence number below 0xfffffffe.
func (p *PSBT) SignalsRBF() bool { return p.constructed() == nil && signalsRBF(p.p.UnsignedTx) }

func signalsRBF(tx *wire.MsgTx) bool {
	for _, in := range tx.TxIn {
		if in.Sequence < wire.MaxTxInSequenceNum-1 {
			return true
		}
	}
	return false
}

// prevOut returns the output input i spends, from its witness or non-witness UTXO.
func (p *PSBT) prevOut(i int) (*wire.TxOut, bool) {
	in := &p.p.Inputs[i]
	if in.NonWitnessUtxo != nil {
		idx := p.p.UnsignedTx.TxIn[i].PreviousOutPoint.Index
		if int(idx) < len(in.NonWitnessUtxo.TxOut) {
			return in.NonWitnessUtxo.TxOut[idx], true
		}
	}
	if in.WitnessUtxo != nil {
		return in.WitnessUtxo, true
	}
	return nil, false
}

// Fee returns inputs minus outputs, or an error when an input's UTXO is unknown, and an
// *AmountError when the outputs exceed the inputs.
func (p *PSBT) Fee() (btcutil.Amount, error) {
	if err := p.constructed(); err != nil {
		return 0, err
	}
	var in, out amountSum
	for i := range p.p.Inputs {
		o, ok := p.prevOut(i)
		if !ok {
			return 0, psbtErr(ErrPSBTIncomplete, i, "no UTXO data")
		}
		if err := in.add("input", i, o.Value, ErrInvalidPSBT); err != nil {
			return 0, amountPSBTErr(err, true)
		}
	}
	if err := checkOutputs(p.p.UnsignedTx.TxOut, ErrInvalidPSBT); err != nil {
		return 0, amountPSBTErr(err, false)
	}
	for _, o := range p.p.UnsignedTx.TxOut {
		out.total += o.Value
	}
	if fee := in.total - out.total; fee < 0 {
		return 0, &PSBTError{Input: -1, Output: -1, Err: &AmountError{What: "fee", Index: -1, Value: fee, Err: ErrInvalidPSBT}}
	} else {
		return btcutil.Amount(fee), nil
	}
}

// fetcher returns a PrevOutputFetcher over the inputs' UTXO data and whether it knows
// every input's output. Unknown outputs are returned as empty outputs, never nil.
func (p *PSBT) fetcher() (txscript.PrevOutputFetcher, bool) {
	m := make(map[wire.OutPoint]*wire.TxOut, len(p.p.Inputs))
	all := true
	for i, in := range p.p.UnsignedTx.TxIn {
		if o, ok := p.prevOut(i); ok {
			m[in.PreviousOutPoint] = o
		} else {
			all = false
		}
	}
	return fetcherFunc(func(op wire.OutPoint) *wire.TxOut {
		if o, ok := m[op]; ok {
			return o
		}
		return &wire.TxOut{}
	}), all
}

type fetcherFunc func(wire.OutPoint) *wire.TxOut

func (f fetcherFunc) FetchPrevOutput(op wire.OutPoint) *wire.TxOut { return f(op) }

// AddCoin records what input i spends (BIP-174 updater): the UTXO, redeem and witness
// scripts and, for taproot multisig, the internal key and leaf. c.OutPoint must be input
// i's outpoint.
func (p *PSBT) AddCoin(i int, c Coin) error {
	if err := p.constructed(); err != nil {
		return err
	}
	if i < 0 || i >= len(p.p.Inputs) {
		return psbtErr(ErrInvalidPSBT, i, "no such input")
	}
	if p.p.UnsignedTx.TxIn[i].PreviousOutPoint != c.OutPoint {
		return psbtErr(ErrInvalidPSBT, i, "coin %v is not the input's outpoint %v", c.OutPoint, p.p.UnsignedTx.TxIn[i].PreviousOutPoint)
	}
	c, err := c.resolve()
	if err != nil {
		return psbtErr(ErrInvalidPSBT, i, "%v", err)
	}
	if err := (&amountSum{}).add("coin", i, int64(c.Value), ErrInvalidPSBT); err != nil {
		return amountPSBTErr(err, true)
	}
	in := p.p.Inputs[i] // copy: assign back only on success
	redeem, ws := c.RedeemScript, c.WitnessScript
	if c.Multisig != nil {
		if !bytes.Equal(c.Multisig.PkScript(), c.PkScript) {
			return psbtErr(ErrInvalidPSBT, i, "multisig does not pay to the coin's script")
		}
		if ws == nil {
			ws = c.Multisig.WitnessScript()
		}
		if c.Multisig.internalKey != nil {
			in.TaprootInternalKey = xOnly(c.Multisig.internalKey)
		}
		if c.Multisig.merkleRoot != nil {
			in.TaprootMerkleRoot = bytes.Clone(c.Multisig.merkleRoot)
		}
		if c.Multisig.leaf != nil && len(in.TaprootLeafScript) == 0 {
			in.TaprootLeafScript = []*psbt.TaprootTapLeafScript{{
				ControlBlock: c.Multisig.ControlBlock(),
				Script:       c.Multisig.LeafScript(),
				LeafVersion:  txscript.BaseLeafVersion,
			}}
		}
	}
	segwit, err := checkCoinScripts(c.PkScript, redeem, ws)
	if err != nil {
		return psbtErr(ErrInvalidPSBT, i, "%v", err)
	}
	if !segwit && c.PrevTx == nil {
		return psbtErr(ErrInvalidPSBT, i, "a non-segwit coin needs its previous transaction")
	}
	if c.PrevTx != nil {
		in.NonWitnessUtxo = c.PrevTx.Copy()
	}
	if segwit {
		in.WitnessUtxo = wire.NewTxOut(int64(c.Value), bytes.Clone(c.PkScript))
	}
	if redeem != nil {
		in.RedeemScript = bytes.Clone(redeem)
	}
	if ws != nil {
		in.WitnessScript = bytes.Clone(ws)
	}
	old := p.p.Inputs[i]
	p.p.Inputs[i] = in
	if err := p.checkInputs(); err != nil {
		p.p.Inputs[i] = old
		return err
	}
	return nil
}

// checkCoinScripts checks that the redeem and witness scripts hash to the output script and
// reports whether spending it is segwit.
func checkCoinScripts(pk, redeem, ws []byte) (segwit bool, err error) {
	target := pk
	if redeem != nil {
		if classify(pk) != classP2SH || !bytes.Equal(pk[2:22], hash160(redeem)) {
			return false, fmt.Errorf("redeem script does not match the output script")
		}
		target = redeem
	} else if classify(pk) == classP2SH {
		return false, nil
	}
	if ws != nil {
		h := sha256.Sum256(ws)
		if classify(target) != classP2WSH || !bytes.Equal(target[2:], h[:]) {
			return false, fmt.Errorf("witness script does not match the output or redeem script")
		}
	}
	_, _, isWitness := witnessProgram(target)
	return isWitness, nil
}

// AddKeyOrigin records that pub derives from the master key with the given fingerprint
// along path (BIP-32), on every input and output whose scripts involve pub.
func (p *PSBT) AddKeyOrigin(pub *btcec.PublicKey, masterFingerprint uint32, path []uint32) error {
	if err := p.constructed(); err != nil {
		return err
	}
	if pub == nil {
		return fmt.Errorf("%w: nil public key", ErrInvalidKey)
	}
	fp := masterFingerprint
	for i := range p.p.Inputs {
		in := &p.p.Inputs[i]
		var scripts [][]byte
		if o, ok := p.prevOut(i); ok {
			scripts = append(scripts, o.PkScript)
		}
		scripts = append(scripts, in.RedeemScript, in.WitnessScript)
		if scriptsInvolve(pub, scripts...) && !hasDerivation(in.Bip32Derivation, pub) {
			in.Bip32Derivation = append(in.Bip32Derivation, &psbt.Bip32Derivation{
				PubKey: pub.SerializeCompressed(), MasterKeyFingerprint: byteSwap(fp), Bip32Path: append([]uint32(nil), path...),
			})
		}
	}
	for i := range p.p.Outputs {
		out := &p.p.Outputs[i]
		if scriptsInvolve(pub, p.p.UnsignedTx.TxOut[i].PkScript, out.RedeemScript, out.WitnessScript) &&
			!hasDerivation(out.Bip32Derivation, pub) {
			out.Bip32Derivation = append(out.Bip32Derivation, &psbt.Bip32Derivation{
				PubKey: pub.SerializeCompressed(), MasterKeyFingerprint: byteSwap(fp), Bip32Path: append([]uint32(nil), path...),
			})
		}
	}
	return nil
}

// byteSwap converts a big-endian fingerprint (as BIP-32 prints it) to the little-endian
// integer btcd stores.
func byteSwap(v uint32) uint32 {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return binary.LittleEndian.Uint32(b[:])
}

func hasDerivation(ds []*psbt.Bip32Derivation, pub *btcec.PublicKey) bool {
	for _, d := range ds {
		if bytes.Equal(d.PubKey, pub.SerializeCompressed()) {
			return true
		}
	}
	return false
}

// scriptsInvolve reports whether any script pays to, or pushes, pub.
func scriptsInvolve(pub *btcec.PublicKey, scripts ...[]byte) bool {
	comp := pub.SerializeCompressed()
	h := hash160(comp)
	for _, s := range scripts {
		if len(s) == 0 {
			continue
		}
		switch classify(s) {
		case classP2PKH:
			if bytes.Equal(s[3:23], h) {
				return true
			}
		case classP2WPKH:
			if bytes.Equal(s[2:], h) {
				return true
			}
		}
		if scriptPushesData(s, comp) {
			return true
		}
	}
	return false
}

// scriptPushesData reports whether script pushes exactly data somewhere.
func scriptPushesData(script, data []byte) bool {
	tok := txscript.MakeScriptTokenizer(0, script)
	for tok.Next() {
		if bytes.Equal(tok.Data(), data) {
			return true
		}
	}
	return false
}

// SetSighashType sets the signature hash type signers must use for input i.
func (p *PSBT) SetSighashType(i int, t txscript.SigHashType) error {
	if err := p.constructed(); err != nil {
		return err
	}
	if i < 0 || i >= len(p.p.Inputs) {
		return psbtErr(ErrInvalidPSBT, i, "no such input")
	}
	p.p.Inputs[i].SighashType = t
	return nil
}

// SetLockTime sets the unsigned transaction's lock time. It fails once any input carries a
// signature, since signatures commit to it.
func (p *PSBT) SetLockTime(lt uint32) error {
	if err := p.constructed(); err != nil {
		return err
	}
	if p.hasSignatures() {
		return psbtErr(ErrInvalidPSBT, -1, "cannot change the lock time of a signed PSBT")
	}
	p.p.UnsignedTx.LockTime = lt
	return nil
}

func (p *PSBT) hasSignatures() bool {
	for _, in := range p.p.Inputs {
		if len(in.PartialSigs) > 0 || in.TaprootKeySpendSig != nil || len(in.TaprootScriptSpendSig) > 0 ||
			in.FinalScriptSig != nil || in.FinalScriptWitness != nil {
			return true
		}
	}
	return false
}

// IsComplete reports whether every input is finalized.
func (p *PSBT) IsComplete() bool { return p.constructed() == nil && p.p.IsComplete() }

// Combine merges the data of others into p (BIP-174 combiner). All must describe the same
// unsigned transaction; on error p is unchanged. Where two PSBTs hold different values for
// the same key, p's value wins. Unknown and proprietary fields are kept and ordered by key.
func (p *PSBT) Combine(others ...*PSBT) error {
	if err := p.constructed(); err != nil {
		return err
	}
	for n, o := range others {
		if o == nil {
			return psbtErr(ErrInvalidPSBT, -1, "psbt %d is nil", n)
		}
		if err := o.constructed(); err != nil {
			return err
		}
	}
	merged := p.Clone()
	want := p.p.UnsignedTx.TxHash()
	for n, o := range others {
		if o.p.UnsignedTx.TxHash() != want {
			return psbtErr(ErrPSBTMismatch, -1, "psbt %d has unsigned transaction %v, want %v", n, o.p.UnsignedTx.TxHash(), want)
		}
		m := merged.p
		m.XPubs = mergeXPubs(m.XPubs, o.p.XPubs)
		m.Unknowns = mergeUnknowns(m.Unknowns, o.p.Unknowns)
		for i := range m.Inputs {
			mergeInput(&m.Inputs[i], &o.p.Inputs[i])
		}
		for i := range m.Outputs {
			mergeOutput(&m.Outputs[i], &o.p.Outputs[i])
		}
	}
	// What one PSBT says about an input's UTXO must not contradict what another says.
	if err := merged.checkInputs(); err != nil {
		return err
	}
	p.p = merged.p
	return nil
}

func mergeXPubs(a, b []psbt.XPub) []psbt.XPub {
	return union(a, b, func(x, y psbt.XPub) bool { return bytes.Equal(x.ExtendedKey, y.ExtendedKey) }, nil)
}

func mergeUnknowns(a, b []*psbt.Unknown) []*psbt.Unknown {
	a = union(a, b, func(u, v *psbt.Unknown) bool { return bytes.Equal(u.Key, v.Key) },
		func(u *psbt.Unknown) *psbt.Unknown {
			return &psbt.Unknown{Key: bytes.Clone(u.Key), Value: bytes.Clone(u.Value)}
		})
	sort.SliceStable(a, func(i, j int) bool { return bytes.Compare(a[i].Key, a[j].Key) < 0 })
	return a
}

func mergeInput(a, b *psbt.PInput) {
	if a.NonWitnessUtxo == nil && b.NonWitnessUtxo != nil {
		a.NonWitnessUtxo = b.NonWitnessUtxo.Copy()
	}
	if a.WitnessUtxo == nil && b.WitnessUtxo != nil {
		a.WitnessUtxo = wire.NewTxOut(b.WitnessUtxo.Value, bytes.Clone(b.WitnessUtxo.PkScript))
	}
	a.PartialSigs = union(a.PartialSigs, b.PartialSigs, func(s, t *psbt.PartialSig) bool { return bytes.Equal(s.PubKey, t.PubKey) },
		func(s *psbt.PartialSig) *psbt.PartialSig {
			return &psbt.PartialSig{PubKey: bytes.Clone(s.PubKey), Signature: bytes.Clone(s.Signature)}
		})
	if a.SighashType == 0 {
		a.SighashType = b.SighashType
	}
	a.RedeemScript = firstBytes(a.RedeemScript, b.RedeemScript)
	a.WitnessScript = firstBytes(a.WitnessScript, b.WitnessScript)
	a.Bip32Derivation = union(a.Bip32Derivation, b.Bip32Derivation, func(d, e *psbt.Bip32Derivation) bool { return bytes.Equal(d.PubKey, e.PubKey) }, nil)
	a.FinalScriptSig = firstBytes(a.FinalScriptSig, b.FinalScriptSig)
	a.FinalScriptWitness = firstBytes(a.FinalScriptWitness, b.FinalScriptWitness)
	a.TaprootKeySpendSig = firstBytes(a.TaprootKeySpendSig, b.TaprootKeySpendSig)
	a.TaprootScriptSpendSig = union(a.TaprootScriptSpendSig, b.TaprootScriptSpendSig, func(s, t *psbt.TaprootScriptSpendSig) bool { return s.EqualKey(t) }, nil)
	a.TaprootLeafScript = union(a.TaprootLeafScript, b.TaprootLeafScript, func(l, m *psbt.TaprootTapLeafScript) bool { return bytes.Equal(l.ControlBlock, m.ControlBlock) }, nil)
	a.TaprootBip32Derivation = union(a.TaprootBip32Derivation, b.TaprootBip32Derivation, func(d, e *psbt.TaprootBip32Derivation) bool { return bytes.Equal(d.XOnlyPubKey, e.XOnlyPubKey) }, nil)
	a.TaprootInternalKey = firstBytes(a.TaprootInternalKey, b.TaprootInternalKey)
	a.TaprootMerkleRoot = firstBytes(a.TaprootMerkleRoot, b.TaprootMerkleRoot)
	a.Unknowns = mergeUnknowns(a.Unknowns, b.Unknowns)
}

func mergeOutput(a, b *psbt.POutput) {
	a.RedeemScript = firstBytes(a.RedeemScript, b.RedeemScript)
	a.WitnessScript = firstBytes(a.WitnessScript, b.WitnessScript)
	a.Bip32Derivation = union(a.Bip32Derivation, b.Bip32Derivation, func(d, e *psbt.Bip32Derivation) bool { return bytes.Equal(d.PubKey, e.PubKey) }, nil)
	a.TaprootInternalKey = firstBytes(a.TaprootInternalKey, b.TaprootInternalKey)
	a.TaprootTapTree = firstBytes(a.TaprootTapTree, b.TaprootTapTree)
	a.TaprootBip32Derivation = union(a.TaprootBip32Derivation, b.TaprootBip32Derivation, func(d, e *psbt.TaprootBip32Derivation) bool { return bytes.Equal(d.XOnlyPubKey, e.XOnlyPubKey) }, nil)
	a.Unknowns = mergeUnknowns(a.Unknowns, b.Unknowns)
}

// union appends to a every element of b that no element of a is the same as, cloned by clone
// when clone is not nil.
func union[E any](a, b []E, same func(x, y E) bool, clone func(E) E) []E {
	for _, x := range b {
		if slices.ContainsFunc(a, func(y E) bool { return same(x, y) }) {
			continue
		}
		if clone != nil {
			x = clone(x)
		}
		a = append(a, x)
	}
	return a
}

func firstBytes(a, b []byte) []byte {
	if a != nil {
		return a
	}
	return bytes.Clone(b)
}

// copyPacket returns a deep copy of p.
func copyPacket(p *psbt.Packet) *psbt.Packet {
	c := &psbt.Packet{
		UnsignedTx: p.UnsignedTx.Copy(),
		Inputs:     make([]psbt.PInput, len(p.Inputs)),
		Outputs:    make([]psbt.POutput, len(p.Outputs)),
		Unknowns:   copyUnknowns(p.Unknowns),
	}
	for _, x := range p.XPubs {
		x.ExtendedKey, x.Bip32Path = bytes.Clone(x.ExtendedKey), slices.Clone(x.Bip32Path)
		c.XPubs = append(c.XPubs, x)
	}
	for i := range p.Inputs {
		a, b := &p.Inputs[i], &c.Inputs[i]
		if a.NonWitnessUtxo != nil {
			b.NonWitnessUtxo = a.NonWitnessUtxo.Copy()
		}
		if a.WitnessUtxo != nil {
			b.WitnessUtxo = wire.NewTxOut(a.WitnessUtxo.Value, bytes.Clone(a.WitnessUtxo.PkScript))
		}
		for _, s := range a.PartialSigs {
			b.PartialSigs = append(b.PartialSigs, &psbt.PartialSig{PubKey: bytes.Clone(s.PubKey), Signature: bytes.Clone(s.Signature)})
		}
		b.SighashType = a.SighashType
		b.RedeemScript, b.WitnessScript = bytes.Clone(a.RedeemScript), bytes.Clone(a.WitnessScript)
		b.Bip32Derivation = copyDerivations(a.Bip32Derivation)
		b.FinalScriptSig, b.FinalScriptWitness = bytes.Clone(a.FinalScriptSig), bytes.Clone(a.FinalScriptWitness)
		b.TaprootKeySpendSig = bytes.Clone(a.TaprootKeySpendSig)
		for _, s := range a.TaprootScriptSpendSig {
			s2 := *s
			s2.XOnlyPubKey, s2.LeafHash, s2.Signature = bytes.Clone(s.XOnlyPubKey), bytes.Clone(s.LeafHash), bytes.Clone(s.Signature)
			b.TaprootScriptSpendSig = append(b.TaprootScriptSpendSig, &s2)
		}
		for _, l := range a.TaprootLeafScript {
			l2 := *l
			l2.ControlBlock, l2.Script = bytes.Clone(l.ControlBlock), bytes.Clone(l.Script)
			b.TaprootLeafScript = append(b.TaprootLeafScript, &l2)
		}
		b.TaprootBip32Derivation = copyTapDerivations(a.TaprootBip32Derivation)
		b.TaprootInternalKey, b.TaprootMerkleRoot = bytes.Clone(a.TaprootInternalKey), bytes.Clone(a.TaprootMerkleRoot)
		b.Unknowns = copyUnknowns(a.Unknowns)
	}
	for i := range p.Outputs {
		a, b := &p.Outputs[i], &c.Outputs[i]
		b.RedeemScript, b.WitnessScript = bytes.Clone(a.RedeemScript), bytes.Clone(a.WitnessScript)
		b.Bip32Derivation = copyDerivations(a.Bip32Derivation)
		b.TaprootInternalKey, b.TaprootTapTree = bytes.Clone(a.TaprootInternalKey), bytes.Clone(a.TaprootTapTree)
		b.TaprootBip32Derivation = copyTapDerivations(a.TaprootBip32Derivation)
		b.Unknowns = copyUnknowns(a.Unknowns)
	}
	return c
}

func copyUnknowns(us []*psbt.Unknown) []*psbt.Unknown {
	var out []*psbt.Unknown
	for _, u := range us {
		out = append(out, &psbt.Unknown{Key: bytes.Clone(u.Key), Value: bytes.Clone(u.Value)})
	}
	return out
}

func copyDerivations(ds []*psbt.Bip32Derivation) []*psbt.Bip32Derivation {
	var out []*psbt.Bip32Derivation
	for _, d := range ds {
		out = append(out, &psbt.Bip32Derivation{PubKey: bytes.Clone(d.PubKey), MasterKeyFingerprint: d.MasterKeyFingerprint, Bip32Path: slices.Clone(d.Bip32Path)})
	}
	return out
}

func copyTapDerivations(ds []*psbt.TaprootBip32Derivation) []*psbt.TaprootBip32Derivation {
	var out []*psbt.TaprootBip32Derivation
	for _, d := range ds {
		d2 := *d
		d2.XOnlyPubKey, d2.Bip32Path = bytes.Clone(d.XOnlyPubKey), slices.Clone(d.Bip32Path)
		d2.LeafHashes = nil
		for _, h := range d.LeafHashes {
			d2.LeafHashes = append(d2.LeafHashes, bytes.Clone(h))
		}
		out = append(out, &d2)
	}
	return out
}
