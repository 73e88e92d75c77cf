package bitcoin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// The BIP-84/BIP-86 test mnemonic's root key ("abandon … about").
const rootXprv = "xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu"

func Example_deriveAddresses() {
	root, err := bitcoin.ParseHDKey(rootXprv, bitcoin.Mainnet)
	if err != nil {
		panic(err)
	}
	for _, purpose := range []bitcoin.Purpose{bitcoin.BIP84, bitcoin.BIP86} {
		addr, _, err := root.DeriveAddress(purpose, 0, 0, 0)
		if err != nil {
			panic(err)
		}
		fmt.Println(purpose.Path(bitcoin.Mainnet, 0, 0, 0), addr.Type(), addr)
	}
	// Output:
	// m/84'/0'/0'/0/0 p2wpkh bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu
	// m/86'/0'/0'/0/0 p2tr bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr
}

func ExampleParseAddress() {
	_, err := bitcoin.ParseAddress("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", bitcoin.Testnet)
	fmt.Println(errors.Is(err, bitcoin.ErrWrongNetwork))
	fmt.Println(err)
	// Output:
	// true
	// bitcoin: wrong network "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu" for testnet: encoded for mainnet
}

func ExampleSignMessage() {
	root, _ := bitcoin.ParseHDKey(rootXprv, bitcoin.Mainnet)
	addr, key, _ := root.DeriveAddress(bitcoin.BIP84, 0, 0, 0)
	priv, _ := key.PrivateKey()

	sig, err := bitcoin.SignMessage(priv, addr, "I control this address")
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	v, _ := bitcoin.VerifyMessage(ctx, addr, "I control this address", sig)
	fmt.Println(v.Result, v.Format)
	v, _ = bitcoin.VerifyMessage(ctx, addr, "I control that address", sig)
	fmt.Println(v.Result)
	// Output:
	// valid simple
	// invalid
}

func ExampleNewSortedMultisig() {
	var keys []*btcec.PublicKey
	for i := byte(1); i <= 3; i++ {
		var b [32]byte
		b[31] = i
		_, pub := btcec.PrivKeyFromBytes(b[:])
		keys = append(keys, pub)
	}
	m, err := bitcoin.NewSortedMultisig(2, keys, bitcoin.Mainnet)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Kind(), m.Threshold(), len(m.Keys()), m.Address().Type())
	// Output: sorted-p2wsh 2 3 p2wsh
}

func ExampleCreatePSBT() {
	root, err := bitcoin.NewMasterKey(bytes.Repeat([]byte{7}, 32), bitcoin.Regtest)
	if err != nil {
		panic(err)
	}
	addr, key, _ := root.DeriveAddress(bitcoin.BIP86, 0, 0, 0)
	priv, _ := key.PrivateKey()

	// A coin of 100,000 sat paid to addr (normally from the chain's UTXO query).
	funding := wire.NewMsgTx(2)
	funding.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{1}, 0), nil, nil))
	funding.AddTxOut(wire.NewTxOut(100_000, addr.PkScript()))
	coin := bitcoin.Coin{OutPoint: wire.OutPoint{Hash: funding.TxHash()}, Value: 100_000, PkScript: addr.PkScript()}

	payee, _ := bitcoin.ParseAddress("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", bitcoin.Regtest)
	p, err := bitcoin.CreatePSBT([]*wire.TxOut{wire.NewTxOut(60_000, payee.PkScript())},
		[]bitcoin.Coin{coin}, bitcoin.FeeRate(2_000), addr) // 2 sat/vB
	if err != nil {
		panic(err)
	}
	if _, err := p.Sign(priv); err != nil {
		panic(err)
	}
	if err := p.Finalize(); err != nil {
		panic(err)
	}
	tx, err := p.Extract() // script-checked against the coin
	if err != nil {
		panic(err)
	}
	fee, _ := p.Fee()
	fmt.Println(len(tx.TxIn), "input,", len(tx.TxOut), "outputs, fee", int64(fee), "sat, RBF", p.SignalsRBF())
	// Output: 1 input, 2 outputs, fee 286 sat, RBF true
}

func ExampleFeatureExtractor_Tx() {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Hash: chainhash.Hash{7}}, Sequence: 0xfffffffd,
		Witness: wire.TxWitness{make([]byte, 64)}})
	tx.AddTxOut(wire.NewTxOut(50_000, append([]byte{0x51, 0x20}, make([]byte, 32)...)))
	tx.AddTxOut(wire.NewTxOut(12_345, append([]byte{0x00, 0x14}, make([]byte, 20)...)))

	e, _ := bitcoin.NewFeatureExtractor()
	v, _ := e.Tx(context.Background(), tx, -1, nil)
	schema := bitcoin.TxFeatureSchema()
	for _, name := range []string{"n_outputs", "vsize", "rbf", "in_p2tr", "out_round_count", "change_unique_nonround"} {
		fmt.Printf("%s=%v ", name, v[schema.Index(name)])
	}
	fmt.Println(schema.Name, schema.Version)
	// Output: n_outputs=2 vsize=142 rbf=1 in_p2tr=1 out_round_count=1 change_unique_nonround=1 bitcoin.tx 1
}

// Amounts from outside are range-checked: two outputs of 2^63-1 satoshis would wrap a sum to
// a negative total, so DecodeTx refuses them with an *AmountError.
func ExampleDecodeTx() {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 1}, nil, nil))
	tx.AddTxOut(wire.NewTxOut(math.MaxInt64, []byte{txscript.OP_TRUE}))
	tx.AddTxOut(wire.NewTxOut(math.MaxInt64, []byte{txscript.OP_TRUE}))
	var raw bytes.Buffer
	_ = tx.Serialize(&raw)

	_, err := bitcoin.DecodeTx(raw.Bytes())
	var ae *bitcoin.AmountError
	if errors.As(err, &ae) {
		fmt.Println(ae.What, ae.Index, errors.Is(err, bitcoin.ErrAmountOutOfRange))
	}
	// Output:
	// output 0 true
}
