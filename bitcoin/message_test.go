package bitcoin

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

func TestSignVerifyMessageEveryAddress(t *testing.T) {
	ctx := context.Background()
	k := testKey(t, 21)
	pub := k.PubKey()
	const msg = "anya: proof of control"
	for _, c := range []struct {
		addr    Address
		formats []MessageFormat
		auto    MessageFormat
	}{
		{must(NewP2PKH(pub, Mainnet)), []MessageFormat{FormatLegacy, FormatFull}, FormatFull},
		{must(NewP2SHP2WPKH(pub, Testnet)), []MessageFormat{FormatFull}, FormatFull},
		{must(NewP2WPKH(pub, Signet)), []MessageFormat{FormatSimple, FormatFull}, FormatSimple},
		{must(NewP2TR(pub, nil, Regtest)), []MessageFormat{FormatSimple, FormatFull}, FormatSimple},
	} {
		for _, f := range append(c.formats, FormatUnknown) {
			sig, err := SignMessage(k, c.addr, msg, WithFormat(f))
			if err != nil {
				t.Fatalf("%s %s: %v", c.addr.Type(), f, err)
			}
			want := f
			if f == FormatUnknown {
				want = c.auto
			}
			v, err := VerifyMessage(ctx, c.addr, msg, sig)
			if err != nil || v.Result != Valid || v.Format != want {
				t.Errorf("%s %s: %+v, %v", c.addr.Type(), f, v, err)
			}
			v, err = VerifyMessage(ctx, c.addr, msg+"!", sig)
			if err != nil || v.Result != Invalid {
				t.Errorf("%s %s, other message: %+v, %v", c.addr.Type(), f, v, err)
			}
			// Before BIP-322 v1.0.0 signatures carried no prefix; they still verify.
			if p := sig[:3]; p == "smp" || p == "ful" {
				v, err := VerifyMessage(ctx, c.addr, msg, sig[3:])
				if err != nil || v.Result != Valid {
					t.Errorf("%s %s unprefixed: %+v, %v", c.addr.Type(), f, v, err)
				}
			}
		}
	}
	// Formats that cannot serve an address are refused.
	if _, err := SignMessage(k, must(NewP2SHP2WPKH(pub, Mainnet)), msg, WithFormat(FormatSimple)); !errors.Is(err, ErrUnsupportedScript) {
		t.Errorf("simple for P2SH: %v", err)
	}
	if _, err := SignMessage(k, must(NewP2WPKH(pub, Mainnet)), msg, WithFormat(FormatLegacy)); !errors.Is(err, ErrUnsupportedScript) {
		t.Errorf("legacy for P2WPKH: %v", err)
	}
	if _, err := SignMessage(testKey(t, 22), must(NewP2WPKH(pub, Mainnet)), msg); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("foreign key: %v", err)
	}
}

func TestSignVerifyMessageMultisig(t *testing.T) {
	ctx := context.Background()
	privs, pubs := keys(t, 3, 30)
	sorted := must(NewSortedMultisig(2, pubs, Mainnet))
	tap := must(NewTaprootMultisig(2, pubs, Mainnet))
	for _, m := range []*Multisig{sorted, tap} {
		for _, f := range []MessageFormat{FormatUnknown, FormatFull} {
			sig, err := SignMessageMultisig(privs[1:], m, "multisig", WithFormat(f))
			if err != nil {
				t.Fatalf("%s: %v", m.Kind(), err)
			}
			v, err := VerifyMessage(ctx, m.Address(), "multisig", sig)
			if err != nil || v.Result != Valid {
				t.Errorf("%s %s: %+v, %v", m.Kind(), f, v, err)
			}
		}
		if _, err := SignMessageMultisig(privs[:1], m, "multisig"); !errors.Is(err, ErrPSBTIncomplete) {
			t.Errorf("%s with one key: %v", m.Kind(), err)
		}
	}
	// MuSig2 through the PSBT flow.
	mu := must(NewMuSig2Multisig(pubs, Mainnet))
	p, err := NewMessagePSBT(mu.Address(), "musig")
	if err != nil {
		t.Fatal(err)
	}
	digest, err := p.TaprootKeySpendSigHash(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetTaprootKeySpendSig(0, runMuSig2(t, mu, privs, digest)); err != nil {
		t.Fatal(err)
	}
	if err := p.Finalize(); err != nil {
		t.Fatal(err)
	}
	sig, err := p.MessageSignature(FormatUnknown)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := VerifyMessage(ctx, mu.Address(), "musig", sig); err != nil || v.Result != Valid || v.Format != FormatSimple {
		t.Errorf("musig: %+v, %v", v, err)
	}
}

func TestProofOfFunds(t *testing.T) {
	ctx := context.Background()
	k := testKey(t, 50)
	addr := must(NewP2WPKH(k.PubKey(), Mainnet))
	tr := must(NewP2TR(k.PubKey(), nil, Mainnet))
	prev, coins := fund(t, []int64{40_000, 60_000}, addr.PkScript(), tr.PkScript())
	sig, err := SignMessage(k, addr, "funds", WithProofOfFunds(coins...))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sig, "pof") {
		t.Fatalf("signature %.10s… is not a proof of funds", sig)
	}
	v, err := VerifyMessage(ctx, addr, "funds", sig)
	if err != nil || v.Result != Valid || v.Format != FormatProofOfFunds || v.FundsChecked || len(v.Funds) != 2 {
		t.Fatalf("offline: %+v, %v", v, err)
	}
	utxos := map[wire.OutPoint]*wire.TxOut{}
	for i, o := range prev.TxOut {
		utxos[coins[i].OutPoint] = o
	}
	lookup := func(_ context.Context, op wire.OutPoint) (*wire.TxOut, error) { return utxos[op], nil }
	v, err = VerifyMessage(ctx, addr, "funds", sig, WithUTXOLookup(lookup))
	if err != nil || v.Result != Valid || !v.FundsChecked {
		t.Fatalf("with lookup: %+v, %v", v, err)
	}
	delete(utxos, coins[1].OutPoint) // spent since
	v, err = VerifyMessage(ctx, addr, "funds", sig, WithUTXOLookup(lookup))
	if err != nil || v.Result != Invalid || !strings.Contains(v.Reason, "not an unspent output") {
		t.Fatalf("spent coin: %+v, %v", v, err)
	}
	utxos[coins[1].OutPoint] = wire.NewTxOut(1, tr.PkScript())
	v, err = VerifyMessage(ctx, addr, "funds", sig, WithUTXOLookup(lookup))
	if err != nil || v.Result != Invalid {
		t.Fatalf("different value: %+v, %v", v, err)
	}
	boom := errors.New("index down")
	if _, err := VerifyMessage(ctx, addr, "funds", sig, WithUTXOLookup(func(context.Context, wire.OutPoint) (*wire.TxOut, error) {
		return nil, boom
	})); !errors.Is(err, boom) {
		t.Fatalf("lookup failure: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := VerifyMessage(cancelled, addr, "funds", sig); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestVerifyMessageOutcomes(t *testing.T) {
	ctx := context.Background()
	k := testKey(t, 70)
	addr := must(NewP2WPKH(k.PubKey(), Mainnet))

	// Inconclusive: to_sign version 3 is reserved.
	p, err := NewMessagePSBT(addr, "v3")
	if err != nil {
		t.Fatal(err)
	}
	p.p.UnsignedTx.Version = 3
	if _, err := p.Sign(k); err != nil {
		t.Fatal(err)
	}
	if err := p.Finalize(); err != nil {
		t.Fatal(err)
	}
	sig, err := p.MessageSignature(FormatFull)
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifyMessage(ctx, addr, "v3", sig)
	if err != nil || v.Result != Inconclusive {
		t.Errorf("version 3: %+v, %v", v, err)
	}

	// Inconclusive: a future witness version is anyone-can-spend today.
	future, err := DecodeAddress("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs")
	if err != nil {
		t.Fatal(err)
	}
	v, err = VerifyMessage(ctx, future, "x", "smpAA==")
	if err != nil || v.Result != Inconclusive {
		t.Errorf("witness v2: %+v, %v", v, err)
	}

	// Invalid: SIGHASH_NONE is not allowed.
	p, _ = NewMessagePSBT(addr, "none")
	_ = p.SetSighashType(0, txscript.SigHashNone)
	if _, err := p.Sign(k); err != nil {
		t.Fatal(err)
	}
	if err := p.Finalize(); err != nil {
		t.Fatal(err)
	}
	sig, _ = p.MessageSignature(FormatFull)
	v, err = VerifyMessage(ctx, addr, "none", sig)
	if err != nil || v.Result != Invalid || !strings.Contains(v.Reason, "SIGHASH_ALL") {
		t.Errorf("SIGHASH_NONE: %+v, %v", v, err)
	}

	// Valid at time T and age S: a full signature with lock time and sequence set.
	p, _ = NewMessagePSBT(addr, "timelocked")
	p.p.UnsignedTx.LockTime = 800_000
	p.p.UnsignedTx.TxIn[0].Sequence = 144
	_, _ = p.Sign(k)
	_ = p.Finalize()
	sig, _ = p.MessageSignature(FormatUnknown)
	v, err = VerifyMessage(ctx, addr, "timelocked", sig)
	if err != nil || v.Result != Valid || v.Format != FormatFull || v.LockTime != 800_000 || v.Sequence != 144 {
		t.Errorf("time-locked: %+v, %v", v, err)
	}

	// Malformed signatures are errors, not verdicts.
	for _, bad := range []string{"", "smp", "ful!!!", "pofAAAA", "smp/////w==", "////"} {
		if _, err := VerifyMessage(ctx, addr, "m", bad); !errors.Is(err, ErrMalformedSignature) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestLegacyBIP137Segwit(t *testing.T) {
	ctx := context.Background()
	k := testKey(t, 80)
	for _, addr := range []Address{must(NewP2PKH(k.PubKey(), Mainnet)), must(NewP2SHP2WPKH(k.PubKey(), Mainnet)), must(NewP2WPKH(k.PubKey(), Mainnet))} {
		sig, err := SignMessageLegacy(k, addr, "bip137")
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyMessageLegacy(addr, "bip137", sig); err != nil {
			t.Errorf("%s: %v", addr.Type(), err)
		}
		if err := VerifyMessageLegacy(addr, "other", sig); !errors.Is(err, ErrNotSigned) {
			t.Errorf("%s other message: %v", addr.Type(), err)
		}
		v, err := VerifyMessage(ctx, addr, "bip137", sig)
		if err != nil || v.Result != Valid || v.Format != FormatLegacy {
			t.Errorf("%s via VerifyMessage: %+v, %v", addr.Type(), v, err)
		}
	}
	// A P2PKH-header signature says nothing about a P2WPKH address.
	p2pkh := must(NewP2PKH(k.PubKey(), Mainnet))
	sig, _ := SignMessageLegacy(k, p2pkh, "bip137")
	if err := VerifyMessageLegacy(must(NewP2WPKH(k.PubKey(), Mainnet)), "bip137", sig); !errors.Is(err, ErrAddressNoKey) {
		t.Errorf("P2PKH header on P2WPKH: %v", err)
	}
	if err := VerifyMessageLegacy(must(NewP2TR(k.PubKey(), nil, Mainnet)), "bip137", sig); !errors.Is(err, ErrAddressNoKey) {
		t.Errorf("P2TR: %v", err)
	}
}
