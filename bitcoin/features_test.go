package bitcoin

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// mainnetBlock returns btcd's 1.25 MB mainnet test block (height 574200), read from the
// btcd module in the module cache.
func mainnetBlock(tb testing.TB) []byte {
	tb.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	if err != nil {
		tb.Skipf("cannot locate the btcd module: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	b, err := os.ReadFile(filepath.Join(dir, "wire", "testdata",
		"block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"))
	if err != nil {
		tb.Skipf("btcd test block: %v", err)
	}
	return b
}

type mapLookup struct {
	outs   map[wire.OutPoint]*wire.TxOut
	height map[wire.OutPoint]int32
	uses   map[string]int
}

func (m *mapLookup) PrevOutput(_ context.Context, op wire.OutPoint) (*wire.TxOut, int32, bool, error) {
	o, ok := m.outs[op]
	return o, m.height[op], ok, nil
}

func (m *mapLookup) ScriptUses(_ context.Context, pk []byte) (int, bool, error) {
	return m.uses[string(pk)], true, nil
}

func TestTxFeatures(t *testing.T) {
	ctx := context.Background()
	k := testKey(t, 1)
	p2wpkh := must(NewP2WPKH(k.PubKey(), Mainnet))
	p2tr := must(NewP2TR(k.PubKey(), nil, Mainnet))
	prev, coins := fund(t, []int64{300_000, 200_000}, p2wpkh.PkScript(), p2wpkh.PkScript())
	dest := must(NewP2PKH(testKey(t, 2).PubKey(), Mainnet))
	p, err := CreatePSBT([]*wire.TxOut{
		wire.NewTxOut(400_000, dest.PkScript()),
		wire.NewTxOut(40_000, []byte{0x6a, 0x01, 0x00}), // OP_RETURN outputs carry value only in tests
	}, coins, satVB(3), p2tr, WithLockTime(800_000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Sign(k); err != nil {
		t.Fatal(err)
	}
	_ = p.Finalize()
	tx, err := p.Extract()
	if err != nil {
		t.Fatal(err)
	}
	schema := TxFeatureSchema()
	get := func(v []float32, name string) float32 {
		i := schema.Index(name)
		if i < 0 {
			t.Fatalf("no feature %q", name)
		}
		return v[i]
	}

	e, err := NewFeatureExtractor()
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.Tx(ctx, tx, 800_010, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != len(schema.Names) {
		t.Fatalf("%d features, schema has %d", len(v), len(schema.Names))
	}
	var outTotal int64
	for _, o := range tx.TxOut {
		outTotal += o.Value
	}
	weight := tx.SerializeSizeStripped()*3 + tx.SerializeSize()
	for name, want := range map[string]float32{
		"version": 2, "locktime": 800_000, "locktime_is_height": 1, "rbf": 1, "has_witness": 1,
		"n_inputs": float32(len(tx.TxIn)), "n_outputs": 3, "weight": float32(weight), "vsize": float32((weight + 3) / 4),
		"out_total_btc": float32(float64(outTotal) / 1e8), "out_p2pkh": 1, "out_p2tr": 1, "out_op_return": 1,
		"in_p2wpkh": 2, "out_round_count": 2, "change_unique_nonround": 1, "change_same_type_count": 0,
		"inputs_known": 0, "fee_btc": 0, "ages_known": 0, "reuse_known": 0,
	} {
		if got := get(v, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}

	// With a lookup: values, fee, ages and reuse.
	l := &mapLookup{outs: map[wire.OutPoint]*wire.TxOut{}, height: map[wire.OutPoint]int32{}, uses: map[string]int{string(p2tr.PkScript()): 3}}
	for i, c := range coins {
		l.outs[c.OutPoint] = prev.TxOut[i]
		l.height[c.OutPoint] = 800_000 - int32(i)*5
	}
	e2, _ := NewFeatureExtractor(WithFeatureLookup(l))
	v2, err := e2.Tx(ctx, tx, 800_010, nil)
	if err != nil {
		t.Fatal(err)
	}
	fee, _ := p.Fee()
	vsize := float32((weight + 3) / 4)
	for name, want := range map[string]float32{
		"inputs_known": 1, "in_total_btc": 0.005, "in_min_btc": 0.002, "in_max_btc": 0.003,
		"fee_btc": float32(float64(fee) / 1e8), "fee_rate_sat_vb": float32(fee) / vsize,
		"ages_known": 1, "in_age_min_blocks": 10, "in_age_max_blocks": 15, "in_age_mean_blocks": 12.5,
		"reuse_known": 1, "out_reused_count": 1, "out_to_input_script_count": 0,
	} {
		if got := get(v2, name); math.Abs(float64(got-want)) > 1e-6*math.Max(1, math.Abs(float64(want))) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Change back to the inputs' own script is seen as such.
	back := tx.Copy()
	for _, o := range back.TxOut {
		if string(o.PkScript) == string(p2tr.PkScript()) {
			o.PkScript = p2wpkh.PkScript()
		}
	}
	v4, err := e2.Tx(ctx, back, 800_010, nil)
	if err != nil {
		t.Fatal(err)
	}
	if get(v4, "out_to_input_script_count") != 1 || get(v4, "change_same_type_count") != 1 {
		t.Errorf("change to the input script: %v, %v", get(v4, "out_to_input_script_count"), get(v4, "change_same_type_count"))
	}
	// Appending keeps what dst held.
	v3, _ := e.Tx(ctx, tx, -1, []float32{42})
	if v3[0] != 42 || len(v3) != 1+len(schema.Names) {
		t.Error("Tx does not append")
	}
	if _, err := e.Tx(ctx, nil, 0, nil); err == nil {
		t.Error("nil tx accepted")
	}
}

func TestInferInputClass(t *testing.T) {
	k := testKey(t, 9)
	net := Mainnet
	privs, pubs := keys(t, 3, 70)
	tapms := must(NewTaprootMultisig(2, pubs, net))
	sorted := must(NewSortedMultisig(2, pubs, net))
	addrs := []Address{must(NewP2PKH(k.PubKey(), net)), must(NewP2SHP2WPKH(k.PubKey(), net)), must(NewP2WPKH(k.PubKey(), net)),
		sorted.Address(), must(NewP2TR(k.PubKey(), nil, net)), tapms.Address()}
	var scripts [][]byte
	for _, a := range addrs {
		scripts = append(scripts, a.PkScript())
	}
	_, coins := fund(t, []int64{100_000}, scripts...)
	coins[1].RedeemScript = p2wpkhScript(hash160(k.PubKey().SerializeCompressed()))
	coins[3].Multisig = sorted
	coins[5].Multisig = tapms
	p, err := CreatePSBT([]*wire.TxOut{wire.NewTxOut(500_000, scripts[2])}, coins, satVB(1), addrs[2])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Sign(k, privs[0], privs[1]); err != nil {
		t.Fatal(err)
	}
	if err := p.Finalize(); err != nil {
		t.Fatal(err)
	}
	tx, err := p.Extract()
	if err != nil {
		t.Fatal(err)
	}
	for i, in := range tx.TxIn {
		var want scriptClass
		for j, c := range coins {
			if c.OutPoint == in.PreviousOutPoint {
				want = classify(scripts[j])
			}
		}
		if got := inferInputClass(in); got != want {
			t.Errorf("input %d: inferred %d, spends %d", i, got, want)
		}
	}
}

func TestBlockFeaturesMainnet(t *testing.T) {
	raw := mainnetBlock(t)
	var blk wire.MsgBlock
	if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	e, _ := NewFeatureExtractor()
	ctx := context.Background()
	v, err := e.Block(ctx, &blk, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := BlockFeatureSchema()
	get := func(name string) float32 { return v[s.Index(name)] }
	height := coinbaseHeight(blk.Transactions[0])
	if height != 574200 {
		t.Fatalf("BIP-34 height %d", height)
	}
	var cb int64
	for _, o := range blk.Transactions[0].TxOut {
		cb += o.Value
	}
	if get("tx_count") != float32(len(blk.Transactions)) || len(blk.Transactions) != 3315 {
		t.Errorf("tx_count %v", get("tx_count"))
	}
	if get("size") != float32(len(raw)) {
		t.Errorf("size %v, block is %d bytes", get("size"), len(raw))
	}
	if want := float32(float64(cb-1_250_000_000) / 1e8); get("fee_total_known") != 1 || get("fee_total_btc") != want {
		t.Errorf("fee total %v, want %v", get("fee_total_btc"), want)
	}
	// Transactions spending outputs of the same block get fee rates.
	if f := get("fee_rates_known_frac"); f <= 0 || f >= 1 {
		t.Errorf("fee_rates_known_frac %v", f)
	}
	txs := TxFeatureSchema()
	var buf []float32
	for _, tx := range blk.Transactions {
		buf, err = e.Tx(ctx, tx, height, buf[:0])
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range buf {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("%v: %s = %v", tx.TxHash(), txs.Names[i], x)
			}
		}
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			t.Fatalf("block %s = %v", s.Names[i], x)
		}
	}
}

func TestTxFeaturesDoNotAllocate(t *testing.T) {
	raw := mainnetBlock(t)
	var blk wire.MsgBlock
	if err := blk.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	e, _ := NewFeatureExtractor()
	ctx := context.Background()
	buf := make([]float32, 0, numTxFeatures)
	allocs := testing.AllocsPerRun(10, func() {
		for _, tx := range blk.Transactions {
			buf, _ = e.Tx(ctx, tx, 574200, buf[:0])
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per block", allocs)
	}
}

func TestCoinbaseHeightAndSubsidy(t *testing.T) {
	cb := wire.NewMsgTx(1)
	cb.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{}, wire.MaxPrevOutIndex), []byte{0x03, 0x40, 0x0c, 0x0a}, nil))
	if h := coinbaseHeight(cb); h != 0x0a0c40 {
		t.Errorf("height %d", h)
	}
	cb.TxIn[0].SignatureScript = []byte{0x55}
	if h := coinbaseHeight(cb); h != 5 {
		t.Errorf("small height %d", h)
	}
	if subsidy(0, Mainnet) != 50e8 || subsidy(210_000, Mainnet) != 25e8 || subsidy(150, Regtest) != 25e8 {
		t.Error("subsidy schedule")
	}
}
