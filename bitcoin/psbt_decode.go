package bitcoin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// The one PSBT reader. ParsePSBT reads the bytes once, here, and builds the packet every
// other method works on (signing, finalizing, fees, message verification) from exactly what
// it read: there is no second parser whose reading could differ. btcd's psbt package is used
// only for its packet type, its serializer and its value decoders (derivations, xpubs).
//
// It is strict where BIP-174 is, and where readers are known to disagree it refuses instead
// of picking one reading: duplicate keys, trailing bytes, key types that do not fit in one
// byte (btcd keeps only the low byte and writes it back as another, known, type), witness
// UTXO scripts with a multi-byte length (btcd assumes a one-byte length), signatures that are
// not strict DER (BIP-66) or not valid BIP-340 encodings, values out of range.

var psbtMagic = []byte{0x70, 0x73, 0x62, 0x74, 0xff}

type psbtKV struct {
	keyType uint64
	key     []byte // the whole key: type and data
	keyData []byte
	value   []byte
}

type psbtReader struct {
	b   []byte
	off int
}

var errShort = errors.New("unexpected end of data")

func (r *psbtReader) compactSize() (uint64, error) {
	if r.off >= len(r.b) {
		return 0, errShort
	}
	first := r.b[r.off]
	r.off++
	var n int
	switch first {
	case 0xfd:
		n = 2
	case 0xfe:
		n = 4
	case 0xff:
		n = 8
	default:
		return uint64(first), nil
	}
	if r.off+n > len(r.b) {
		return 0, errShort
	}
	var v uint64
	switch n {
	case 2:
		v = uint64(binary.LittleEndian.Uint16(r.b[r.off:]))
		if v < 0xfd {
			return 0, errors.New("non-canonical compact size")
		}
	case 4:
		v = uint64(binary.LittleEndian.Uint32(r.b[r.off:]))
		if v <= 0xffff {
			return 0, errors.New("non-canonical compact size")
		}
	case 8:
		v = binary.LittleEndian.Uint64(r.b[r.off:])
		if v <= 0xffffffff {
			return 0, errors.New("non-canonical compact size")
		}
	}
	r.off += n
	return v, nil
}

func (r *psbtReader) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)-r.off) {
		return nil, errShort
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

// readMap reads one key-value map up to its 0x00 separator, rejecting duplicate keys.
func (r *psbtReader) readMap() ([]psbtKV, error) {
	var kvs []psbtKV
	seen := map[string]bool{}
	for {
		keyLen, err := r.compactSize()
		if err != nil {
			return nil, err
		}
		if keyLen == 0 {
			return kvs, nil
		}
		if keyLen > psbt.MaxPsbtKeyLength {
			return nil, fmt.Errorf("key of %d bytes", keyLen)
		}
		key, err := r.bytes(keyLen)
		if err != nil {
			return nil, err
		}
		kr := psbtReader{b: key}
		keyType, err := kr.compactSize()
		if err != nil {
			return nil, fmt.Errorf("key type: %w", err)
		}
		if keyType >= 0xfd {
			// Valid compact sizes, but no such type exists, and readers disagree on them.
			return nil, fmt.Errorf("key type 0x%x does not fit in one byte", keyType)
		}
		valLen, err := r.compactSize()
		if err != nil {
			return nil, err
		}
		if valLen > psbt.MaxPsbtValueLength {
			return nil, fmt.Errorf("value of %d bytes", valLen)
		}
		val, err := r.bytes(valLen)
		if err != nil {
			return nil, err
		}
		if seen[string(key)] {
			return nil, fmt.Errorf("duplicate key %x", key)
		}
		seen[string(key)] = true
		kvs = append(kvs, psbtKV{keyType: keyType, key: key, keyData: key[kr.off:], value: val})
	}
}

type rawPSBT struct {
	global  []psbtKV
	inputs  [][]psbtKV
	outputs [][]psbtKV
	tx      *wire.MsgTx
}

// parsePSBTStrict reads raw as a BIP-174 (version 0) PSBT: its key-value maps and its
// unsigned transaction. decodePSBT turns the maps into a packet.
func parsePSBTStrict(raw []byte) (*rawPSBT, error) {
	if !bytes.HasPrefix(raw, psbtMagic) {
		return nil, psbtErr(ErrInvalidPSBT, -1, "missing magic bytes")
	}
	r := &psbtReader{b: raw, off: len(psbtMagic)}
	out := &rawPSBT{}
	var err error
	if out.global, err = r.readMap(); err != nil {
		return nil, psbtErr(ErrInvalidPSBT, -1, "global map: %v", err)
	}
	for _, kv := range out.global {
		if kv.keyType == 0x00 {
			if err := noKeyData(kv); err != nil {
				return nil, psbtErr(ErrInvalidPSBT, -1, "unsigned transaction: %v", err)
			}
			tx := new(wire.MsgTx)
			br := bytes.NewReader(kv.value)
			if err := tx.DeserializeNoWitness(br); err != nil || br.Len() != 0 {
				return nil, psbtErr(ErrInvalidPSBT, -1, "unsigned transaction is not a non-witness serialization")
			}
			for _, in := range tx.TxIn {
				if len(in.SignatureScript) != 0 {
					return nil, psbtErr(ErrInvalidPSBT, -1, "unsigned transaction has a scriptSig")
				}
			}
			out.tx = tx
		}
	}
	if out.tx == nil {
		return nil, psbtErr(ErrInvalidPSBT, -1, "no unsigned transaction")
	}
	for i := range out.tx.TxIn {
		m, err := r.readMap()
		if err != nil {
			return nil, psbtErr(ErrInvalidPSBT, i, "input map: %v", err)
		}
		out.inputs = append(out.inputs, m)
	}
	for i := range out.tx.TxOut {
		m, err := r.readMap()
		if err != nil {
			return nil, &PSBTError{Input: -1, Output: i, Reason: "output map: " + err.Error(), Err: ErrInvalidPSBT}
		}
		out.outputs = append(out.outputs, m)
	}
	if r.off != len(raw) {
		return nil, psbtErr(ErrInvalidPSBT, -1, "%d trailing bytes", len(raw)-r.off)
	}
	return out, nil
}

// decodePSBT reads raw (see parsePSBTStrict) and builds the packet from the pairs it read,
// checking each value as it converts it.
func decodePSBT(raw []byte) (*psbt.Packet, error) {
	r, err := parsePSBTStrict(raw)
	if err != nil {
		return nil, err
	}
	p := &psbt.Packet{
		UnsignedTx: r.tx,
		Inputs:     make([]psbt.PInput, len(r.tx.TxIn)),
		Outputs:    make([]psbt.POutput, len(r.tx.TxOut)),
	}
	for _, kv := range r.global {
		if err := globalKV(p, kv); err != nil {
			return nil, kvErr(-1, -1, kv, err)
		}
	}
	for i, m := range r.inputs {
		for _, kv := range m {
			if err := inputKV(&p.Inputs[i], kv); err != nil {
				return nil, kvErr(i, -1, kv, err)
			}
		}
	}
	for i, m := range r.outputs {
		for _, kv := range m {
			if err := outputKV(&p.Outputs[i], kv); err != nil {
				return nil, kvErr(-1, i, kv, err)
			}
		}
	}
	return p, nil
}

// kvErr locates a refused pair; an *AmountError stays reachable with errors.As.
func kvErr(input, output int, kv psbtKV, err error) *PSBTError {
	pe := &PSBTError{Input: input, Output: output, Reason: fmt.Sprintf("key type 0x%02x: %v", kv.keyType, err), Err: ErrInvalidPSBT}
	if input < 0 && output < 0 {
		pe.Reason = "global " + pe.Reason
	}
	var ae *AmountError
	if errors.As(err, &ae) {
		pe.Reason, pe.Err = fmt.Sprintf("key type 0x%02x", kv.keyType), ae
	}
	return pe
}

func noKeyData(kv psbtKV) error {
	if len(kv.keyData) != 0 {
		return errors.New("unexpected key data")
	}
	return nil
}

// unknown keeps a pair the package does not interpret, byte for byte.
func unknown(kv psbtKV) *psbt.Unknown {
	return &psbt.Unknown{Key: bytes.Clone(kv.key), Value: bytes.Clone(kv.value)}
}

func validPubKeyBytes(b []byte) bool {
	if !(len(b) == 33 && (b[0] == 2 || b[0] == 3) || len(b) == 65 && b[0] == 4) {
		return false
	}
	_, err := btcec.ParsePubKey(b)
	return err == nil
}

func validXOnly(b []byte) bool {
	_, err := schnorr.ParsePubKey(b)
	return len(b) == 32 && err == nil
}

func checkDerivationValue(v []byte) error {
	if len(v) < 4 || len(v)%4 != 0 {
		return fmt.Errorf("derivation value is %d bytes", len(v))
	}
	return nil
}

func derivation(kv psbtKV) (*psbt.Bip32Derivation, error) {
	if !validPubKeyBytes(kv.keyData) {
		return nil, errors.New("derivation key is not a public key")
	}
	if err := checkDerivationValue(kv.value); err != nil {
		return nil, err
	}
	fp, path, err := psbt.ReadBip32Derivation(kv.value)
	if err != nil {
		return nil, err
	}
	return &psbt.Bip32Derivation{PubKey: bytes.Clone(kv.keyData), MasterKeyFingerprint: fp, Bip32Path: path}, nil
}

func tapDerivation(kv psbtKV) (*psbt.TaprootBip32Derivation, error) {
	if !validXOnly(kv.keyData) {
		return nil, errors.New("taproot derivation key is not an x-only public key")
	}
	if err := checkTapDerivation(kv.value); err != nil {
		return nil, err
	}
	return psbt.ReadTaprootBip32Derivation(bytes.Clone(kv.keyData), bytes.Clone(kv.value))
}

func globalKV(p *psbt.Packet, kv psbtKV) error {
	switch kv.keyType {
	case 0x00: // unsigned tx, read by parsePSBTStrict
		return nil
	case 0x01: // xpub
		if len(kv.keyData) != 78 {
			return fmt.Errorf("xpub key data is %d bytes, want 78", len(kv.keyData))
		}
		if err := checkDerivationValue(kv.value); err != nil {
			return err
		}
		x, err := psbt.ReadXPub(bytes.Clone(kv.keyData), kv.value)
		if err != nil {
			return fmt.Errorf("xpub: %v", err)
		}
		p.XPubs = append(p.XPubs, *x)
		return nil
	case 0x02, 0x03, 0x04, 0x05, 0x06: // BIP-370 fields
		return errors.New("PSBT version 2 fields are not supported (BIP-370)")
	case 0xfb: // version: kept as an unknown pair, as btcd's packet has no field for it
		if err := noKeyData(kv); err != nil {
			return err
		}
		if len(kv.value) != 4 {
			return errors.New("version is not 4 bytes")
		}
		if v := binary.LittleEndian.Uint32(kv.value); v != 0 {
			return fmt.Errorf("PSBT version %d is not supported", v)
		}
	}
	p.Unknowns = append(p.Unknowns, unknown(kv))
	return nil
}

func inputKV(in *psbt.PInput, kv psbtKV) error {
	switch kv.keyType {
	case 0x00: // non-witness utxo
		if err := noKeyData(kv); err != nil {
			return err
		}
		tx := new(wire.MsgTx)
		br := bytes.NewReader(kv.value)
		if err := tx.Deserialize(br); err != nil || br.Len() != 0 {
			return errors.New("non-witness utxo is not a transaction")
		}
		if err := checkOutputs(tx.TxOut, ErrInvalidPSBT); err != nil {
			return fmt.Errorf("non-witness utxo: %w", err)
		}
		in.NonWitnessUtxo = tx
	case 0x01: // witness utxo
		if err := noKeyData(kv); err != nil {
			return err
		}
		o, err := parseTxOut(kv.value)
		if err != nil {
			return err
		}
		if err := (&amountSum{}).add("witness utxo", -1, o.Value, ErrInvalidPSBT); err != nil {
			return err
		}
		in.WitnessUtxo = o
	case 0x02: // partial signature
		if !validPubKeyBytes(kv.keyData) {
			return errors.New("partial signature key is not a public key")
		}
		if !isStrictDERWithHashType(kv.value) {
			return errors.New("partial signature is not strict DER (BIP-66) with a sighash byte")
		}
		in.PartialSigs = append(in.PartialSigs, &psbt.PartialSig{PubKey: bytes.Clone(kv.keyData), Signature: bytes.Clone(kv.value)})
	case 0x03: // sighash type
		if err := noKeyData(kv); err != nil {
			return err
		}
		if len(kv.value) != 4 {
			return errors.New("sighash type is not 4 bytes")
		}
		in.SighashType = txscript.SigHashType(binary.LittleEndian.Uint32(kv.value))
	case 0x04, 0x05, 0x07: // redeem script, witness script, final scriptSig
		if err := noKeyData(kv); err != nil {
			return err
		}
		v := append([]byte{}, kv.value...) // present, even when empty
		switch kv.keyType {
		case 0x04:
			in.RedeemScript = v
		case 0x05:
			in.WitnessScript = v
		default:
			in.FinalScriptSig = v
		}
	case 0x06: // bip32 derivation
		d, err := derivation(kv)
		if err != nil {
			return err
		}
		in.Bip32Derivation = append(in.Bip32Derivation, d)
	case 0x08: // final script witness
		if err := noKeyData(kv); err != nil {
			return err
		}
		if _, err := parseWitness(kv.value); err != nil {
			return err
		}
		in.FinalScriptWitness = append([]byte{}, kv.value...)
	case 0x13: // taproot key spend sig
		if err := noKeyData(kv); err != nil {
			return err
		}
		if err := checkSchnorrSig(kv.value); err != nil {
			return err
		}
		in.TaprootKeySpendSig = bytes.Clone(kv.value)
	case 0x14: // taproot script spend sig
		if len(kv.keyData) != 64 || !validXOnly(kv.keyData[:32]) {
			return errors.New("taproot script signature key is not an x-only key and a leaf hash")
		}
		if err := checkSchnorrSig(kv.value); err != nil {
			return err
		}
		sig := &psbt.TaprootScriptSpendSig{
			XOnlyPubKey: bytes.Clone(kv.keyData[:32]), LeafHash: bytes.Clone(kv.keyData[32:]),
			Signature: bytes.Clone(kv.value[:64]), SigHash: txscript.SigHashDefault,
		}
		if len(kv.value) == 65 {
			sig.SigHash = txscript.SigHashType(kv.value[64])
		}
		in.TaprootScriptSpendSig = append(in.TaprootScriptSpendSig, sig)
	case 0x15: // taproot leaf script
		if n := len(kv.keyData); n < 33 || (n-33)%32 != 0 || n > 33+32*128 {
			return errors.New("control block has a bad length")
		}
		if _, err := txscript.ParseControlBlock(kv.keyData); err != nil {
			return fmt.Errorf("control block: %v", err)
		}
		if len(kv.value) < 1 {
			return errors.New("empty leaf script")
		}
		in.TaprootLeafScript = append(in.TaprootLeafScript, &psbt.TaprootTapLeafScript{
			ControlBlock: bytes.Clone(kv.keyData),
			Script:       bytes.Clone(kv.value[:len(kv.value)-1]),
			LeafVersion:  txscript.TapscriptLeafVersion(kv.value[len(kv.value)-1]),
		})
	case 0x16: // taproot bip32 derivation
		d, err := tapDerivation(kv)
		if err != nil {
			return err
		}
		in.TaprootBip32Derivation = append(in.TaprootBip32Derivation, d)
	case 0x17: // taproot internal key
		if err := noKeyData(kv); err != nil {
			return err
		}
		if !validXOnly(kv.value) {
			return errors.New("internal key is not an x-only public key")
		}
		in.TaprootInternalKey = bytes.Clone(kv.value)
	case 0x18: // taproot merkle root
		if err := noKeyData(kv); err != nil {
			return err
		}
		if len(kv.value) != 32 {
			return errors.New("value is not 32 bytes")
		}
		in.TaprootMerkleRoot = bytes.Clone(kv.value)
	default:
		in.Unknowns = append(in.Unknowns, unknown(kv))
	}
	return nil
}

func outputKV(out *psbt.POutput, kv psbtKV) error {
	switch kv.keyType {
	case 0x00, 0x01: // redeem script, witness script
		if err := noKeyData(kv); err != nil {
			return err
		}
		if kv.keyType == 0 {
			out.RedeemScript = append([]byte{}, kv.value...)
		} else {
			out.WitnessScript = append([]byte{}, kv.value...)
		}
	case 0x02: // bip32 derivation
		d, err := derivation(kv)
		if err != nil {
			return err
		}
		out.Bip32Derivation = append(out.Bip32Derivation, d)
	case 0x05: // taproot internal key
		if err := noKeyData(kv); err != nil {
			return err
		}
		if !validXOnly(kv.value) {
			return errors.New("internal key is not an x-only public key")
		}
		out.TaprootInternalKey = bytes.Clone(kv.value)
	case 0x06: // taproot tree
		if err := noKeyData(kv); err != nil {
			return err
		}
		out.TaprootTapTree = append([]byte{}, kv.value...)
	case 0x07: // taproot bip32 derivation
		d, err := tapDerivation(kv)
		if err != nil {
			return err
		}
		out.TaprootBip32Derivation = append(out.TaprootBip32Derivation, d)
	default:
		out.Unknowns = append(out.Unknowns, unknown(kv))
	}
	return nil
}

// checkSchnorrSig accepts a BIP-340 signature, optionally followed by a sighash byte that
// BIP-341 allows in that position (not 0x00, which must be left out).
func checkSchnorrSig(v []byte) error {
	switch len(v) {
	case 64:
	case 65:
		switch txscript.SigHashType(v[64]) {
		case txscript.SigHashAll, txscript.SigHashNone, txscript.SigHashSingle,
			txscript.SigHashAll | txscript.SigHashAnyOneCanPay, txscript.SigHashNone | txscript.SigHashAnyOneCanPay,
			txscript.SigHashSingle | txscript.SigHashAnyOneCanPay:
		default:
			return fmt.Errorf("taproot signature with sighash byte 0x%02x (BIP-341 refuses it)", v[64])
		}
	default:
		return errors.New("taproot signature is not 64 or 65 bytes")
	}
	if _, err := schnorr.ParseSignature(v[:64]); err != nil {
		return fmt.Errorf("taproot signature: %v", err)
	}
	return nil
}

// isStrictDERWithHashType reports whether sig is an ECDSA signature in the strict DER
// encoding BIP-66 makes a consensus rule, followed by a sighash byte, with r and s in range.
func isStrictDERWithHashType(sig []byte) bool {
	// 0x30 len 0x02 lenR R 0x02 lenS S hashtype
	n := len(sig)
	if n < 9 || n > 73 || sig[0] != 0x30 || int(sig[1]) != n-3 {
		return false
	}
	lenR := int(sig[3])
	if 5+lenR >= n {
		return false
	}
	lenS := int(sig[5+lenR])
	if lenR+lenS+7 != n {
		return false
	}
	if sig[2] != 0x02 || lenR == 0 || sig[4]&0x80 != 0 || lenR > 1 && sig[4] == 0 && sig[5]&0x80 == 0 {
		return false
	}
	if sig[lenR+4] != 0x02 || lenS == 0 || sig[lenR+6]&0x80 != 0 || lenS > 1 && sig[lenR+6] == 0 && sig[lenR+7]&0x80 == 0 {
		return false
	}
	_, err := ecdsa.ParseDERSignature(sig[:n-1])
	return err == nil
}

// parseTxOut parses a serialized transaction output, requiring every byte to be used.
func parseTxOut(b []byte) (*wire.TxOut, error) {
	if len(b) < 9 {
		return nil, errors.New("witness utxo is too short")
	}
	r := &psbtReader{b: b, off: 8}
	n, err := r.compactSize()
	if err != nil {
		return nil, fmt.Errorf("witness utxo script length: %w", err)
	}
	if n >= 0xfd {
		// No segwit output script is this long, and btcd's reader takes the length byte
		// for part of the script: the two would read different outputs.
		return nil, fmt.Errorf("witness utxo script of %d bytes cannot be a segwit output", n)
	}
	script, err := r.bytes(n)
	if err != nil || r.off != len(b) {
		return nil, errors.New("witness utxo script is not the stated size")
	}
	return wire.NewTxOut(int64(binary.LittleEndian.Uint64(b)), bytes.Clone(script)), nil
}

// parseWitness parses a serialized witness stack, requiring every byte to be used.
func parseWitness(b []byte) (wire.TxWitness, error) {
	r := &psbtReader{b: b}
	n, err := r.compactSize()
	if err != nil {
		return nil, fmt.Errorf("witness item count: %w", err)
	}
	if n > uint64(len(b)) {
		return nil, errors.New("witness item count exceeds data")
	}
	wit := make(wire.TxWitness, 0, n)
	for i := uint64(0); i < n; i++ {
		l, err := r.compactSize()
		if err != nil {
			return nil, fmt.Errorf("witness item %d: %w", i, err)
		}
		item, err := r.bytes(l)
		if err != nil {
			return nil, fmt.Errorf("witness item %d: %w", i, err)
		}
		wit = append(wit, bytes.Clone(item))
	}
	if r.off != len(b) {
		return nil, fmt.Errorf("%d bytes after the witness", len(b)-r.off)
	}
	return wit, nil
}

// checkTapDerivation checks a BIP-371 taproot derivation: leaf hash count, hashes,
// fingerprint and path.
func checkTapDerivation(v []byte) error {
	r := &psbtReader{b: v}
	n, err := r.compactSize()
	if err != nil || n > uint64(len(v))/32 {
		return errors.New("bad leaf hash count")
	}
	if _, err := r.bytes(32 * n); err != nil {
		return err
	}
	return checkDerivationValue(v[r.off:])
}
