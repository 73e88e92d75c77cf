package bitcoin

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

type bip174Vectors struct {
	Invalid []struct {
		Description string `json:"description"`
		Hex         string `json:"hex"`
		Base64      string `json:"base64"`
	} `json:"invalid"`
	Valid []struct {
		Description string `json:"description"`
		Hex         string `json:"hex"`
		Base64      string `json:"base64"`
	} `json:"valid"`
	SignerCheckFail []struct {
		Description string `json:"description"`
		Hex         string `json:"hex"`
	} `json:"signer_check_fail"`
	WorkflowSteps []struct {
		Step string `json:"step"`
		Hex  string `json:"hex"`
	} `json:"workflow_steps"`
	WorkflowRaw []string `json:"workflow_raw"`
}

func TestBIP174InvalidVectors(t *testing.T) {
	var v bip174Vectors
	readVector(t, "bip-0174_test-vectors.extracted.json", &v)
	for _, c := range v.Invalid {
		for _, in := range [][]byte{unhex(t, c.Hex), []byte(c.Base64)} {
			p, err := ParsePSBT(in)
			if err == nil {
				t.Errorf("%s: accepted:\n%s", c.Description, p.Base64())
				continue
			}
			if !errors.Is(err, ErrInvalidPSBT) {
				t.Errorf("%s: error %v does not wrap ErrInvalidPSBT", c.Description, err)
			}
		}
	}
}

func TestBIP174ValidVectors(t *testing.T) {
	var v bip174Vectors
	readVector(t, "bip-0174_test-vectors.extracted.json", &v)
	for _, c := range v.Valid {
		p, err := ParsePSBT(unhex(t, c.Hex))
		if err != nil {
			t.Errorf("%s: %v", c.Description, err)
			continue
		}
		p2, err := ParsePSBT([]byte(c.Base64))
		if err != nil || !bytes.Equal(p.Bytes(), p2.Bytes()) {
			t.Errorf("%s: base64 form: %v", c.Description, err)
		}
		// Our own serialization must parse back to the same bytes.
		p3, err := ParsePSBT(p.Bytes())
		if err != nil || !bytes.Equal(p3.Bytes(), p.Bytes()) {
			t.Errorf("%s: re-encoding does not round-trip: %v", c.Description, err)
		}
	}
}

// The BIP's workflow keys: the master key and the derivation of each public key.
const bip174Master = "tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCefAdHkK8Fm3qMQR6sHwA56zqRmKmxnHk37JkiFzvncDqoKmPWubu7hDF"

var bip174Paths = []string{"m/0'/0'/0'", "m/0'/0'/1'", "m/0'/0'/2'", "m/0'/0'/3'", "m/0'/0'/4'", "m/0'/0'/5'"}

func bip174Keys(t *testing.T) []*HDKey {
	master, err := ParseHDKey(bip174Master, Testnet)
	if err != nil {
		t.Fatal(err)
	}
	var keys []*HDKey
	for _, p := range bip174Paths {
		k, err := master.Derive(p)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

func TestBIP174SignerChecks(t *testing.T) {
	var v bip174Vectors
	readVector(t, "bip-0174_test-vectors.extracted.json", &v)
	var privs []*btcec.PrivateKey
	for _, k := range bip174Keys(t) {
		priv, _ := k.PrivateKey()
		privs = append(privs, priv)
	}
	for _, c := range v.SignerCheckFail {
		p, err := ParsePSBT(unhex(t, c.Hex))
		if err != nil {
			t.Fatalf("%s: parse: %v", c.Description, err)
		}
		before := p.Bytes()
		n, err := p.Sign(privs...)
		if !errors.Is(err, ErrSignerCheck) || n != 0 {
			t.Errorf("%s: Sign = %d, %v; want ErrSignerCheck", c.Description, n, err)
		}
		if !bytes.Equal(before, p.Bytes()) {
			t.Errorf("%s: PSBT changed by a refused Sign", c.Description)
		}
	}
}

// TestBIP174Workflow runs the BIP's creator, updater, signer, combiner, finalizer and
// extractor example and compares every intermediate PSBT byte for byte.
func TestBIP174Workflow(t *testing.T) {
	var v bip174Vectors
	readVector(t, "bip-0174_test-vectors.extracted.json", &v)
	steps := v.WorkflowSteps
	raw := strings.Join(v.WorkflowRaw, "\n")
	if !strings.Contains(raw, "0014d85c2b71d0060b09c9886aeb815e50991dda124d") {
		t.Fatal("workflow text not as expected")
	}
	hash := func(s string) *wire.OutPoint {
		op, err := wire.NewOutPointFromString(s)
		if err != nil {
			t.Fatal(err)
		}
		return op
	}
	// Creator.
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(hash("75ddabb27b8845f5247975c8a5ba7c6f336c4570708ebe230caf6db5217ae858:0"), nil, nil))
	tx.AddTxIn(wire.NewTxIn(hash("1dea7cd05979072a3578cab271c02244ea8a090bbb46aa680a65ecd027048d83:1"), nil, nil))
	tx.AddTxOut(wire.NewTxOut(149990000, unhex(t, "0014d85c2b71d0060b09c9886aeb815e50991dda124d")))
	tx.AddTxOut(wire.NewTxOut(100000000, unhex(t, "001400aea9a2e5f0f876a588df5546e8742d1d87008f")))
	p, err := NewPSBT(tx)
	if err != nil {
		t.Fatal(err)
	}
	expect := func(step int, got []byte) {
		t.Helper()
		if want := unhex(t, steps[step].Hex); !bytes.Equal(got, want) {
			t.Fatalf("step %d (%s):\n got %x\nwant %x", step, steps[step].Step, got, want)
		}
	}
	expect(0, p.Bytes())

	// Updater: previous transactions, scripts and key origins.
	prev0 := new(wire.MsgTx)
	_ = prev0.Deserialize(bytes.NewReader(unhex(t, "0200000001aad73931018bd25f84ae400b68848be09db706eac2ac18298babee71ab656f8b0000000048473044022058f6fc7c6a33e1b31548d481c826c015bd30135aad42cd67790dab66d2ad243b02204a1ced2604c6735b6393e5b41691dd78b00f0c5942fb9f751856faa938157dba01feffffff0280f0fa020000000017a9140fb9463421696b82c833af241c78c17ddbde493487d0f20a270100000017a91429ca74f8a08f81999428185c97b5d852e4063f618765000000")))
	prev1 := new(wire.MsgTx)
	_ = prev1.Deserialize(bytes.NewReader(unhex(t, "0200000000010158e87a21b56daf0c23be8e7070456c336f7cbaa5c8757924f545887bb2abdd7501000000171600145f275f436b09a8cc9a2eb2a2f528485c68a56323feffffff02d8231f1b0100000017a914aed962d6654f9a2b36608eb9d64d2b260db4f1118700c2eb0b0000000017a914b7f5faf40e3d40a5a459b1db3535f2b72fa921e88702483045022100a22edcc6e5bc511af4cc4ae0de0fcd75c7e04d8c1c3a8aa9d820ed4b967384ec02200642963597b9b1bc22c75e9f3e117284a962188bf5e8a74c895089046a20ad770121035509a48eb623e10aace8bfd0212fdb8a8e5af3c94b0b133b95e114cab89e4f7965000000")))
	o1 := prev1.TxOut[1]
	if err := p.AddCoin(0, Coin{OutPoint: tx.TxIn[0].PreviousOutPoint, PrevTx: prev0,
		RedeemScript: unhex(t, "5221029583bf39ae0a609747ad199addd634fa6108559d6c5cd39b4c2183f1ab96e07f2102dab61ff49a14db6a7d02b0cd1fbb78fc4b18312b5b4e54dae4dba2fbfef536d752ae")}); err != nil {
		t.Fatal(err)
	}
	if err := p.AddCoin(1, Coin{OutPoint: tx.TxIn[1].PreviousOutPoint, Value: btcutil.Amount(o1.Value), PkScript: o1.PkScript,
		RedeemScript:  unhex(t, "00208c2353173743b595dfb4a07b72ba8e42e3797da74e87fe7d9d7497e3b2028903"),
		WitnessScript: unhex(t, "522103089dc10c7ac6db54f91329af617333db388cead0c231f723379d1b99030b02dc21023add904f3d6dcf59ddb906b0dee23529b7ffb9ed50e5e86151926860221f0e7352ae")}); err != nil {
		t.Fatal(err)
	}
	keys := bip174Keys(t)
	for _, k := range keys {
		fp, path, ok := k.Origin()
		if !ok {
			t.Fatal("origin unknown")
		}
		if err := p.AddKeyOrigin(k.PublicKey(), fp, path); err != nil {
			t.Fatal(err)
		}
	}
	expect(1, p.Bytes())
	for i := 0; i < 2; i++ {
		_ = p.SetSighashType(i, txscript.SigHashAll)
	}
	expect(2, p.Bytes())

	// Two signers, each holding two of the keys.
	sign := func(ks ...*HDKey) *PSBT {
		c := p.Clone()
		var privs []*btcec.PrivateKey
		for _, k := range ks {
			priv, _ := k.PrivateKey()
			privs = append(privs, priv)
		}
		if n, err := c.Sign(privs...); err != nil || n != 2 {
			t.Fatalf("sign: %d, %v", n, err)
		}
		return c
	}
	s1 := sign(keys[0], keys[2])
	expect(3, s1.Bytes())
	s2 := sign(keys[1], keys[3])
	expect(4, s2.Bytes())

	// Combiner, finalizer, extractor.
	if err := s1.Combine(s2); err != nil {
		t.Fatal(err)
	}
	// BIP-174 maps are unordered. The BIP's combined PSBT lists partial signatures in
	// Bitcoin Core's order (by HASH160 of the key) while btcd's serializer sorts them by
	// key, so this step compares the key-value maps rather than the bytes.
	if got, want := canonicalPSBT(t, s1.Bytes()), canonicalPSBT(t, unhex(t, steps[5].Hex)); got != want {
		t.Fatalf("step 5 (%s): maps differ\n got %s\nwant %s", steps[5].Step, got, want)
	}
	if err := s1.Finalize(); err != nil {
		t.Fatal(err)
	}
	expect(6, s1.Bytes())
	final, err := s1.Extract()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_ = final.Serialize(&buf)
	expect(7, buf.Bytes())

	// Combining PSBTs with unknown fields orders the union by key.
	a, err := ParsePSBT(unhex(t, steps[8].Hex))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParsePSBT(unhex(t, steps[9].Hex))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Combine(b); err != nil {
		t.Fatal(err)
	}
	expect(10, a.Bytes())

	// A PSBT of another transaction cannot be combined in, and p stays unchanged.
	before := a.Bytes()
	if err := a.Combine(s2); !errors.Is(err, ErrPSBTMismatch) || !bytes.Equal(before, a.Bytes()) {
		t.Fatalf("mismatched combine: %v", err)
	}
}

// canonicalPSBT renders a PSBT's maps with their pairs sorted, for order-insensitive
// comparison.
func canonicalPSBT(t *testing.T, b []byte) string {
	t.Helper()
	r, err := parsePSBTStrict(b)
	if err != nil {
		t.Fatal(err)
	}
	render := func(m []psbtKV) string {
		var pairs []string
		for _, kv := range m {
			pairs = append(pairs, fmt.Sprintf("%x:%x=%x", kv.keyType, kv.keyData, kv.value))
		}
		sort.Strings(pairs)
		return "{" + strings.Join(pairs, ",") + "}"
	}
	out := render(r.global)
	for _, m := range r.inputs {
		out += " in" + render(m)
	}
	for _, m := range r.outputs {
		out += " out" + render(m)
	}
	return out
}
