package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	sdk "github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bridge/monitor"
)

// mainnetBlockBytes returns btcd's 1.25 MB mainnet test block (height 574200, 3,315
// transactions) from the btcd module in the module cache.
func mainnetBlockBytes(t testing.TB) []byte {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/btcsuite/btcd").Output()
	if err != nil {
		t.Skipf("cannot locate the btcd module: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "wire", "testdata",
		"block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"))
	if err != nil {
		t.Skipf("btcd test block: %v", err)
	}
	return raw
}

// The monitor alerts at the Manager's risk threshold: one threshold across the SDK.
func TestMonitorThresholdIsTheManagers(t *testing.T) {
	if monitor.DefaultThreshold != sdk.DefaultRiskThreshold {
		t.Fatalf("monitor.DefaultThreshold %v, anya.DefaultRiskThreshold %v", monitor.DefaultThreshold, sdk.DefaultRiskThreshold)
	}
}

// score block scores every transaction of a real mainnet block but the coinbase; the block is
// read alike as a file name, as @FILE in hex and on standard input in binary.
func TestScoreBlockMainnet(t *testing.T) {
	raw := mainnetBlockBytes(t)
	binFile := writeFile(t, raw)
	hexFile := writeFile(t, []byte(hex.EncodeToString(raw)+"\n"))
	doc, code := anya(t, "score", "block", binFile, "--backend", "go", "--all")
	if code != exitOK {
		t.Fatalf("exit %d: %v", code, doc)
	}
	num := func(d map[string]any, k string) float64 {
		f, err := d[k].(json.Number).Float64()
		if err != nil {
			t.Fatalf("%s: %v in %v", k, err, d[k])
		}
		return f
	}
	if num(doc, "transactions") != 3315 || num(doc, "scored") != 3314 || num(doc, "height") != 574200 || num(doc, "threshold") != 0.7 ||
		doc["block"] != "0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2" || doc["backend"] != "go" || doc["model"] != "fraud@1" {
		t.Fatalf("summary %v", doc)
	}
	scores := doc["scores"].([]any)
	alerts := 0
	for _, s := range scores {
		s := s.(map[string]any)
		risk := num(s, "risk")
		if risk < 0 || risk > 1 || (risk >= 0.7) != (s["alert"] == true) || len(s["txid"].(string)) != 64 {
			t.Fatalf("score %v", s)
		}
		if s["alert"] == true {
			alerts++
		}
	}
	if len(scores) != 3314 || float64(alerts) != num(doc, "alerts") {
		t.Fatalf("%d scores, %d alerts, summary %v", len(scores), alerts, doc["alerts"])
	}
	lat := doc["latency_us"].(map[string]any)
	if p50, p99, mx := num(lat, "p50"), num(lat, "p99"), num(lat, "max"); !(0 < p50 && p50 <= p99 && p99 <= mx) {
		t.Errorf("latency %v", lat)
	}
	t.Logf("%v alerts, %v clamped, p50 %v µs, p99 %v µs, %v ms", doc["alerts"], doc["clamped"], lat["p50"], lat["p99"], doc["elapsed_ms"])

	// The same block as @FILE in hex and on standard input in binary: the same scores.
	for name, run := range map[string]func() (map[string]any, int){
		"@FILE hex": func() (map[string]any, int) {
			return anya(t, "score", "block", "@"+hexFile, "--backend", "go", "--all")
		},
		"stdin": func() (map[string]any, int) {
			return anyaIn(t, bytes.NewReader(raw), "score", "block", "-", "--backend", "go", "--all")
		},
	} {
		got, code := run()
		if code != exitOK || got["alerts"].(json.Number) != doc["alerts"].(json.Number) || len(got["scores"].([]any)) != 3314 {
			t.Fatalf("%s: exit %d %v", name, code, got["alerts"])
		}
		for i, s := range got["scores"].([]any) {
			if s.(map[string]any)["risk"] != scores[i].(map[string]any)["risk"] {
				t.Fatalf("%s: transaction %d scored %v, from the file %v", name, i, s, scores[i])
			}
		}
	}
	// Without --all: the summary alone.
	if sum, _ := anya(t, "score", "block", binFile, "--backend", "go"); sum["scores"] != nil || sum["alerts"].(json.Number) != doc["alerts"].(json.Number) {
		t.Errorf("summary %v", sum)
	}
}

// Blocks that are not blocks are refused with a code that says why.
func TestScoreBlockAttacks(t *testing.T) {
	raw := mainnetBlockBytes(t)
	var b wire.MsgBlock
	if err := b.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	header := func() []byte {
		var buf bytes.Buffer
		_ = b.Header.Serialize(&buf)
		return buf.Bytes()
	}
	overpaid := b.Copy()
	overpaid.Transactions[1].TxOut[0].Value = 21_000_001 * 100_000_000
	var over bytes.Buffer
	if err := overpaid.Serialize(&over); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, code string
		input      []byte
	}{
		{"trailing bytes", "invalid_block", append(append([]byte(nil), raw...), 0)},
		{"truncated", "invalid_block", raw[:len(raw)-1]},
		{"a header without transactions", "invalid_block", append(header(), 0)},
		{"a transaction count larger than the block", "invalid_block", append(header(), 0xfe, 0xff, 0xff, 0xff, 0x7f)},
		{"an output beyond 21 million bitcoin", "invalid_block", over.Bytes()},
		{"odd hex", "invalid_hex", []byte("0a0")},
		{"empty", "invalid_block", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, code := anya(t, "score", "block", "@"+writeFile(t, tc.input), "--backend", "go")
			if code != exitError || errorCode(t, doc) != tc.code {
				t.Fatalf("exit %d %v", code, doc)
			}
		})
	}
	// A file that is not there, named plainly.
	if doc, code := anya(t, "score", "block", filepath.Join(t.TempDir(), "nope.blk"), "--backend", "go"); code != exitError || errorCode(t, doc) != "not_found" {
		t.Fatalf("exit %d %v", code, doc)
	}
}

// FuzzScoreBlock gives score block's reader arbitrary bytes on standard input, as a binary or
// hex block: it returns a block that serializes back to exactly what it read, or an error with
// a code that says why, and never panics. (Scoring the blocks it returns is the engine's, which
// FuzzCLI and package ml fuzz; it is left out here because it loads a model on every run.)
func FuzzScoreBlock(f *testing.F) {
	// A small block: a coinbase (BIP-34 height 100) and two transactions, the second spending
	// the first. (Not the mainnet block: fuzz workers must not run the go command.)
	b := wire.NewMsgBlock(&wire.BlockHeader{Version: 0x20000000, Bits: 0x207fffff})
	cb := wire.NewMsgTx(2)
	cb.AddTxIn(&wire.TxIn{PreviousOutPoint: wire.OutPoint{Index: wire.MaxPrevOutIndex}, SignatureScript: []byte{1, 100, 0}})
	cb.AddTxOut(wire.NewTxOut(50_0000_0000, []byte{0x51}))
	first := bigTx(3)
	second := wire.NewMsgTx(2)
	second.AddTxIn(wire.NewTxIn(wire.NewOutPoint(new(chainhash.Hash), 0), nil, nil))
	second.TxIn[0].PreviousOutPoint.Hash = first.TxHash()
	second.AddTxOut(wire.NewTxOut(500, []byte{0x51}))
	for _, tx := range []*wire.MsgTx{cb, first, second} {
		_ = b.AddTransaction(tx)
	}
	var buf bytes.Buffer
	_ = b.Serialize(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(hex.EncodeToString(buf.Bytes())))
	f.Add(buf.Bytes()[:81])
	f.Add([]byte("00"))
	f.Fuzz(func(t *testing.T, stdin []byte) {
		e := &env{stdin: bytes.NewReader(stdin)}
		b, err := readBlock(e, "-")
		if err != nil {
			var ce *cliError
			if !errors.As(err, &ce) || (ce.Code != "invalid_block" && ce.Code != "invalid_hex") || ce.Error() == "" {
				t.Fatalf("error %#v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := b.Serialize(&buf); err != nil {
			t.Fatal(err)
		}
		raw := stdin
		if t := bytes.TrimSpace(stdin); hexDigits(string(t)) {
			raw, _ = hex.DecodeString(string(t))
		}
		if !bytes.Equal(buf.Bytes(), raw) || len(b.Transactions) == 0 {
			t.Fatalf("read %d bytes, the block serializes to %d", len(raw), buf.Len())
		}
	})
}
