package bitcoin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/wire"
)

// A strict BIP-174 structural check run before btcd's psbt parser, which accepts some
// invalid encodings (for example a witness UTXO whose script is not the stated size,
// duplicate unknown keys, trailing bytes, or a witness-serialized unsigned transaction
// with trailing data). The check walks every key-value map, validates sizes of every key
// type the package understands and rejects duplicates, so that the btcd parser only ever
// sees well-formed input.

var psbtMagic = []byte{0x70, 0x73, 0x62, 0x74, 0xff}

type psbtKV struct {
	keyType uint64
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
		key, err := r.bytes(keyLen)
		if err != nil {
			return nil, err
		}
		kr := psbtReader{b: key}
		keyType, err := kr.compactSize()
		if err != nil {
			return nil, fmt.Errorf("key type: %w", err)
		}
		valLen, err := r.compactSize()
		if err != nil {
			return nil, err
		}
		val, err := r.bytes(valLen)
		if err != nil {
			return nil, err
		}
		if seen[string(key)] {
			return nil, fmt.Errorf("duplicate key %x", key)
		}
		seen[string(key)] = true
		kvs = append(kvs, psbtKV{keyType: keyType, keyData: key[kr.off:], value: val})
	}
}

type rawPSBT struct {
	global  []psbtKV
	inputs  [][]psbtKV
	outputs [][]psbtKV
	tx      *wire.MsgTx
}

// parsePSBTStrict validates raw as a BIP-174 (version 0) PSBT.
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
		if err := checkGlobalKV(kv); err != nil {
			return nil, psbtErr(ErrInvalidPSBT, -1, "global key type 0x%02x: %v", kv.keyType, err)
		}
		if kv.keyType == 0x00 {
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
		for _, kv := range m {
			if err := checkInputKV(kv); err != nil {
				return nil, psbtErr(ErrInvalidPSBT, i, "key type 0x%02x: %v", kv.keyType, err)
			}
		}
		out.inputs = append(out.inputs, m)
	}
	for i := range out.tx.TxOut {
		m, err := r.readMap()
		if err != nil {
			return nil, &PSBTError{Input: -1, Output: i, Reason: "output map: " + err.Error(), Err: ErrInvalidPSBT}
		}
		for _, kv := range m {
			if err := checkOutputKV(kv); err != nil {
				return nil, &PSBTError{Input: -1, Output: i, Reason: fmt.Sprintf("key type 0x%02x: %v", kv.keyType, err), Err: ErrInvalidPSBT}
			}
		}
		out.outputs = append(out.outputs, m)
	}
	if r.off != len(raw) {
		return nil, psbtErr(ErrInvalidPSBT, -1, "%d trailing bytes", len(raw)-r.off)
	}
	return out, nil
}

func noKeyData(kv psbtKV) error {
	if len(kv.keyData) != 0 {
		return errors.New("unexpected key data")
	}
	return nil
}

func validPubKeyBytes(b []byte) bool {
	return len(b) == 33 && (b[0] == 2 || b[0] == 3) || len(b) == 65 && b[0] == 4
}

func checkDerivationValue(v []byte) error {
	if len(v) < 4 || len(v)%4 != 0 {
		return fmt.Errorf("derivation value is %d bytes", len(v))
	}
	return nil
}

func checkGlobalKV(kv psbtKV) error {
	switch kv.keyType {
	case 0x00: // unsigned tx
		return noKeyData(kv)
	case 0x01: // xpub
		if len(kv.keyData) != 78 {
			return fmt.Errorf("xpub key data is %d bytes, want 78", len(kv.keyData))
		}
		return checkDerivationValue(kv.value)
	case 0x02, 0x03, 0x04, 0x05, 0x06: // BIP-370 fields
		return errors.New("PSBT version 2 fields are not supported (BIP-370)")
	case 0xfb: // version
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
	return nil
}

func checkInputKV(kv psbtKV) error {
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
	case 0x01: // witness utxo
		if err := noKeyData(kv); err != nil {
			return err
		}
		if _, err := parseTxOut(kv.value); err != nil {
			return err
		}
	case 0x02: // partial signature
		if !validPubKeyBytes(kv.keyData) {
			return errors.New("partial signature key is not a public key")
		}
		if len(kv.value) < 9 || len(kv.value) > 73 {
			return errors.New("partial signature has a bad length")
		}
	case 0x03: // sighash type
		if err := noKeyData(kv); err != nil {
			return err
		}
		if len(kv.value) != 4 {
			return errors.New("sighash type is not 4 bytes")
		}
	case 0x04, 0x05, 0x07: // redeem script, witness script, final scriptSig
		return noKeyData(kv)
	case 0x06: // bip32 derivation
		if !validPubKeyBytes(kv.keyData) {
			return errors.New("derivation key is not a public key")
		}
		return checkDerivationValue(kv.value)
	case 0x08: // final script witness
		if err := noKeyData(kv); err != nil {
			return err
		}
		if _, err := parseWitness(kv.value); err != nil {
			return err
		}
	case 0x13: // taproot key spend sig
		if err := noKeyData(kv); err != nil {
			return err
		}
		if len(kv.value) != 64 && len(kv.value) != 65 {
			return errors.New("taproot key signature is not 64 or 65 bytes")
		}
	case 0x14: // taproot script spend sig
		if len(kv.keyData) != 64 {
			return errors.New("taproot script signature key is not 64 bytes")
		}
		if len(kv.value) != 64 && len(kv.value) != 65 {
			return errors.New("taproot script signature is not 64 or 65 bytes")
		}
	case 0x15: // taproot leaf script
		if n := len(kv.keyData); n < 33 || (n-33)%32 != 0 || n > 33+32*128 {
			return errors.New("control block has a bad length")
		}
		if len(kv.value) < 1 {
			return errors.New("empty leaf script")
		}
	case 0x16: // taproot bip32 derivation
		if len(kv.keyData) != 32 {
			return errors.New("taproot derivation key is not 32 bytes")
		}
		return checkTapDerivation(kv.value)
	case 0x17, 0x18: // taproot internal key, merkle root
		if err := noKeyData(kv); err != nil {
			return err
		}
		if len(kv.value) != 32 {
			return errors.New("value is not 32 bytes")
		}
	}
	return nil
}

func checkOutputKV(kv psbtKV) error {
	switch kv.keyType {
	case 0x00, 0x01: // redeem script, witness script
		return noKeyData(kv)
	case 0x02: // bip32 derivation
		if !validPubKeyBytes(kv.keyData) {
			return errors.New("derivation key is not a public key")
		}
		return checkDerivationValue(kv.value)
	case 0x05: // taproot internal key
		if err := noKeyData(kv); err != nil {
			return err
		}
		if len(kv.value) != 32 {
			return errors.New("value is not 32 bytes")
		}
	case 0x06: // taproot tree
		return noKeyData(kv)
	case 0x07: // taproot bip32 derivation
		if len(kv.keyData) != 32 {
			return errors.New("taproot derivation key is not 32 bytes")
		}
		return checkTapDerivation(kv.value)
	}
	return nil
}

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
