package bitcoin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// Differential fuzz targets: signed or signable bytes read by two readers must be read the
// same way, or refused.

// FuzzPSBTReadersAgree holds the package's PSBT reader to btcd's: whatever ParsePSBT accepts
// re-encodes to bytes that btcd's reader — what most other Bitcoin tools in Go use — reads
// as the same packet, and that ParsePSBT reads back unchanged; and whenever both readers
// accept the input itself, they agree on every field. So the transaction and UTXOs a signer
// of this package approves are the ones any other reader of the PSBT sees.
func FuzzPSBTReadersAgree(f *testing.F) {
	var v bip174Vectors
	readVector(f, "bip-0174_test-vectors.extracted.json", &v)
	for _, c := range append(v.Invalid, v.Valid...) {
		b, _ := hex.DecodeString(c.Hex)
		f.Add(b)
	}
	for _, c := range v.WorkflowSteps {
		b, _ := hex.DecodeString(c.Hex)
		f.Add(b)
	}
	// The attack table's PSBTs: a multi-byte key type, a long witness UTXO script.
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: chainhash.Hash{1}}, nil, nil))
	tx.AddTxOut(wire.NewTxOut(1000, []byte{0x51}))
	var utx, out bytes.Buffer
	_ = tx.SerializeNoWitness(&utx)
	_ = wire.WriteTxOut(&out, 0, 0, wire.NewTxOut(5000, bytes.Repeat([]byte{0x51}, 300)))
	for _, in := range [][]byte{
		append([]byte{0x03, 0xfd, 0x01, 0x01, 0x0a}, make([]byte, 10)...),
		append(append([]byte{0x01, 0x01}, compact(out.Len())...), out.Bytes()...),
	} {
		var b bytes.Buffer
		b.WriteString("psbt\xff\x01\x00")
		b.Write(compact(utx.Len()))
		b.Write(utx.Bytes())
		b.WriteByte(0)
		b.Write(in)
		b.Write([]byte{0, 0})
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !bytes.HasPrefix(raw, psbtMagic) {
			return // base64 is decoded first; the readers compare on binary
		}
		ours, err := ParsePSBT(raw)
		theirs, theirErr := btcdRead(raw)
		if err != nil {
			var pe *PSBTError
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidPSBT) {
				t.Fatalf("refusal %v is not a *PSBTError matching ErrInvalidPSBT", err)
			}
			return
		}
		enc := ours.Bytes()
		again, err := ParsePSBT(enc)
		if err != nil || !bytes.Equal(again.Bytes(), enc) {
			t.Fatalf("our encoding does not read back the same: %v", err)
		}
		reread, err := btcdRead(enc)
		if err != nil {
			t.Fatalf("btcd cannot read what we accepted and wrote: %v\n%x", err, enc)
		}
		if got := btcdBytes(t, reread); !bytes.Equal(got, enc) {
			t.Fatalf("btcd reads our encoding differently:\n ours %x\nbtcd %x", enc, got)
		}
		if theirErr == nil {
			if got := btcdBytes(t, theirs); !bytes.Equal(got, enc) {
				t.Fatalf("the readers disagree on the input:\n ours %x\nbtcd %x", enc, got)
			}
		}
	})
}

func compact(n int) []byte {
	var b bytes.Buffer
	_ = wire.WriteVarInt(&b, 0, uint64(n))
	return b.Bytes()
}

// btcdRead is btcd's PSBT reader, which panics on some inputs.
func btcdRead(raw []byte) (p *psbt.Packet, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, errors.New("btcd panicked")
		}
	}()
	return psbt.NewFromRawBytes(bytes.NewReader(raw), false)
}

func btcdBytes(t *testing.T, p *psbt.Packet) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := p.Serialize(&b); err != nil {
		t.Fatalf("btcd cannot encode its own reading: %v", err)
	}
	return b.Bytes()
}

// FuzzMessageAuthority checks that a message signature is Valid only for the identity whose
// key verified it, recomputed independently of VerifyMessage: for BIP-322 formats, input 0 of
// to_sign spends this address's to_spend and its script — the address's own output script,
// not anything the signature claims — accepts the witness; for legacy signatures, the key
// recovered from the signature has this address.
func FuzzMessageAuthority(f *testing.F) {
	const msg = "fuzz: authority"
	key := testKey(f, 61)
	addrs := messageFuzzAddresses(f, key)
	coinTx := wire.NewMsgTx(2)
	coinTx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: chainhash.Hash{9}}, nil, nil))
	coinTx.AddTxOut(wire.NewTxOut(50_000, addrs[0].PkScript()))
	coin := Coin{OutPoint: wire.OutPoint{Hash: coinTx.TxHash()}, Value: 50_000, PkScript: addrs[0].PkScript(), PrevTx: coinTx}
	for i, a := range addrs {
		formats := []MessageFormat{FormatUnknown, FormatFull}
		if a.Type() == P2PKH {
			formats = append(formats, FormatLegacy)
		}
		for _, fm := range formats {
			if sig, err := SignMessage(key, a, msg, WithFormat(fm)); err == nil {
				f.Add(uint8(i), sig)
			}
		}
		if sig, err := SignMessage(key, a, msg, WithProofOfFunds(coin)); err == nil {
			f.Add(uint8(i), sig)
		}
		if a.Type() != P2TR {
			if sig, err := SignMessageLegacy(key, a, msg); err == nil {
				f.Add(uint8(i), sig)
			}
		}
	}
	f.Add(uint8(0), forgedProof(f, addrs[0], msg, testKey(f, 62)))
	f.Fuzz(func(t *testing.T, which uint8, sig string) {
		addr := addrs[int(which)%len(addrs)]
		v, err := VerifyMessage(context.Background(), addr, msg, sig)
		if err != nil || v.Result != Valid {
			return
		}
		if v.Format == FormatLegacy {
			if !legacyKeyHasAddress(msg, sig, addr) {
				t.Fatalf("legacy signature Valid for %s, but its key has another address", addr)
			}
			return
		}
		toSpend := buildToSpend(addr.PkScript(), msg)
		toSign, claims := messageToSign(t, toSpend, v.Format, sig)
		want := wire.OutPoint{Hash: toSpend.TxHash(), Index: 0}
		if toSign.TxIn[0].PreviousOutPoint != want {
			t.Fatalf("Valid for %s, but to_sign spends %v, not its to_spend", addr, toSign.TxIn[0].PreviousOutPoint)
		}
		claims[want] = toSpend.TxOut[0] // the authority: this address's script
		fetcher := txscript.NewMultiPrevOutFetcher(claims)
		vm, err := txscript.NewEngine(addr.PkScript(), toSign, 0, requiredFlags, nil,
			txscript.NewTxSigHashes(toSign, fetcher), 0, fetcher)
		if err == nil {
			err = vm.Execute()
		}
		if err != nil {
			t.Fatalf("Valid for %s, but input 0 does not verify against its script: %v", addr, err)
		}
	})
}

// forgedProof is the attack of the table's "bip322-pof/second-input-claims-the-challenge-output"
// row: a proof of funds for addr whose second input spends to_spend:0 again, claiming that
// output pays key's P2WPKH script, signed by key.
func forgedProof(tb testing.TB, addr Address, msg string, key *btcec.PrivateKey) string {
	own := must(NewP2WPKH(key.PubKey(), addr.Network())).PkScript()
	toSpend := buildToSpend(addr.PkScript(), msg)
	toSign := buildToSign(toSpend)
	in := wire.NewTxIn(&toSign.TxIn[0].PreviousOutPoint, nil, nil)
	in.Sequence = 0
	toSign.AddTxIn(in)
	claim := wire.NewTxOut(0, own)
	fetcher := txscript.NewCannedPrevOutputFetcher(own, 0)
	hashes := txscript.NewTxSigHashes(toSign, fetcher)
	var b bytes.Buffer
	b.WriteString("psbt\xff\x01\x00")
	var utx bytes.Buffer
	_ = toSign.SerializeNoWitness(&utx)
	b.Write(compact(utx.Len()))
	b.Write(utx.Bytes())
	b.WriteByte(0)
	for i := range toSign.TxIn {
		w, err := txscript.WitnessSignature(toSign, hashes, i, 0, own, txscript.SigHashAll, key, true)
		if err != nil {
			tb.Fatal(err)
		}
		var u, wb bytes.Buffer
		_ = wire.WriteTxOut(&u, 0, 0, claim)
		_ = psbt.WriteTxWitness(&wb, w)
		for _, kv := range [][2][]byte{{{1}, u.Bytes()}, {{8}, wb.Bytes()}} {
			_ = wire.WriteVarBytes(&b, 0, kv[0])
			_ = wire.WriteVarBytes(&b, 0, kv[1])
		}
		b.WriteByte(0)
	}
	b.WriteByte(0)
	return "pof" + base64.StdEncoding.EncodeToString(b.Bytes())
}

func messageFuzzAddresses(tb testing.TB, key *btcec.PrivateKey) []Address {
	pub := key.PubKey()
	other := testKey(tb, 62).PubKey()
	return []Address{
		must(NewP2WPKH(pub, Mainnet)), must(NewP2TR(pub, nil, Mainnet)), must(NewP2PKH(pub, Mainnet)),
		must(NewP2SHP2WPKH(pub, Mainnet)), must(NewP2WPKH(other, Mainnet)), must(NewP2PKH(other, Mainnet)),
	}
}

// messageToSign decodes a Valid BIP-322 signature's to_sign transaction and the outputs it
// claims its inputs after the first spend.
func messageToSign(t *testing.T, toSpend *wire.MsgTx, format MessageFormat, sig string) (*wire.MsgTx, map[wire.OutPoint]*wire.TxOut) {
	t.Helper()
	body := sig
	if len(sig) >= 3 && (sig[:3] == "smp" || sig[:3] == "ful" || sig[:3] == "pof") {
		body = sig[3:]
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		t.Fatalf("a Valid signature does not decode: %v", err)
	}
	claims := map[wire.OutPoint]*wire.TxOut{}
	switch format {
	case FormatSimple:
		w, err := parseWitness(raw)
		if err != nil {
			t.Fatal(err)
		}
		toSign := buildToSign(toSpend)
		toSign.TxIn[0].Witness = w
		return toSign, claims
	case FormatProofOfFunds:
		p, err := ParsePSBT(raw)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := psbtFinalTx(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(tx.TxIn); i++ {
			if o, ok := p.prevOut(i); ok {
				claims[tx.TxIn[i].PreviousOutPoint] = o
			}
		}
		return tx, claims
	}
	tx, err := DecodeTx(raw)
	if err != nil {
		t.Fatalf("a Valid full signature does not decode: %v", err)
	}
	return tx, claims
}

// legacyKeyHasAddress recomputes the address of the key a legacy signature of msg recovers,
// of the kind its header names, and compares it with addr.
func legacyKeyHasAddress(msg, sig string, addr Address) bool {
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(raw) != 65 || raw[0] < 27 || raw[0] > 42 {
		return false
	}
	header := raw[0]
	norm := bytes.Clone(raw)
	if header >= headerP2SHP2WPKH {
		norm[0] = headerP2PKHCompressed + (header-headerP2PKHUncompressed)&3
	}
	pub, compressed, err := ecdsa.RecoverCompact(norm, legacyHash(msg))
	if err != nil {
		return false
	}
	var got Address
	switch {
	case header >= headerP2WPKH:
		got, err = NewP2WPKH(pub, addr.Network())
	case header >= headerP2SHP2WPKH:
		got, err = NewP2SHP2WPKH(pub, addr.Network())
	case compressed:
		got, err = NewP2PKH(pub, addr.Network())
	default:
		got = Address{typ: P2PKH, net: addr.Network(), program: hash160(pub.SerializeUncompressed())}
	}
	return err == nil && got.Equal(addr)
}

// FuzzDecodeTx holds DecodeTx to btcd's wire reader: what DecodeTx accepts wire reads the
// same way, with no byte left over and every amount in range; what wire reads but DecodeTx
// refuses has trailing bytes or an amount out of range.
func FuzzDecodeTx(f *testing.F) {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: chainhash.Hash{1}}, nil, [][]byte{{1}}))
	for _, v := range []int64{0, 1, 21e14, 21e14 + 1, -1, math.MaxInt64} {
		tx.TxOut = []*wire.TxOut{wire.NewTxOut(v, []byte{0x51})}
		var b bytes.Buffer
		_ = tx.Serialize(&b)
		f.Add(b.Bytes())
	}
	f.Add([]byte{2, 0, 0, 0, 0xff, 0, 0, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		ours, err := DecodeTx(raw)
		theirs := new(wire.MsgTx)
		r := bytes.NewReader(raw)
		wireErr := theirs.Deserialize(r)
		if err == nil {
			var b bytes.Buffer
			_ = ours.Serialize(&b)
			if wireErr != nil || r.Len() != 0 || theirs.TxHash() != ours.TxHash() || !bytes.Equal(b.Bytes(), raw) {
				t.Fatalf("DecodeTx accepted what wire reads differently (%v, %d left)", wireErr, r.Len())
			}
			if CheckTxAmounts(ours) != nil {
				t.Fatal("DecodeTx accepted amounts out of range")
			}
			return
		}
		if !errors.Is(err, ErrInvalidTransaction) {
			t.Fatalf("refusal %v does not match ErrInvalidTransaction", err)
		}
		if wireErr == nil && r.Len() == 0 && CheckTxAmounts(theirs) == nil {
			t.Fatalf("DecodeTx refused a transaction wire reads whole with amounts in range: %v", err)
		}
	})
}
