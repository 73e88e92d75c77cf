package bitcoin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
)

// TestAttacks is the package's attack table: one named row per attack on message
// verification and on every place a transaction, a PSBT, a coin or an amount enters the
// package from outside. Each row performs the attack and asserts the refusal (a typed error
// or an Invalid verification), so a regression shows up as that row failing. Rows that held
// before the security review are kept: they are the ones most likely to regress unnoticed.
func TestAttacks(t *testing.T) {
	ctx := context.Background()
	key := bitcointest.KeyFromSeed("attacks/alice")
	other := bitcointest.KeyFromSeed("attacks/mallory")
	const msg = "anya: attack table"
	p2wpkh := mustAddr(t)(bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Mainnet))
	p2tr := mustAddr(t)(bitcoin.NewP2TR(key.PubKey(), nil, bitcoin.Mainnet))
	p2pkh := mustAddr(t)(bitcoin.NewP2PKH(key.PubKey(), bitcoin.Mainnet))
	p2sh := mustAddr(t)(bitcoin.NewP2SHP2WPKH(key.PubKey(), bitcoin.Mainnet))
	mallory := mustAddr(t)(bitcoin.NewP2WPKH(other.PubKey(), bitcoin.Mainnet))
	malloryPKH := mustAddr(t)(bitcoin.NewP2PKH(other.PubKey(), bitcoin.Mainnet))

	sign := func(t *testing.T, addr bitcoin.Address, f bitcoin.MessageFormat, opts ...bitcoin.Option) string {
		t.Helper()
		sig, err := bitcoin.SignMessage(key, addr, msg, append([]bitcoin.Option{bitcoin.WithFormat(f)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	legacy := func(t *testing.T, addr bitcoin.Address) []byte {
		t.Helper()
		sig, err := bitcoin.SignMessageLegacy(key, addr, msg)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(sig)
		return raw
	}
	// verifyInvalid fails unless sig is refused for addr: an Invalid result, or an error
	// matching want when want is not nil.
	verifyRefused := func(t *testing.T, addr bitcoin.Address, sig string, want error, opts ...bitcoin.Option) {
		t.Helper()
		v, err := bitcoin.VerifyMessage(ctx, addr, msg, sig, opts...)
		switch {
		case want != nil && !errors.Is(err, want):
			t.Fatalf("verify: %+v, %v; want an error matching %v", v, err, want)
		case want == nil && (err != nil || v.Result != bitcoin.Invalid):
			t.Fatalf("verify: %+v, %v; want Invalid", v, err)
		}
	}
	// The shape of a genuine simple signature: its witness.
	simpleWitness := func(t *testing.T, addr bitcoin.Address) wire.TxWitness {
		t.Helper()
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sign(t, addr, bitcoin.FormatSimple), "smp"))
		if err != nil {
			t.Fatal(err)
		}
		return decodeWitness(t, raw)
	}
	simple := func(w wire.TxWitness) string { return "smp" + base64.StdEncoding.EncodeToString(encodeWitness(w)) }
	fullTx := func(t *testing.T, addr bitcoin.Address) *wire.MsgTx {
		t.Helper()
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sign(t, addr, bitcoin.FormatFull), "ful"))
		tx, err := bitcoin.DecodeTx(raw)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	full := func(tx *wire.MsgTx) string { return "ful" + base64.StdEncoding.EncodeToString(serialize(tx)) }

	// A funding transaction with one P2WPKH output of alice's, for proofs of funds and PSBTs.
	prev := wire.NewMsgTx(2)
	prev.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: chainhash.HashH([]byte("attacks")), Index: 0}, nil, nil))
	prev.AddTxOut(wire.NewTxOut(70_000, p2wpkh.PkScript()))
	coin := bitcoin.Coin{OutPoint: wire.OutPoint{Hash: prev.TxHash()}, Value: 70_000, PkScript: p2wpkh.PkScript(), PrevTx: prev}
	lookup := func(value int64) bitcoin.Option {
		return bitcoin.WithUTXOLookup(func(_ context.Context, op wire.OutPoint) (*wire.TxOut, error) {
			if op != coin.OutPoint {
				return nil, nil
			}
			return wire.NewTxOut(value, coin.PkScript), nil
		})
	}
	// An unsigned transaction spending coin, and its PSBT serialization with given input maps.
	spend := func(outs ...int64) *wire.MsgTx {
		tx := wire.NewMsgTx(2)
		tx.AddTxIn(wire.NewTxIn(&coin.OutPoint, nil, nil))
		for _, v := range outs {
			tx.AddTxOut(wire.NewTxOut(v, p2wpkh.PkScript()))
		}
		return tx
	}
	witnessUTXO := func(v int64, script []byte) []byte { return serializeTxOut(wire.NewTxOut(v, script)) }
	refusePSBT := func(t *testing.T, raw []byte, also ...error) {
		t.Helper()
		p, err := bitcoin.ParsePSBT(raw)
		var pe *bitcoin.PSBTError
		if !errors.Is(err, bitcoin.ErrInvalidPSBT) || !errors.As(err, &pe) {
			t.Fatalf("ParsePSBT: %v (parsed: %v); want a *PSBTError matching ErrInvalidPSBT", err, p != nil)
		}
		for _, e := range also {
			if !errors.Is(err, e) {
				t.Fatalf("ParsePSBT: %v; want it to match %v too", err, e)
			}
		}
	}
	isAmountErr := func(t *testing.T, err error) {
		t.Helper()
		var ae *bitcoin.AmountError
		if !errors.Is(err, bitcoin.ErrAmountOutOfRange) || !errors.As(err, &ae) {
			t.Fatalf("err = %v; want an *AmountError", err)
		}
	}
	fx, err := bitcoin.NewFeatureExtractor()
	if err != nil {
		t.Fatal(err)
	}

	rows := []struct {
		name string
		run  func(t *testing.T)
	}{
		// ---- Message verification: BIP-322 simple ----
		{"bip322-simple/signature-for-another-address", func(t *testing.T) {
			verifyRefused(t, mallory, sign(t, p2wpkh, bitcoin.FormatSimple), nil)
		}},
		{"bip322-simple/another-message", func(t *testing.T) {
			v, err := bitcoin.VerifyMessage(ctx, p2wpkh, msg+".", sign(t, p2wpkh, bitcoin.FormatSimple))
			if err != nil || v.Result != bitcoin.Invalid {
				t.Fatalf("verify: %+v, %v", v, err)
			}
		}},
		{"bip322-simple/high-S-ecdsa", func(t *testing.T) {
			w := simpleWitness(t, p2wpkh)
			w[0] = highS(t, w[0])
			verifyRefused(t, p2wpkh, simple(w), nil)
		}},
		{"bip322-simple/non-canonical-DER", func(t *testing.T) {
			w := simpleWitness(t, p2wpkh)
			w[0] = padDER(t, w[0])
			verifyRefused(t, p2wpkh, simple(w), nil)
		}},
		{"bip322-simple/sighash-none", func(t *testing.T) {
			w := simpleWitness(t, p2wpkh)
			w[0][len(w[0])-1] = 0x02
			verifyRefused(t, p2wpkh, simple(w), nil)
		}},
		{"bip322-simple/extra-witness-item", func(t *testing.T) {
			w := simpleWitness(t, p2wpkh)
			verifyRefused(t, p2wpkh, simple(append(wire.TxWitness{{1}}, w...)), nil)
		}},
		{"bip322-simple/taproot-sighash-byte-appended", func(t *testing.T) {
			w := simpleWitness(t, p2tr)
			w[0] = append(w[0], 0x01)
			verifyRefused(t, p2tr, simple(w), nil)
		}},
		{"bip322-simple/taproot-signature-for-another-key", func(t *testing.T) {
			verifyRefused(t, mustAddr(t)(bitcoin.NewP2TR(other.PubKey(), nil, bitcoin.Mainnet)), sign(t, p2tr, bitcoin.FormatSimple), nil)
		}},
		{"bip322-simple/truncated", func(t *testing.T) {
			sig := sign(t, p2wpkh, bitcoin.FormatSimple)
			raw, _ := base64.StdEncoding.DecodeString(sig[3:])
			verifyRefused(t, p2wpkh, "smp"+base64.StdEncoding.EncodeToString(raw[:len(raw)-5]), bitcoin.ErrMalformedSignature)
		}},
		{"bip322-simple/2^32-witness-items", func(t *testing.T) {
			verifyRefused(t, p2wpkh, "smp"+base64.StdEncoding.EncodeToString([]byte{0xff, 0, 0, 0, 0, 1, 0, 0, 0}), bitcoin.ErrMalformedSignature)
		}},
		{"bip322-simple/oversized-witness-item", func(t *testing.T) {
			raw := append([]byte{0x01, 0xfe, 0xff, 0xff, 0xff, 0x7f}, make([]byte, 64)...)
			verifyRefused(t, p2wpkh, "smp"+base64.StdEncoding.EncodeToString(raw), bitcoin.ErrMalformedSignature)
		}},
		{"bip322-simple/legacy-address", func(t *testing.T) {
			// The simple format proves a native segwit address only.
			verifyRefused(t, p2pkh, sign(t, p2wpkh, bitcoin.FormatSimple), nil)
		}},

		// ---- BIP-322 full ----
		{"bip322-full/signature-for-another-address", func(t *testing.T) {
			verifyRefused(t, mallory, sign(t, p2wpkh, bitcoin.FormatFull), nil)
		}},
		{"bip322-full/spends-another-messages-to_spend", func(t *testing.T) {
			tx := fullTx(t, p2wpkh)
			tx.TxIn[0].PreviousOutPoint.Hash[0] ^= 1
			verifyRefused(t, p2wpkh, full(tx), nil)
		}},
		{"bip322-full/output-not-zero", func(t *testing.T) {
			tx := fullTx(t, p2wpkh)
			tx.TxOut[0].Value = 1
			verifyRefused(t, p2wpkh, full(tx), nil)
		}},
		{"bip322-full/output-value-negative", func(t *testing.T) {
			tx := fullTx(t, p2wpkh)
			tx.TxOut[0].Value = -1
			verifyRefused(t, p2wpkh, full(tx), bitcoin.ErrAmountOutOfRange)
		}},
		{"bip322-full/output-value-2^63-1", func(t *testing.T) {
			tx := fullTx(t, p2wpkh)
			tx.TxOut[0].Value = math.MaxInt64
			verifyRefused(t, p2wpkh, full(tx), bitcoin.ErrAmountOutOfRange)
		}},
		{"bip322-full/extra-input-without-proof-of-funds", func(t *testing.T) {
			tx := fullTx(t, p2wpkh)
			tx.AddTxIn(wire.NewTxIn(&coin.OutPoint, nil, nil))
			verifyRefused(t, p2wpkh, full(tx), nil)
		}},
		{"bip322-full/malleated-witness", func(t *testing.T) {
			tx := fullTx(t, p2wpkh)
			tx.TxIn[0].Witness[0] = highS(t, tx.TxIn[0].Witness[0])
			verifyRefused(t, p2wpkh, full(tx), nil)
		}},
		{"bip322-full/2^32-inputs", func(t *testing.T) {
			raw := []byte{2, 0, 0, 0, 0xff, 0, 0, 0, 0, 1, 0, 0, 0}
			verifyRefused(t, p2pkh, "ful"+base64.StdEncoding.EncodeToString(raw), bitcoin.ErrMalformedSignature)
		}},
		{"bip322-full/trailing-bytes", func(t *testing.T) {
			raw := append(serialize(fullTx(t, p2wpkh)), 0)
			verifyRefused(t, p2wpkh, "ful"+base64.StdEncoding.EncodeToString(raw), bitcoin.ErrMalformedSignature)
		}},

		// ---- BIP-322 proof of funds ----
		{"bip322-pof/claimed-funds-differ-from-the-chain", func(t *testing.T) {
			sig := sign(t, p2wpkh, bitcoin.FormatUnknown, bitcoin.WithProofOfFunds(coin))
			if v, err := bitcoin.VerifyMessage(ctx, p2wpkh, msg, sig, lookup(70_000)); err != nil || v.Result != bitcoin.Valid || !v.FundsChecked {
				t.Fatalf("genuine proof of funds: %+v, %v", v, err)
			}
			verifyRefused(t, p2wpkh, sig, nil, lookup(69_999))
		}},
		{"bip322-pof/witness-utxo-contradicts-non-witness-utxo", func(t *testing.T) {
			// The finalized proof keeps only the witness UTXO; add the funding transaction as
			// the non-witness UTXO and claim ten times its value in the witness UTXO.
			sig := sign(t, p2wpkh, bitcoin.FormatUnknown, bitcoin.WithProofOfFunds(coin))
			raw, _ := base64.StdEncoding.DecodeString(sig[3:])
			w := encodeKV(kv{[]byte{1}, witnessUTXO(70_000, coin.PkScript)})
			tampered := replaceOnce(t, raw, w, append(encodeKV(kv{[]byte{0}, serialize(prev)}),
				encodeKV(kv{[]byte{1}, witnessUTXO(700_000, coin.PkScript)})...))
			verifyRefused(t, p2wpkh, "pof"+base64.StdEncoding.EncodeToString(tampered), bitcoin.ErrInvalidPSBT)
		}},
		{"bip322-pof/funds-value-2^63-1", func(t *testing.T) {
			c := coin
			c.PrevTx = nil // witness UTXO only
			sig := sign(t, p2wpkh, bitcoin.FormatUnknown, bitcoin.WithProofOfFunds(c))
			raw, _ := base64.StdEncoding.DecodeString(sig[3:])
			tampered := replaceOnce(t, raw, witnessUTXO(70_000, coin.PkScript), witnessUTXO(math.MaxInt64, coin.PkScript))
			verifyRefused(t, p2wpkh, "pof"+base64.StdEncoding.EncodeToString(tampered), bitcoin.ErrAmountOutOfRange)
		}},
		{"bip322-pof/second-input-claims-the-challenge-output", func(t *testing.T) {
			// Mallory's proof for alice's address: a second input spends to_spend:0 again and
			// its UTXO data claims that output pays mallory's script. Were the claim allowed
			// to stand for to_spend's output, mallory's signatures would prove alice's address.
			p0, err := bitcoin.NewMessagePSBT(p2wpkh, msg)
			if err != nil {
				t.Fatal(err)
			}
			challenge := bitcoin.Coin{OutPoint: p0.UnsignedTx().TxIn[0].PreviousOutPoint, PkScript: mallory.PkScript()}
			if _, err := bitcoin.NewMessagePSBT(p2wpkh, msg, bitcoin.WithProofOfFunds(challenge)); !errors.Is(err, bitcoin.ErrInvalidPSBT) {
				t.Fatalf("NewMessagePSBT spending to_spend twice: %v", err)
			}
			toSign := p0.UnsignedTx()
			in := wire.NewTxIn(&challenge.OutPoint, nil, nil)
			in.Sequence = 0
			toSign.AddTxIn(in)
			sig := forgeProof(t, toSign, challenge, other)
			v, err := bitcoin.VerifyMessage(ctx, p2wpkh, msg, sig)
			if err == nil && v.Result == bitcoin.Valid {
				t.Fatalf("mallory's key proved alice's address: %+v", v)
			}
			if err == nil && v.Result != bitcoin.Invalid || err != nil && !errors.Is(err, bitcoin.ErrMalformedSignature) {
				t.Fatalf("verify: %+v, %v; want Invalid or a malformed signature", v, err)
			}
		}},
		{"bip322-pof/non-witness-utxo-not-the-outpoint", func(t *testing.T) {
			sig := sign(t, p2wpkh, bitcoin.FormatUnknown, bitcoin.WithProofOfFunds(coin))
			raw, _ := base64.StdEncoding.DecodeString(sig[3:])
			forged := prev.Copy()
			forged.LockTime = 1
			w := encodeKV(kv{[]byte{1}, witnessUTXO(70_000, coin.PkScript)})
			tampered := replaceOnce(t, raw, w, append(encodeKV(kv{[]byte{0}, serialize(forged)}), w...))
			verifyRefused(t, p2wpkh, "pof"+base64.StdEncoding.EncodeToString(tampered), bitcoin.ErrInvalidPSBT)
		}},

		// ---- BIP-322 legacy, Bitcoin Core signmessage, BIP-137 ----
		{"bip322-legacy/signature-for-another-address", func(t *testing.T) {
			verifyRefused(t, malloryPKH, sign(t, p2pkh, bitcoin.FormatLegacy), nil)
		}},
		{"bip322-legacy/another-message", func(t *testing.T) {
			v, err := bitcoin.VerifyMessage(ctx, p2pkh, msg+".", sign(t, p2pkh, bitcoin.FormatLegacy))
			if err != nil || v.Result != bitcoin.Invalid {
				t.Fatalf("verify: %+v, %v", v, err)
			}
		}},
		{"core-signmessage/signature-for-another-address", func(t *testing.T) {
			sig := base64.StdEncoding.EncodeToString(legacy(t, p2pkh))
			if err := bitcoin.VerifyMessageLegacy(malloryPKH, msg, sig); !errors.Is(err, bitcoin.ErrNotSigned) {
				t.Fatalf("err = %v, want ErrNotSigned", err)
			}
		}},
		{"core-signmessage/compressed-flag-flipped", func(t *testing.T) {
			raw := legacy(t, p2pkh)
			raw[0] -= 4 // the same key, read as its uncompressed form: another address
			if err := bitcoin.VerifyMessageLegacy(p2pkh, msg, base64.StdEncoding.EncodeToString(raw)); !errors.Is(err, bitcoin.ErrNotSigned) {
				t.Fatalf("err = %v, want ErrNotSigned", err)
			}
		}},
		{"core-signmessage/high-S", func(t *testing.T) {
			// (r, n-s) with the recovery id's parity flipped recovers the same key: a second
			// signature for the same message that no honest signer produces. It is refused.
			raw := legacy(t, p2pkh)
			err := bitcoin.VerifyMessageLegacy(p2pkh, msg, base64.StdEncoding.EncodeToString(highSCompact(raw)))
			var se *bitcoin.SignatureError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SignatureError", err)
			}
			verifyRefused(t, p2pkh, base64.StdEncoding.EncodeToString(highSCompact(raw)), nil)
		}},
		{"core-signmessage/truncated", func(t *testing.T) {
			sig := base64.StdEncoding.EncodeToString(legacy(t, p2pkh)[:64])
			var se *bitcoin.SignatureError
			if err := bitcoin.VerifyMessageLegacy(p2pkh, msg, sig); !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SignatureError", err)
			}
		}},
		{"core-signmessage/another-message", func(t *testing.T) {
			sig := base64.StdEncoding.EncodeToString(legacy(t, p2pkh))
			if err := bitcoin.VerifyMessageLegacy(p2pkh, msg+".", sig); !errors.Is(err, bitcoin.ErrNotSigned) && !errors.Is(err, bitcoin.ErrPubKeyNotRecovered) {
				t.Fatalf("err = %v, want ErrNotSigned", err)
			}
		}},
		{"bip137/p2wpkh-signature-for-its-p2sh-p2wpkh-address", func(t *testing.T) {
			sig := base64.StdEncoding.EncodeToString(legacy(t, p2wpkh))
			if err := bitcoin.VerifyMessageLegacy(p2sh, msg, sig); !errors.Is(err, bitcoin.ErrNotSigned) {
				t.Fatalf("err = %v, want ErrNotSigned", err)
			}
		}},
		{"bip137/segwit-header-for-a-p2pkh-address", func(t *testing.T) {
			sig := base64.StdEncoding.EncodeToString(legacy(t, p2wpkh))
			if err := bitcoin.VerifyMessageLegacy(p2pkh, msg, sig); !errors.Is(err, bitcoin.ErrNotSigned) {
				t.Fatalf("err = %v, want ErrNotSigned", err)
			}
		}},
		{"bip137/p2pkh-header-for-a-segwit-address", func(t *testing.T) {
			sig := base64.StdEncoding.EncodeToString(legacy(t, p2pkh))
			if err := bitcoin.VerifyMessageLegacy(p2wpkh, msg, sig); !errors.Is(err, bitcoin.ErrAddressNoKey) {
				t.Fatalf("err = %v, want ErrAddressNoKey", err)
			}
		}},
		{"address/wrong-network", func(t *testing.T) {
			tb := mustAddr(t)(bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Testnet))
			if _, err := bitcoin.ParseAddress(tb.String(), bitcoin.Mainnet); !errors.Is(err, bitcoin.ErrWrongNetwork) {
				t.Fatalf("err = %v, want ErrWrongNetwork", err)
			}
		}},

		// ---- Transactions ----
		{"tx/output-value-negative", func(t *testing.T) {
			_, err := bitcoin.DecodeTx(serialize(spend(-1)))
			isAmountErr(t, err)
		}},
		{"tx/output-value-above-21e14", func(t *testing.T) {
			_, err := bitcoin.DecodeTx(serialize(spend(btcutil.MaxSatoshi + 1)))
			isAmountErr(t, err)
		}},
		{"tx/outputs-sum-above-21e14", func(t *testing.T) {
			_, err := bitcoin.DecodeTx(serialize(spend(15e14, 15e14)))
			var ae *bitcoin.AmountError
			if !errors.As(err, &ae) || ae.What != "output total" {
				t.Fatalf("err = %v, want an *AmountError for the output total", err)
			}
		}},
		{"tx/two-outputs-2^63-1", func(t *testing.T) {
			isAmountErr(t, bitcoin.CheckTxAmounts(spend(math.MaxInt64, math.MaxInt64)))
		}},
		{"block/transaction-output-out-of-range", func(t *testing.T) {
			isAmountErr(t, bitcoin.CheckBlockAmounts(&wire.MsgBlock{Transactions: []*wire.MsgTx{spend(1000), spend(-1)}}))
		}},
		{"tx/2^32-inputs", func(t *testing.T) {
			if _, err := bitcoin.DecodeTx([]byte{2, 0, 0, 0, 0xff, 0, 0, 0, 0, 1, 0, 0, 0}); !errors.Is(err, bitcoin.ErrInvalidTransaction) {
				t.Fatalf("err = %v", err)
			}
		}},
		{"tx/2^32-outputs", func(t *testing.T) {
			raw := serialize(spend())
			raw = append(raw[:len(raw)-5], 0xff, 0, 0, 0, 0, 1, 0, 0, 0)
			if _, err := bitcoin.DecodeTx(raw); !errors.Is(err, bitcoin.ErrInvalidTransaction) {
				t.Fatalf("err = %v", err)
			}
		}},
		{"tx/truncated", func(t *testing.T) {
			raw := serialize(spend(1000))
			if _, err := bitcoin.DecodeTx(raw[:len(raw)-3]); !errors.Is(err, bitcoin.ErrInvalidTransaction) {
				t.Fatalf("err = %v", err)
			}
		}},
		{"tx/trailing-bytes", func(t *testing.T) {
			if _, err := bitcoin.DecodeTx(append(serialize(spend(1000)), 0)); !errors.Is(err, bitcoin.ErrInvalidTransaction) {
				t.Fatalf("err = %v", err)
			}
		}},

		// ---- Feature extraction ----
		{"features/two-outputs-2^63-1", func(t *testing.T) {
			v, err := fx.Tx(ctx, spend(math.MaxInt64, math.MaxInt64), -1, nil)
			if err == nil {
				t.Fatalf("extracted out_total_btc = %v", v[bitcoin.TxFeatureSchema().Index("out_total_btc")])
			}
			isAmountErr(t, err)
		}},
		{"features/output-value-negative", func(t *testing.T) {
			_, err := fx.Tx(ctx, spend(-1, 5000), -1, nil)
			isAmountErr(t, err)
		}},
		{"features/spent-output-value-out-of-range", func(t *testing.T) {
			lx, _ := bitcoin.NewFeatureExtractor(bitcoin.WithFeatureLookup(fixedLookup{value: math.MaxInt64}))
			_, err := lx.Tx(ctx, spend(1000), 10, nil)
			isAmountErr(t, err)
		}},
		{"features/spent-outputs-sum-above-21e14", func(t *testing.T) {
			tx := spend(1000)
			tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: coin.OutPoint.Hash, Index: 1}, nil, nil))
			lx, _ := bitcoin.NewFeatureExtractor(bitcoin.WithFeatureLookup(fixedLookup{value: 15e14}))
			_, err := lx.Tx(ctx, tx, 10, nil)
			isAmountErr(t, err)
		}},
		{"features/negative-fee", func(t *testing.T) {
			lx, _ := bitcoin.NewFeatureExtractor(bitcoin.WithFeatureLookup(fixedLookup{value: 500}))
			_, err := lx.Tx(ctx, spend(1000), 10, nil)
			var ae *bitcoin.AmountError
			if !errors.As(err, &ae) || ae.What != "fee" {
				t.Fatalf("err = %v, want an *AmountError for the fee", err)
			}
		}},
		{"features/block-outputs-sum-above-21e14", func(t *testing.T) {
			cb := wire.NewMsgTx(1)
			cb.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: wire.MaxPrevOutIndex}, []byte{1, 1}, nil))
			cb.AddTxOut(wire.NewTxOut(btcutil.MaxSatoshi, p2wpkh.PkScript()))
			b := &wire.MsgBlock{Transactions: []*wire.MsgTx{cb, spend(btcutil.MaxSatoshi)}}
			_, err := fx.Block(ctx, b, 1, nil)
			isAmountErr(t, err)
		}},

		// ---- PSBTs ----
		{"psbt/unsigned-output-value-negative", func(t *testing.T) {
			refusePSBT(t, rawPSBT(spend(-1), [][]kv{{{[]byte{1}, witnessUTXO(70_000, coin.PkScript)}}}), bitcoin.ErrAmountOutOfRange)
		}},
		{"psbt/unsigned-outputs-sum-above-21e14", func(t *testing.T) {
			refusePSBT(t, rawPSBT(spend(15e14, 15e14), [][]kv{nil}), bitcoin.ErrAmountOutOfRange)
		}},
		{"psbt/witness-utxo-value-2^63-1", func(t *testing.T) {
			refusePSBT(t, rawPSBT(spend(1000), [][]kv{{{[]byte{1}, witnessUTXO(math.MaxInt64, coin.PkScript)}}}), bitcoin.ErrAmountOutOfRange)
		}},
		{"psbt/witness-utxo-value-negative", func(t *testing.T) {
			refusePSBT(t, rawPSBT(spend(1000), [][]kv{{{[]byte{1}, witnessUTXO(-1, coin.PkScript)}}}), bitcoin.ErrAmountOutOfRange)
		}},
		{"psbt/non-witness-utxo-value-negative", func(t *testing.T) {
			bad := prev.Copy()
			bad.TxOut[0].Value = -5
			tx := wire.NewMsgTx(2)
			tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: bad.TxHash()}, nil, nil))
			tx.AddTxOut(wire.NewTxOut(1000, p2wpkh.PkScript()))
			refusePSBT(t, rawPSBT(tx, [][]kv{{{[]byte{0}, serialize(bad)}}}), bitcoin.ErrAmountOutOfRange)
		}},
		{"psbt/spent-outputs-sum-above-21e14", func(t *testing.T) {
			tx := spend(1000)
			tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: coin.OutPoint.Hash, Index: 1}, nil, nil))
			in := []kv{{[]byte{1}, witnessUTXO(15e14, coin.PkScript)}}
			refusePSBT(t, rawPSBT(tx, [][]kv{in, in}), bitcoin.ErrAmountOutOfRange)
		}},
		{"psbt/non-witness-utxo-not-the-outpoint", func(t *testing.T) {
			forged := prev.Copy()
			forged.LockTime = 1
			refusePSBT(t, rawPSBT(spend(1000), [][]kv{{{[]byte{0}, serialize(forged)}}}))
		}},
		{"psbt/non-witness-utxo-index-beyond-its-outputs", func(t *testing.T) {
			tx := wire.NewMsgTx(2)
			tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Hash: prev.TxHash(), Index: 7}, nil, nil))
			tx.AddTxOut(wire.NewTxOut(1000, p2wpkh.PkScript()))
			refusePSBT(t, rawPSBT(tx, [][]kv{{{[]byte{0}, serialize(prev)}}}))
		}},
		{"psbt/witness-utxo-contradicts-non-witness-utxo", func(t *testing.T) {
			refusePSBT(t, rawPSBT(spend(1000), [][]kv{{{[]byte{0}, serialize(prev)}, {[]byte{1}, witnessUTXO(7_000_000, coin.PkScript)}}}))
		}},
		{"psbt/multi-byte-key-type-smuggles-a-witness-utxo", func(t *testing.T) {
			// Key type 0x101 is unknown, but btcd keeps only its low byte and writes it back
			// as 0x01: a witness UTXO the signer never saw would appear in the re-encoding.
			refusePSBT(t, rawPSBT(spend(1000), [][]kv{{{[]byte{0xfd, 0x01, 0x01}, witnessUTXO(7_000_000, coin.PkScript)}}}))
		}},
		{"psbt/witness-utxo-script-with-multi-byte-length", func(t *testing.T) {
			// btcd's reader assumes a one-byte script length and reads another script.
			refusePSBT(t, rawPSBT(spend(1000), [][]kv{{{[]byte{1}, witnessUTXO(70_000, bytes.Repeat([]byte{0x51}, 300))}}}))
		}},
		{"psbt/duplicate-key", func(t *testing.T) {
			u := witnessUTXO(70_000, coin.PkScript)
			refusePSBT(t, rawPSBT(spend(1000), [][]kv{{{[]byte{1}, u}, {[]byte{1}, u}}}))
		}},
		{"psbt/partial-signature-non-canonical-DER", func(t *testing.T) {
			sig := padDER(t, append(ecdsa.Sign(key, make([]byte, 32)).Serialize(), 0x01))
			refusePSBT(t, rawPSBT(spend(1000), [][]kv{{
				{[]byte{1}, witnessUTXO(70_000, coin.PkScript)},
				{append([]byte{2}, key.PubKey().SerializeCompressed()...), sig}}}))
		}},
		{"psbt/partial-signature-garbage-after-DER", func(t *testing.T) {
			sig := append(ecdsa.Sign(key, make([]byte, 32)).Serialize(), 0x01, 0x01)
			refusePSBT(t, rawPSBT(spend(1000), [][]kv{{
				{[]byte{1}, witnessUTXO(70_000, coin.PkScript)},
				{append([]byte{2}, key.PubKey().SerializeCompressed()...), sig}}}))
		}},
		{"psbt/partial-signature-key-off-the-curve", func(t *testing.T) {
			pub := key.PubKey().SerializeCompressed()
			pub[1] ^= 0xff
			pub[2] ^= 0xff
			sig := append(ecdsa.Sign(key, make([]byte, 32)).Serialize(), 0x01)
			for _, try := range [][]byte{pub, append([]byte{2}, make([]byte, 32)...)} {
				if _, err := btcec.ParsePubKey(try); err == nil {
					continue
				}
				refusePSBT(t, rawPSBT(spend(1000), [][]kv{{
					{[]byte{1}, witnessUTXO(70_000, coin.PkScript)},
					{append([]byte{2}, try...), sig}}}))
				return
			}
			t.Fatal("no off-curve key found")
		}},
		{"psbt/unsigned-tx-spends-one-output-twice", func(t *testing.T) {
			tx := spend(1000)
			tx.AddTxIn(wire.NewTxIn(&coin.OutPoint, nil, nil))
			refusePSBT(t, rawPSBT(tx, [][]kv{nil, nil}))
			if _, err := bitcoin.NewPSBT(tx); !errors.Is(err, bitcoin.ErrInvalidPSBT) {
				t.Fatalf("NewPSBT: %v", err)
			}
		}},
		{"psbt/trailing-bytes", func(t *testing.T) {
			refusePSBT(t, append(rawPSBT(spend(1000), [][]kv{nil}), 0))
		}},
		{"psbt/2^32-inputs-in-unsigned-tx", func(t *testing.T) {
			raw := append([]byte("psbt\xff"), 0x01, 0x00, 0x0d, 2, 0, 0, 0, 0xff, 0, 0, 0, 0, 1, 0, 0, 0, 0x00)
			refusePSBT(t, raw)
		}},
		{"psbt/truncated", func(t *testing.T) {
			raw := rawPSBT(spend(1000), [][]kv{{{[]byte{1}, witnessUTXO(70_000, coin.PkScript)}}})
			refusePSBT(t, raw[:len(raw)-4])
		}},
		{"psbt/new-psbt-output-out-of-range", func(t *testing.T) {
			_, err := bitcoin.NewPSBT(spend(math.MaxInt64, math.MaxInt64))
			isAmountErr(t, err)
		}},
		{"psbt/add-coin-value-negative", func(t *testing.T) {
			p, err := bitcoin.NewPSBT(spend(1000))
			if err != nil {
				t.Fatal(err)
			}
			c := coin
			c.PrevTx, c.Value = nil, -1
			err = p.AddCoin(0, c)
			isAmountErr(t, err)
			if !errors.Is(err, bitcoin.ErrInvalidPSBT) {
				t.Fatalf("err = %v, want it to match ErrInvalidPSBT", err)
			}
		}},
		{"psbt/combine-brings-a-contradicting-witness-utxo", func(t *testing.T) {
			tx := spend(1000)
			a, err := bitcoin.ParsePSBT(rawPSBT(tx, [][]kv{{{[]byte{0}, serialize(prev)}}}))
			if err != nil {
				t.Fatal(err)
			}
			b, err := bitcoin.ParsePSBT(rawPSBT(tx, [][]kv{{{[]byte{1}, witnessUTXO(7_000_000, coin.PkScript)}}}))
			if err != nil {
				t.Fatal(err)
			}
			before := a.Bytes()
			if err := a.Combine(b); !errors.Is(err, bitcoin.ErrInvalidPSBT) {
				t.Fatalf("combine: %v, want ErrInvalidPSBT", err)
			}
			if !bytes.Equal(before, a.Bytes()) {
				t.Fatal("refused Combine changed the PSBT")
			}
		}},
		{"psbt/fee-negative", func(t *testing.T) {
			p, err := bitcoin.ParsePSBT(rawPSBT(spend(80_000), [][]kv{{{[]byte{1}, witnessUTXO(70_000, coin.PkScript)}}}))
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Fee()
			var ae *bitcoin.AmountError
			if !errors.As(err, &ae) || ae.What != "fee" {
				t.Fatalf("Fee: %v, want an *AmountError for the fee", err)
			}
		}},

		// ---- Coin selection ----
		{"create-psbt/outputs-sum-above-21e14", func(t *testing.T) {
			_, err := bitcoin.CreatePSBT([]*wire.TxOut{wire.NewTxOut(15e14, p2wpkh.PkScript()), wire.NewTxOut(15e14, p2wpkh.PkScript())}, []bitcoin.Coin{coin}, 1000, p2wpkh)
			isAmountErr(t, err)
		}},
		{"create-psbt/output-value-negative", func(t *testing.T) {
			_, err := bitcoin.CreatePSBT([]*wire.TxOut{wire.NewTxOut(-1, p2wpkh.PkScript())}, []bitcoin.Coin{coin}, 1000, p2wpkh)
			isAmountErr(t, err)
		}},
		{"create-psbt/coin-value-2^63-1", func(t *testing.T) {
			c := coin
			c.PrevTx, c.Value = nil, math.MaxInt64
			_, err := bitcoin.CreatePSBT([]*wire.TxOut{wire.NewTxOut(50_000, p2wpkh.PkScript())}, []bitcoin.Coin{c}, 1000, p2wpkh)
			isAmountErr(t, err)
		}},
		{"create-psbt/coins-sum-above-21e14", func(t *testing.T) {
			a, b := coin, coin
			a.PrevTx, a.Value = nil, 15e14
			b.PrevTx, b.Value, b.OutPoint.Index = nil, 15e14, 1
			_, err := bitcoin.CreatePSBT([]*wire.TxOut{wire.NewTxOut(50_000, p2wpkh.PkScript())}, []bitcoin.Coin{a, b}, 1000, p2wpkh)
			isAmountErr(t, err)
		}},
		{"create-psbt/same-coin-twice", func(t *testing.T) {
			_, err := bitcoin.CreatePSBT([]*wire.TxOut{wire.NewTxOut(100_000, p2wpkh.PkScript())}, []bitcoin.Coin{coin, coin}, 1000, p2wpkh)
			if !errors.Is(err, bitcoin.ErrInvalidPSBT) {
				t.Fatalf("err = %v, want ErrInvalidPSBT", err)
			}
		}},

		// ---- Chain: simchain, Broadcast, Sender ----
		{"simchain/output-value-out-of-range", func(t *testing.T) {
			s := bitcointest.NewSim(t)
			err := s.Chain().TestAccept(ctx, outOfRangeSpend(t, s))
			isAmountErr(t, err)
			if !errors.Is(err, bitcoin.ErrRejected) {
				t.Fatalf("err = %v, want a *RejectError too", err)
			}
		}},
		{"broadcast/output-value-out-of-range", func(t *testing.T) {
			s := bitcointest.NewSim(t)
			_, err := bitcoin.Broadcast(ctx, s.Chain(), outOfRangeSpend(t, s))
			isAmountErr(t, err)
		}},
		{"sender/output-value-out-of-range", func(t *testing.T) {
			s := bitcointest.NewSim(t)
			snd, err := bitcoin.NewSender(s.Chain(), bitcoin.NewMemSendStore())
			if err != nil {
				t.Fatal(err)
			}
			_, err = snd.Send(ctx, "k", outOfRangeSpend(t, s))
			isAmountErr(t, err)
			if _, err := snd.Record(ctx, "k"); !errors.Is(err, bitcoin.ErrNotFound) {
				t.Fatalf("the refused transaction was recorded: %v", err)
			}
		}},

		// ---- Events decoded from a bus transport ----
		{"event/txid-is-not-the-transactions", func(t *testing.T) {
			tx := spend(1000)
			raw, _ := json.Marshal(bitcoin.MempoolTx{Txid: tx.TxHash(), Tx: tx})
			forged := strings.Replace(string(raw), tx.TxHash().String(), chainhash.Hash{1}.String(), 1)
			var e bitcoin.MempoolTx
			if err := json.Unmarshal([]byte(forged), &e); !errors.Is(err, bitcoin.ErrInvalidTransaction) {
				t.Fatalf("decoded %s: %v", forged, err)
			}
		}},
		{"event/transaction-output-out-of-range", func(t *testing.T) {
			tx := spend(math.MaxInt64)
			raw := `{"txid":"` + tx.TxHash().String() + `","tx":"` + hex.EncodeToString(serialize(tx)) + `"}`
			var e bitcoin.TxConfirmed
			isAmountErr(t, json.Unmarshal([]byte(raw), &e))
		}},
	}
	for _, r := range rows {
		t.Run(r.name, r.run)
	}
}

func mustAddr(t *testing.T) func(bitcoin.Address, error) bitcoin.Address {
	return func(a bitcoin.Address, err error) bitcoin.Address {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
}

// forgeProof builds a finalized proof-of-funds PSBT for toSign in which every input claims
// to spend claim, signed by key, without going through the package's checks of toSign
// (which refuse it): the bytes an attacker would send.
func forgeProof(t *testing.T, toSign *wire.MsgTx, claim bitcoin.Coin, key *btcec.PrivateKey) string {
	t.Helper()
	prevOuts := make(map[wire.OutPoint]*wire.TxOut)
	for _, in := range toSign.TxIn {
		prevOuts[in.PreviousOutPoint] = wire.NewTxOut(int64(claim.Value), claim.PkScript)
	}
	if err := bitcointest.SignP2WPKH(toSign, prevOuts, key); err != nil {
		t.Fatal(err)
	}
	var inputs [][]kv
	for _, in := range toSign.TxIn {
		inputs = append(inputs, []kv{
			{[]byte{1}, serializeTxOut(wire.NewTxOut(int64(claim.Value), claim.PkScript))},
			{[]byte{8}, encodeWitness(in.Witness)},
		})
	}
	unsigned := toSign.Copy()
	for _, in := range unsigned.TxIn {
		in.Witness = nil
	}
	return "pof" + base64.StdEncoding.EncodeToString(rawPSBT(unsigned, inputs))
}

// fixedLookup answers every spent output with the same value.
type fixedLookup struct{ value int64 }

func (l fixedLookup) PrevOutput(context.Context, wire.OutPoint) (*wire.TxOut, int32, bool, error) {
	return wire.NewTxOut(l.value, []byte{0x51}), 1, true, nil
}

func (fixedLookup) ScriptUses(context.Context, []byte) (int, bool, error) { return 0, false, nil }

// outOfRangeSpend returns a transaction of the Sim's wallet whose output is 2^63-1 sat.
func outOfRangeSpend(t *testing.T, s *bitcointest.Sim) *wire.MsgTx {
	t.Helper()
	tx, err := s.Wallet().Build(t.Context(), wire.NewTxOut(10_000, s.Wallet().PkScript()))
	if err != nil {
		t.Fatal(err)
	}
	tx.TxOut[0].Value = math.MaxInt64
	return tx
}

func serialize(tx *wire.MsgTx) []byte {
	var b bytes.Buffer
	_ = tx.Serialize(&b)
	return b.Bytes()
}

func serializeTxOut(o *wire.TxOut) []byte {
	var b bytes.Buffer
	_ = wire.WriteTxOut(&b, 0, 0, o)
	return b.Bytes()
}

func replaceOnce(t *testing.T, b, old, new []byte) []byte {
	t.Helper()
	if bytes.Count(b, old) != 1 {
		t.Fatalf("%x occurs %d times", old, bytes.Count(b, old))
	}
	return bytes.Replace(b, old, new, 1)
}

// kv is one PSBT key-value pair; the key includes its type.
type kv struct{ key, value []byte }

// rawPSBT encodes a PSBT of tx with the given input maps (one per input) and empty output
// maps, exactly as given: duplicates and malformed values included.
func rawPSBT(tx *wire.MsgTx, inputs [][]kv) []byte {
	var b bytes.Buffer
	b.WriteString("psbt\xff")
	var utx bytes.Buffer
	_ = tx.SerializeNoWitness(&utx)
	writeKV(&b, kv{[]byte{0}, utx.Bytes()})
	b.WriteByte(0)
	for _, m := range inputs {
		for _, p := range m {
			writeKV(&b, p)
		}
		b.WriteByte(0)
	}
	for range tx.TxOut {
		b.WriteByte(0)
	}
	return b.Bytes()
}

func writeKV(b *bytes.Buffer, p kv) { b.Write(encodeKV(p)) }

func encodeKV(p kv) []byte {
	var b bytes.Buffer
	_ = wire.WriteVarBytes(&b, 0, p.key)
	_ = wire.WriteVarBytes(&b, 0, p.value)
	return b.Bytes()
}

func decodeWitness(t *testing.T, raw []byte) wire.TxWitness {
	t.Helper()
	r := bytes.NewReader(raw)
	n, err := wire.ReadVarInt(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := make(wire.TxWitness, n)
	for i := range w {
		if w[i], err = wire.ReadVarBytes(r, 0, 1<<20, "item"); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func encodeWitness(w wire.TxWitness) []byte {
	var b bytes.Buffer
	_ = wire.WriteVarInt(&b, 0, uint64(len(w)))
	for _, it := range w {
		_ = wire.WriteVarBytes(&b, 0, it)
	}
	return b.Bytes()
}

// highS returns an ECDSA signature with its sighash byte in which s is replaced by n-s: the
// same signature, malleated.
func highS(t *testing.T, sig []byte) []byte {
	t.Helper()
	r, s := derDecode(t, sig[:len(sig)-1])
	var sn btcec.ModNScalar
	sn.SetByteSlice(s)
	sn.Negate()
	sb := sn.Bytes()
	return append(derEncode(r, sb[:], false), sig[len(sig)-1])
}

// padDER returns sig (with its sighash byte) re-encoded with a needless zero byte before r:
// the same numbers, not in BIP-66's strict DER.
func padDER(t *testing.T, sig []byte) []byte {
	t.Helper()
	r, s := derDecode(t, sig[:len(sig)-1])
	return append(derEncode(r, s, true), sig[len(sig)-1])
}

// derDecode returns the r and s of a strict DER signature.
func derDecode(t *testing.T, der []byte) (r, s []byte) {
	t.Helper()
	if _, err := ecdsa.ParseDERSignature(der); err != nil || len(der) < 8 {
		t.Fatalf("not a DER signature: %x", der)
	}
	rl := int(der[3])
	r = der[4 : 4+rl]
	s = der[6+rl:]
	return r, s
}

func derEncode(r, s []byte, padR bool) []byte {
	integer := func(v []byte, pad bool) []byte {
		v = bytes.TrimLeft(v, "\x00")
		if len(v) == 0 || v[0]&0x80 != 0 {
			v = append([]byte{0}, v...)
		}
		if pad {
			v = append([]byte{0}, v...)
		}
		return append([]byte{0x02, byte(len(v))}, v...)
	}
	body := append(integer(r, padR), integer(s, false)...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

// highSCompact malleates a 65-byte compact (legacy) signature: s becomes n-s and the
// recovery id's parity flips, which recovers the same key.
func highSCompact(sig []byte) []byte {
	out := bytes.Clone(sig)
	var s btcec.ModNScalar
	s.SetByteSlice(sig[33:65])
	s.Negate()
	b := s.Bytes()
	copy(out[33:], b[:])
	base := (sig[0] - 27) &^ 3
	out[0] = 27 + base + ((sig[0]-27)&3 ^ 1)
	return out
}
