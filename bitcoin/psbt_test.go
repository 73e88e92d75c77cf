package bitcoin

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// fund returns a transaction paying value to each script, and the coins it creates.
func fund(t testing.TB, values []int64, scripts ...[]byte) (*wire.MsgTx, []Coin) {
	t.Helper()
	tx := wire.NewMsgTx(2)
	h := chainhash.HashH([]byte(t.Name()))
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&h, 0), nil, nil))
	for i, s := range scripts {
		tx.AddTxOut(wire.NewTxOut(values[i%len(values)], s))
	}
	var coins []Coin
	txid := tx.TxHash()
	for i, o := range tx.TxOut {
		coins = append(coins, Coin{OutPoint: wire.OutPoint{Hash: txid, Index: uint32(i)}, Value: btcutil.Amount(o.Value), PkScript: o.PkScript, PrevTx: tx})
	}
	return tx, coins
}

// must returns v, panicking (failing the test) on err; for test setup only.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func keys(t testing.TB, n int, seed byte) ([]*btcec.PrivateKey, []*btcec.PublicKey) {
	var privs []*btcec.PrivateKey
	var pubs []*btcec.PublicKey
	for i := 0; i < n; i++ {
		k := testKey(t, seed+byte(i)*7)
		privs = append(privs, k)
		pubs = append(pubs, k.PubKey())
	}
	return privs, pubs
}

// TestSpendEveryKind creates, signs, finalizes and extracts a transaction spending one
// output of every supported kind; Extract runs each input through the script interpreter.
func TestSpendEveryKind(t *testing.T) {
	net := Regtest
	k := testKey(t, 40)
	privs, pubs := keys(t, 3, 90)
	sorted, err := NewSortedMultisig(2, pubs, net)
	if err != nil {
		t.Fatal(err)
	}
	musig, err := NewMuSig2Multisig(pubs, net)
	if err != nil {
		t.Fatal(err)
	}
	tapms, err := NewTaprootMultisig(2, pubs, net)
	if err != nil {
		t.Fatal(err)
	}
	p2pkh := must(NewP2PKH(k.PubKey(), net))
	p2shwpkh := must(NewP2SHP2WPKH(k.PubKey(), net))
	p2wpkh := must(NewP2WPKH(k.PubKey(), net))
	p2tr := must(NewP2TR(k.PubKey(), nil, net))
	_, coins := fund(t, []int64{100_000}, p2pkh.PkScript(), p2shwpkh.PkScript(), p2wpkh.PkScript(), p2tr.PkScript(),
		sorted.PkScript(), musig.PkScript(), tapms.PkScript())
	coins[1].RedeemScript = p2wpkhScript(hash160(k.PubKey().SerializeCompressed()))
	coins[4].Multisig = sorted
	coins[5].Multisig = musig
	coins[6].Multisig = tapms

	dest := must(NewP2WPKH(testKey(t, 200).PubKey(), net))
	change := must(NewP2TR(k.PubKey(), nil, net))
	p, err := CreatePSBT([]*wire.TxOut{wire.NewTxOut(650_000, dest.PkScript())}, coins, satVB(2), change)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.UnsignedTx().TxIn); got != 7 {
		t.Fatalf("%d inputs selected, want 7", got)
	}
	if !p.SignalsRBF() {
		t.Error("no RBF signal by default")
	}
	// Single-key inputs and two of three for the script multisigs.
	n, err := p.Sign(k, privs[0], privs[2])
	if err != nil {
		t.Fatal(err)
	}
	// k: p2pkh, p2sh-p2wpkh, p2wpkh, p2tr key path = 4; privs[0], privs[2]: sorted multisig 2,
	// tapscript leaf 2.
	if n != 8 {
		t.Errorf("Sign added %d signatures, want 8", n)
	}
	if err := p.Finalize(); !errors.Is(err, ErrPSBTIncomplete) {
		t.Fatalf("finalize without the MuSig2 signature: %v", err)
	}
	// MuSig2 key path, interactively.
	mi := -1
	for i, in := range p.UnsignedTx().TxIn {
		if in.PreviousOutPoint == coins[5].OutPoint {
			mi = i
		}
	}
	msg, err := p.TaprootKeySpendSigHash(mi)
	if err != nil {
		t.Fatal(err)
	}
	sig := runMuSig2(t, musig, privs, msg)
	if err := p.SetTaprootKeySpendSig(mi, sig); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(sig)
	bad[5] ^= 1
	if err := p.SetTaprootKeySpendSig(mi, bad); !errors.Is(err, ErrSignerCheck) {
		t.Errorf("bad key-path signature accepted: %v", err)
	}
	if err := p.Finalize(); err != nil {
		t.Fatal(err)
	}
	tx, err := p.Extract()
	if err != nil {
		t.Fatal(err)
	}
	fee, _ := p.Fee()
	vsize := (int64(txWeight(tx)) + 3) / 4
	if fee < satVB(2).FeeFor(vsize) {
		t.Errorf("fee %d below 2 sat/vB for %d vB", fee, vsize)
	}
	if fee > satVB(2).FeeFor(vsize)+100 {
		t.Errorf("fee %d far above 2 sat/vB for %d vB (estimate too pessimistic)", fee, vsize)
	}
}

func txWeight(tx *wire.MsgTx) int {
	return tx.SerializeSizeStripped()*3 + tx.SerializeSize()
}

// runMuSig2 runs the two MuSig2 rounds among all keys of m.
func runMuSig2(t testing.TB, m *Multisig, privs []*btcec.PrivateKey, msg []byte) []byte {
	t.Helper()
	order := m.Keys()
	sessions := make([]*MuSig2Session, len(order))
	nonces := make([][]byte, len(order))
	for _, priv := range privs {
		s, err := m.NewMuSig2Session(priv, nil)
		if err != nil {
			t.Fatal(err)
		}
		sessions[s.Index()] = s
		nonces[s.Index()] = s.PublicNonce()
	}
	partials := make([][]byte, len(order))
	for i, s := range sessions {
		ps, err := s.Sign(msg, nonces)
		if err != nil {
			t.Fatal(err)
		}
		partials[i] = ps
		if _, err := s.Sign(msg, nonces); !errors.Is(err, ErrNonceReused) {
			t.Fatalf("second Sign: %v", err)
		}
	}
	// A corrupted partial signature is blamed on its signer.
	bad := append([][]byte(nil), partials...)
	bad[1] = bytes.Clone(bad[1])
	bad[1][31] ^= 1
	var me *MuSig2Error
	if _, err := m.CombineMuSig2(msg, nonces, bad); !errors.As(err, &me) || me.Signer != 1 || me.Contribution != "psig" {
		t.Fatalf("bad partial: %v", err)
	}
	sig, err := m.CombineMuSig2(msg, nonces, partials)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestMultisigConstruction(t *testing.T) {
	_, pubs := keys(t, 3, 5)
	reversed := []*btcec.PublicKey{pubs[2], pubs[1], pubs[0]}
	a, _ := NewSortedMultisig(2, pubs, Mainnet)
	b, _ := NewSortedMultisig(2, reversed, Mainnet)
	if !a.Address().Equal(b.Address()) {
		t.Error("BIP-67: key order changes the address")
	}
	ks := a.Keys()
	for i := 1; i < len(ks); i++ {
		if bytes.Compare(ks[i-1].SerializeCompressed(), ks[i].SerializeCompressed()) >= 0 {
			t.Error("keys not sorted")
		}
	}
	for _, bad := range []struct {
		k    int
		keys []*btcec.PublicKey
	}{{0, pubs}, {4, pubs}, {1, nil}, {1, []*btcec.PublicKey{pubs[0], pubs[0]}}, {1, []*btcec.PublicKey{nil}}} {
		if _, err := NewSortedMultisig(bad.k, bad.keys, Mainnet); !errors.Is(err, ErrInvalidMultisig) {
			t.Errorf("k=%d: %v", bad.k, err)
		}
		if _, err := NewTaprootMultisig(bad.k, bad.keys, Mainnet); !errors.Is(err, ErrInvalidMultisig) {
			t.Errorf("taproot k=%d: %v", bad.k, err)
		}
	}
	m1, _ := NewMuSig2Multisig(pubs, Mainnet)
	m2, _ := NewMuSig2Multisig(reversed, Mainnet)
	if !m1.Address().Equal(m2.Address()) || m1.Address().Type() != P2TR {
		t.Error("MuSig2 address depends on key order")
	}
	agg, _ := MuSig2AggregateKey(pubs)
	if want, _ := NewP2TR(agg, nil, Mainnet); !want.Equal(m1.Address()) {
		t.Error("MuSig2 address is not the BIP-86 output of the aggregate key")
	}
	if _, err := a.NewMuSig2Session(testKey(t, 5), nil); !errors.Is(err, ErrInvalidMultisig) {
		t.Errorf("MuSig2 session on P2WSH: %v", err)
	}
	if _, err := m1.NewMuSig2Session(testKey(t, 99), nil); !errors.Is(err, ErrMuSig2) {
		t.Errorf("MuSig2 session with a foreign key: %v", err)
	}
	tm, _ := NewTaprootMultisig(2, pubs, Mainnet)
	if !bytes.Equal(xOnly(tm.InternalKey()), xOnly(numsKey())) {
		t.Error("internal key is not the NUMS point")
	}
	keysOut, k, ok := parseTapscriptMultisig(tm.LeafScript())
	if !ok || k != 2 || len(keysOut) != 3 {
		t.Errorf("leaf does not parse back: %v %d", ok, k)
	}
}

// A taproot multisig with a MuSig2 key path can be spent either way.
func TestTaprootMultisigBothPaths(t *testing.T) {
	privs, pubs := keys(t, 3, 60)
	m, err := NewTaprootMultisig(2, pubs, Testnet, WithMuSig2KeyPath())
	if err != nil {
		t.Fatal(err)
	}
	_, coins := fund(t, []int64{50_000}, m.PkScript(), m.PkScript())
	for _, c := range coins {
		c.Multisig = m
		dest := must(NewP2WPKH(pubs[0], Testnet))
		p, err := CreatePSBT([]*wire.TxOut{wire.NewTxOut(40_000, dest.PkScript())}, []Coin{c}, satVB(1), dest, WithRBF(false))
		if err != nil {
			t.Fatal(err)
		}
		if p.SignalsRBF() {
			t.Error("RBF signalled with WithRBF(false)")
		}
		if c.OutPoint.Index == 0 { // script path, two of three
			if _, err := p.Sign(privs[1], privs[2]); err != nil {
				t.Fatal(err)
			}
		} else { // key path, all three with MuSig2
			msg, err := p.TaprootKeySpendSigHash(0)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.SetTaprootKeySpendSig(0, runMuSig2(t, m, privs, msg)); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Finalize(); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Extract(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCreatePSBTCoinSelection(t *testing.T) {
	k := testKey(t, 7)
	addr := must(NewP2WPKH(k.PubKey(), Mainnet))
	_, coins := fund(t, []int64{10_000, 20_000, 50_000, 100_000, 7_000}, addr.PkScript(), addr.PkScript(),
		addr.PkScript(), addr.PkScript(), addr.PkScript())
	dest := must(NewP2TR(testKey(t, 8).PubKey(), nil, Mainnet))
	rate := satVB(5)

	t.Run("changeless", func(t *testing.T) {
		// 50_000 + 7_000 minus their input fees and the base fee pays exactly this: BnB
		// must find it and add no change.
		overhead := int64(txOverheadWeight + segwitFlagWeight + outputWeight(dest.PkScript()))
		w, _, _ := inputWeight(coins[0])
		amount := 57_000 - rate.feeForWeight(overhead) - 2*rate.feeForWeight(w)
		p, err := CreatePSBT([]*wire.TxOut{wire.NewTxOut(amount, dest.PkScript())}, coins, rate, addr)
		if err != nil {
			t.Fatal(err)
		}
		tx := p.UnsignedTx()
		if len(tx.TxOut) != 1 || len(tx.TxIn) != 2 {
			t.Fatalf("%d inputs, %d outputs; want 2, 1", len(tx.TxIn), len(tx.TxOut))
		}
	})
	t.Run("change", func(t *testing.T) {
		p, err := CreatePSBT([]*wire.TxOut{wire.NewTxOut(120_000, dest.PkScript())}, coins, rate, addr)
		if err != nil {
			t.Fatal(err)
		}
		tx := p.UnsignedTx()
		if len(tx.TxOut) != 2 {
			t.Fatalf("%d outputs, want payment and change", len(tx.TxOut))
		}
		if _, err := p.Sign(k); err != nil {
			t.Fatal(err)
		}
		if err := p.Finalize(); err != nil {
			t.Fatal(err)
		}
		final, err := p.Extract()
		if err != nil {
			t.Fatal(err)
		}
		fee, _ := p.Fee()
		vsize := int64(txWeight(final)+3) / 4
		if fee < rate.FeeFor(vsize) {
			t.Errorf("fee %d below the rate for %d vB", fee, vsize)
		}
	})
	t.Run("insufficient", func(t *testing.T) {
		_, err := CreatePSBT([]*wire.TxOut{wire.NewTxOut(190_000, dest.PkScript())}, coins, rate, addr)
		var ie *InsufficientFundsError
		if !errors.As(err, &ie) || !errors.Is(err, ErrInsufficientFunds) || ie.Available >= ie.Needed {
			t.Fatalf("%v", err)
		}
	})
	t.Run("dust", func(t *testing.T) {
		_, err := CreatePSBT([]*wire.TxOut{wire.NewTxOut(200, dest.PkScript())}, coins, rate, addr)
		if !errors.Is(err, ErrDustOutput) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("max fee", func(t *testing.T) {
		_, err := CreatePSBT([]*wire.TxOut{wire.NewTxOut(1000, dest.PkScript())}, coins, satVB(500), addr, WithMaxFee(10_000))
		if !errors.Is(err, ErrFeeTooHigh) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("uneconomical coins skipped", func(t *testing.T) {
		_, tiny := fund(t, []int64{300}, addr.PkScript())
		_, err := CreatePSBT([]*wire.TxOut{wire.NewTxOut(1000, dest.PkScript())}, tiny, satVB(10), addr)
		if !errors.Is(err, ErrInsufficientFunds) {
			t.Fatalf("%v", err)
		}
	})
}

func TestDustThreshold(t *testing.T) {
	k := testKey(t, 3).PubKey()
	for _, c := range []struct {
		a    Address
		want btcutil.Amount
	}{
		{must(NewP2PKH(k, Mainnet)), 546},
		{must(NewP2SHP2WPKH(k, Mainnet)), 540},
		{must(NewP2WPKH(k, Mainnet)), 294},
		{must(NewP2TR(k, nil, Mainnet)), 330},
	} {
		if got := DustThreshold(c.a.PkScript()); got != c.want {
			t.Errorf("%s: %d, want %d", c.a.Type(), got, c.want)
		}
	}
}

func TestPSBTSafety(t *testing.T) {
	k := testKey(t, 11)
	addr := must(NewP2WPKH(k.PubKey(), Mainnet))
	prev, coins := fund(t, []int64{80_000}, addr.PkScript())
	p, err := CreatePSBT([]*wire.TxOut{wire.NewTxOut(50_000, addr.PkScript())}, coins, satVB(1), addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Extract(); !errors.Is(err, ErrPSBTIncomplete) {
		t.Errorf("extract unsigned: %v", err)
	}
	if err := p.Finalize(); !errors.Is(err, ErrPSBTIncomplete) {
		t.Errorf("finalize unsigned: %v", err)
	}
	// A coin whose previous transaction does not match is refused, the PSBT unchanged.
	before := p.Bytes()
	other := prev.Copy()
	other.LockTime = 99
	if err := p.AddCoin(0, Coin{OutPoint: coins[0].OutPoint, PrevTx: other}); !errors.Is(err, ErrInvalidPSBT) {
		t.Errorf("mismatched prev tx: %v", err)
	}
	if err := p.AddCoin(0, Coin{OutPoint: coins[0].OutPoint, Value: 80_000, PkScript: addr.PkScript(), WitnessScript: []byte{txscript.OP_TRUE}}); !errors.Is(err, ErrInvalidPSBT) {
		t.Errorf("witness script for a P2WPKH: %v", err)
	}
	if !bytes.Equal(before, p.Bytes()) {
		t.Error("refused AddCoin changed the PSBT")
	}
	// Signing with an unrelated key adds nothing.
	if n, err := p.Sign(testKey(t, 12)); n != 0 || err != nil {
		t.Errorf("foreign key: %d, %v", n, err)
	}
	if n, err := p.Sign(k); n != 1 || err != nil {
		t.Fatalf("sign: %d %v", n, err)
	}
	if n, _ := p.Sign(k); n != 0 {
		t.Error("signing twice added a second signature")
	}
	if err := p.SetLockTime(5); !errors.Is(err, ErrInvalidPSBT) {
		t.Errorf("lock time change after signing: %v", err)
	}
	// A tampered signature is caught by Extract's script check.
	p.p.Inputs[0].PartialSigs[0].Signature[10] ^= 1
	if err := p.Finalize(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Extract(); !errors.Is(err, ErrSignerCheck) {
		t.Errorf("tampered signature extracted: %v", err)
	}
	// Text and binary forms parse to the same PSBT.
	q, err := ParsePSBT([]byte(p.Base64()))
	if err != nil || !bytes.Equal(q.Bytes(), p.Bytes()) {
		t.Errorf("base64 round trip: %v", err)
	}
	_ = sha256.Sum256
}
