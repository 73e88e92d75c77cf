package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
)

// testKey is a deterministic regtest key, with its WIF in a file only its owner can read.
type testKey struct {
	priv    *btcec.PrivateKey
	wif     string
	wifFile string
	pub     string // compressed, hex
	p2wpkh  bitcoin.Address
}

func newTestKey(t *testing.T, seed string) testKey {
	t.Helper()
	h := sha256.Sum256([]byte(seed))
	priv, _ := btcec.PrivKeyFromBytes(h[:])
	w, err := btcutil.NewWIF(priv, bitcoin.Regtest.Params(), true)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.wif")
	if err := os.WriteFile(path, []byte(w.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := bitcoin.NewP2WPKH(priv.PubKey(), bitcoin.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv: priv, wif: w.String(), wifFile: path, pub: hex.EncodeToString(priv.PubKey().SerializeCompressed()), p2wpkh: a}
}

// coinbaseTo mines a block paying pkScript on sim and matures it; it returns the coin as
// --coin wants it, less the address.
func coinbaseTo(t *testing.T, sim *simchain.Chain, pkScript []byte) (outpoint string, value int64) {
	t.Helper()
	hashes, err := sim.Mine(1, simchain.PayTo(pkScript))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Mine(100); err != nil {
		t.Fatal(err)
	}
	blk, err := sim.Block(context.Background(), hashes[0])
	if err != nil {
		t.Fatal(err)
	}
	cb := blk.Transactions[0]
	return cb.TxHash().String() + ":0", cb.TxOut[0].Value
}

func txOf(t *testing.T, hx string) *wire.MsgTx {
	t.Helper()
	raw, err := hex.DecodeString(hx)
	if err != nil {
		t.Fatal(err)
	}
	tx := new(wire.MsgTx)
	if err := tx.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	return tx
}

// TestPSBTSingleKey: create, sign, finalize on the CLI; the chain accepts the transaction.
func TestPSBTSingleKey(t *testing.T) {
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	alice, bob := newTestKey(t, "psbt alice"), newTestKey(t, "psbt bob")
	op, value := coinbaseTo(t, sim, alice.p2wpkh.PkScript())
	created, code := anya(t, "psbt", "create", "--coin", fmt.Sprintf("%s:%d:%s", op, value, alice.p2wpkh), "--to", bob.p2wpkh.String()+":25000",
		"--change", alice.p2wpkh.String(), "--fee-rate", "3")
	if code != exitOK || created["complete"] != false {
		t.Fatalf("create: %d %v", code, created)
	}
	fee, _ := created["fee_sat"].(json.Number).Int64()
	if fee <= 0 || fee > 3*200 {
		t.Fatalf("fee %d at 3 sat/vB", fee)
	}
	// Signing with a key that has no input to sign is refused; the PSBT is unchanged.
	if doc, code := anya(t, "psbt", "sign", created["psbt"].(string), "--wif-file", bob.wifFile); code != exitError || errorCode(t, doc) != "not_signed" {
		t.Fatalf("sign with another key: %d %v", code, doc)
	}
	signed, code := anya(t, "psbt", "sign", created["psbt"].(string), "--wif-file", alice.wifFile)
	if code != exitOK || signed["signed"] != jsonNum(1) {
		t.Fatalf("sign: %d %v", code, signed)
	}
	dec, _ := anya(t, "psbt", "decode", signed["psbt"].(string), "--network", "regtest")
	in := dec["inputs"].([]any)[0].(map[string]any)
	if in["partial_sigs"] != jsonNum(1) || in["address"].(map[string]any)["address"] != alice.p2wpkh.String() || in["final"] != false {
		t.Fatalf("decode: %v", dec)
	}
	outs := dec["outputs"].([]any)
	if len(outs) != 2 || !strings.Contains(fmt.Sprint(outs), bob.p2wpkh.String()) || dec["rbf"] != true {
		t.Fatalf("decode outputs: %v", dec)
	}
	final, code := anya(t, "psbt", "finalize", signed["psbt"].(string))
	if code != exitOK || final["complete"] != true {
		t.Fatalf("finalize: %d %v", code, final)
	}
	tx := txOf(t, final["tx"].(string))
	if tx.TxHash().String() != final["txid"] {
		t.Fatalf("txid %v", final["txid"])
	}
	if err := sim.TestAccept(context.Background(), tx); err != nil {
		t.Fatalf("the chain refuses the transaction: %v", err)
	}
	// Not enough coins.
	if doc, code := anya(t, "psbt", "create", "--coin", fmt.Sprintf("%s:%d:%s", op, value, alice.p2wpkh), "--to",
		fmt.Sprintf("%s:%d", bob.p2wpkh, value), "--change", alice.p2wpkh.String()); code != exitError || errorCode(t, doc) != "insufficient_funds" {
		t.Fatalf("insufficient funds: %d %v", code, doc)
	}
}

// TestPSBTMultisig: a 2-of-3 P2WSH coin, signed by two holders separately, combined, finalized;
// the chain accepts the transaction.
func TestPSBTMultisig(t *testing.T) {
	sim, err := simchain.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	k := []testKey{newTestKey(t, "ms 1"), newTestKey(t, "ms 2"), newTestKey(t, "ms 3")}
	ms, code := anya(t, "multisig", "create", "--threshold", "2", "--pubkey", k[0].pub, "--pubkey", k[1].pub, "--pubkey", k[2].pub,
		"--network", "regtest")
	if code != exitOK {
		t.Fatal(ms)
	}
	addr := ms["address"].(map[string]any)
	script, _ := hex.DecodeString(addr["script"].(string))
	op, value := coinbaseTo(t, sim, script)
	coin := fmt.Sprintf("%s:%d:%s:%s", op, value, addr["address"], ms["witness_script"])
	created, code := anya(t, "psbt", "create", "--coin", coin, "--to", k[0].p2wpkh.String()+":100000", "--change", addr["address"].(string))
	if code != exitOK {
		t.Fatalf("create: %v", created)
	}
	unsigned := created["psbt"].(string)
	var parts []string
	for _, key := range []testKey{k[0], k[2]} {
		doc, code := anya(t, "psbt", "sign", unsigned, "--wif-file", key.wifFile)
		if code != exitOK || doc["complete"] != false {
			t.Fatalf("sign: %d %v", code, doc)
		}
		parts = append(parts, doc["psbt"].(string))
	}
	// One signature does not finalize.
	if doc, code := anya(t, "psbt", "finalize", parts[0]); code != exitError || errorCode(t, doc) != "psbt_incomplete" {
		t.Fatalf("finalize with one signature: %d %v", code, doc)
	}
	// The parts come from files and standard input.
	file := writeFile(t, []byte(parts[0]+"\n"))
	combined, code := anyaIn(t, strings.NewReader(parts[1]), "psbt", "combine", "@"+file, "-")
	if code != exitOK {
		t.Fatalf("combine: %v", combined)
	}
	dec, _ := anya(t, "psbt", "decode", combined["psbt"].(string))
	if dec["inputs"].([]any)[0].(map[string]any)["partial_sigs"] != jsonNum(2) {
		t.Fatalf("combined: %v", dec)
	}
	final, code := anya(t, "psbt", "finalize", combined["psbt"].(string))
	if code != exitOK {
		t.Fatalf("finalize: %v", final)
	}
	if err := sim.TestAccept(context.Background(), txOf(t, final["tx"].(string))); err != nil {
		t.Fatalf("the chain refuses the multisig spend: %v", err)
	}
	// A PSBT of another transaction does not combine.
	other, _ := anya(t, "psbt", "create", "--coin", coin, "--to", k[1].p2wpkh.String()+":100000", "--change", addr["address"].(string))
	if doc, code := anya(t, "psbt", "combine", parts[0], other["psbt"].(string)); code != exitError || errorCode(t, doc) != "psbt_mismatch" {
		t.Fatalf("mismatched combine: %d %v", code, doc)
	}
}

type bip174 struct {
	Invalid []struct {
		Description, Hex, Base64 string
	} `json:"invalid"`
	Valid []struct {
		Description, Hex, Base64 string
	} `json:"valid"`
	WorkflowSteps []struct {
		Step, Hex, Base64 string
	} `json:"workflow_steps"`
	WorkflowRaw []string `json:"workflow_raw"`
}

func readBIP174(t *testing.T) bip174 {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "bitcoin", "testdata", "bip-0174_test-vectors.extracted.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v bip174
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPSBTBIP174 runs BIP-174's vectors through the CLI: the invalid PSBTs are refused, the
// valid ones decode, and the BIP's signers, combiner, finalizer and extractor give the BIP's
// PSBTs and transaction.
func TestPSBTBIP174(t *testing.T) {
	v := readBIP174(t)
	for _, c := range v.Invalid {
		for _, in := range []string{c.Hex, c.Base64} {
			if in == "" {
				continue
			}
			if doc, code := anya(t, "psbt", "decode", in); code != exitError || errorCode(t, doc) != "invalid_psbt" {
				t.Errorf("%s: %d %v", c.Description, code, doc)
			}
		}
	}
	for _, c := range v.Valid {
		hx, code := anya(t, "psbt", "decode", c.Hex)
		b64, _ := anya(t, "psbt", "decode", c.Base64)
		if code != exitOK || fmt.Sprint(hx) != fmt.Sprint(b64) {
			t.Errorf("%s: %d %v", c.Description, code, hx)
		}
		// Binary, from a file.
		raw, _ := hex.DecodeString(c.Hex)
		if bin, _ := anya(t, "psbt", "decode", "@"+writeFile(t, raw)); fmt.Sprint(bin) != fmt.Sprint(hx) {
			t.Errorf("%s: binary form: %v", c.Description, bin)
		}
	}
	// The signers' keys, in WIF, as the BIP lists them: two for each signer.
	wifs := regexp.MustCompile(`<tt>(c[1-9A-HJ-NP-Za-km-z]{51})</tt>`).FindAllStringSubmatch(strings.Join(v.WorkflowRaw, "\n"), -1)
	if len(wifs) != 4 {
		t.Fatalf("%d keys in the BIP's workflow", len(wifs))
	}
	steps := v.WorkflowSteps
	b64 := func(i int) string {
		raw, _ := hex.DecodeString(steps[i].Hex)
		p, err := bitcoin.ParsePSBT(raw)
		if err != nil {
			t.Fatal(err)
		}
		return p.Base64()
	}
	var signed []string
	for s := range 2 {
		p := b64(2)
		for _, w := range wifs[2*s : 2*s+2] {
			t.Setenv("BIP174_KEY", w[1])
			doc, code := anya(t, "psbt", "sign", p, "--wif-env", "BIP174_KEY")
			if code != exitOK {
				t.Fatalf("signer %d: %v", s+1, doc)
			}
			p = doc["psbt"].(string)
		}
		if p != b64(3+s) {
			t.Fatalf("signer %d: got %s\nwant %s", s+1, p, b64(3+s))
		}
		signed = append(signed, p)
	}
	combined, code := anya(t, "psbt", "combine", signed[0], signed[1])
	if code != exitOK {
		t.Fatal(combined)
	}
	final, code := anya(t, "psbt", "finalize", combined["psbt"].(string))
	if code != exitOK || final["psbt"] != b64(6) || final["tx"] != steps[7].Hex {
		t.Fatalf("finalize: %d %v", code, final)
	}
}
