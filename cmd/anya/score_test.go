package main

import (
	"bytes"
	"encoding/hex"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	sdk "github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/dataset"
)

func backends() []string {
	if cgo() {
		return []string{"ort", "go"}
	}
	return []string{"go"}
}

const (
	// A two-day-old identity sweeping fresh coins into one round amount, no change.
	riskyFeatures = `{"n_inputs": 5, "n_outputs": 1, "out_total_btc": 1, "out_min_btc": 1, "out_std_btc": 0,
		"largest_output_frac": 1, "out_round_count": 1, "inputs_known": 1, "fee_rate_sat_vb": 40, "ages_known": 1,
		"in_age_min_blocks": 2, "in_age_mean_blocks": 6, "identity_known": 1, "did_age_days": 2}`
	// An established, verified identity paying with change from old coins.
	safeFeatures = `{"n_inputs": 1, "n_outputs": 2, "out_total_btc": 0.02, "out_min_btc": 0.007, "out_std_btc": 0.003,
		"largest_output_frac": 0.65, "change_unique_nonround": 0, "inputs_known": 1, "fee_rate_sat_vb": 8, "ages_known": 1,
		"in_age_min_blocks": 3000, "in_age_mean_blocks": 3000, "reuse_known": 1, "identity_known": 1, "did_age_days": 700,
		"credentials": 4, "kyc_verified": 1, "address_linked": 1, "prior_payments": 60}`
)

func TestScoreFeatures(t *testing.T) {
	awayFromRepo(t)
	var scores []float64
	for _, b := range backends() {
		for _, in := range []string{riskyFeatures, safeFeatures} {
			doc, code := anya(t, "score", "features", in, "--backend", b, "--factors", "3")
			if code != exitOK || doc["model"] != "fraud@1" || doc["backend"] != b {
				t.Fatalf("%s: %v", b, doc)
			}
			s := num(t, doc["score"])
			if s < 0 || s > 1 {
				t.Fatalf("score %v", s)
			}
			if f := doc["factors"].([]any); len(f) != 3 || f[0].(map[string]any)["feature"] == "" {
				t.Fatalf("factors %v", f)
			}
			scores = append(scores, s)
		}
	}
	if scores[0] < 0.5 || scores[1] > 0.5 {
		t.Fatalf("risky payment scored %v, safe one %v", scores[0], scores[1])
	}
	if len(scores) == 4 && (math.Abs(scores[0]-scores[2]) > 1e-5 || math.Abs(scores[1]-scores[3]) > 1e-5) {
		t.Fatalf("backends disagree: %v", scores)
	}
	doc, code := anya(t, "score", "features", `{"did_age_days": 100, "credentials": 2}`, "--model", "reputation", "--backend", "go")
	if code != exitOK || doc["model"] != "reputation@1" {
		t.Fatalf("reputation: %v", doc)
	}
}

func TestScoreRejectsBadFeatures(t *testing.T) {
	awayFromRepo(t)
	for _, in := range []string{
		`{"no_such_feature": 1}`, `{"n_inputs": 0}`, `{"n_inputs": 1e300}`, `[1, 2, 3]`, `{"n_inputs": "many"}`,
		`not json`, `{"largest_output_frac": 1.5}`, `{"did_age_days": -1}`, `{"kyc_verified": 2}`, `{"out_total_btc": 3e7}`,
	} {
		doc, code := anya(t, "score", "features", in, "--backend", "go")
		if code != exitError || errorCode(t, doc) != "invalid_features" {
			t.Errorf("%s: %v (%d)", in, doc, code)
		}
	}
	if doc, code := anya(t, "score", "features", `{}`, "--model", "nope", "--backend", "go"); code != exitError || errorCode(t, doc) != "model" {
		t.Errorf("unknown model: %v", doc)
	}
	if doc, code := anya(t, "score", "features", `{}`, "--backend", "gpu"); code != exitUsage || errorCode(t, doc) != "usage" {
		t.Errorf("unknown backend: %v", doc)
	}
	for _, n := range []string{"-1", "-100"} {
		if doc, code := anya(t, "score", "features", `{}`, "--backend", "go", "--factors", n); code != exitUsage || errorCode(t, doc) != "usage" ||
			!strings.Contains(errorMessage(doc), "--factors") {
			t.Errorf("--factors %s: %v", n, doc)
		}
	}
	for _, args := range [][]string{{"score"}, {"score", "features"}, {"score", "tx"}, {"score", "tx", "00", "11"}} {
		if doc, code := anya(t, args...); code != exitUsage || errorCode(t, doc) != "usage" {
			t.Errorf("%v: %v (%d)", args, doc, code)
		}
	}
}

// Outside the checkout, a missing library is reported with the command that installs it.
func TestMissingLibrarySaysSetup(t *testing.T) {
	if !cgo() {
		t.Skip("the ORT backend needs cgo")
	}
	t.Chdir(t.TempDir())
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	missing := filepath.Join(t.TempDir(), "missing.so")
	t.Setenv("ANYA_ONNXRUNTIME_LIB", missing)
	doc, code := anya(t, "score", "features", `{}`)
	msg, _ := doc["error"].(map[string]any)["message"].(string)
	if code != exitError || errorCode(t, doc) != "backend" || !strings.Contains(msg, missing) || !strings.Contains(msg, ml.SetupCommand) {
		t.Fatalf("%v", doc)
	}
	t.Setenv("ANYA_ONNXRUNTIME_LIB", "")
	doc, code = anya(t, "score", "features", `{}`)
	msg, _ = doc["error"].(map[string]any)["message"].(string)
	if code != exitError || errorCode(t, doc) != "backend" || !strings.Contains(msg, ml.SetupCommand) {
		t.Fatalf("%v", doc)
	}
	if doc, code := anya(t, "score", "features", `{}`, "--backend", "go"); code != exitOK || doc["backend"] != "go" {
		t.Fatalf("the pure-Go backend outside the checkout: %v", doc)
	}
}

// fanOutTx builds a transaction splitting one input into n outputs of equal, round value.
func fanOutTx(n int) string {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{1}, 0), nil, [][]byte{make([]byte, 71), make([]byte, 33)}))
	script := append([]byte{0x00, 0x14}, make([]byte, 20)...)
	for range n {
		tx.AddTxOut(wire.NewTxOut(2_000_000, script))
	}
	var b bytes.Buffer
	tx.Serialize(&b)
	return hex.EncodeToString(b.Bytes())
}

func paymentTx() string {
	tx := wire.NewMsgTx(2)
	tx.LockTime = 850_000
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{2}, 1), nil, [][]byte{make([]byte, 71), make([]byte, 33)}))
	tx.TxIn[0].Sequence = wire.MaxTxInSequenceNum - 1
	script := append([]byte{0x00, 0x14}, make([]byte, 20)...)
	tx.AddTxOut(wire.NewTxOut(1_234_567, script))
	tx.AddTxOut(wire.NewTxOut(803_211, script))
	var b bytes.Buffer
	tx.Serialize(&b)
	return hex.EncodeToString(b.Bytes())
}

func TestScoreTx(t *testing.T) {
	awayFromRepo(t)
	var scores []float64
	for _, b := range backends() {
		for _, hx := range []string{fanOutTx(150), paymentTx()} {
			doc, code := anya(t, "score", "tx", hx, "--backend", b)
			if code != exitOK || doc["model"] != "fraud@1" {
				t.Fatalf("%s: %v", b, doc)
			}
			if f := doc["factors"].([]any); len(f) == 0 {
				t.Fatalf("no factors: %v", doc)
			}
			scores = append(scores, num(t, doc["score"]))
			// One threshold: the one the Manager's verified payment blocks at.
			if num(t, doc["threshold"]) != sdk.DefaultRiskThreshold || doc["blocked"] != (num(t, doc["score"]) >= sdk.DefaultRiskThreshold) {
				t.Fatalf("threshold: %v", doc)
			}
		}
	}
	if scores[0] <= scores[1] {
		t.Fatalf("a 150-output round fan-out scored %v, an ordinary payment %v", scores[0], scores[1])
	}
	if len(scores) == 4 && (math.Abs(scores[0]-scores[2]) > 1e-5 || math.Abs(scores[1]-scores[3]) > 1e-5) {
		t.Fatalf("backends disagree: %v", scores)
	}
	for hx, want := range map[string]string{"zz": "invalid_hex", "0100": "invalid_transaction", paymentTx() + "00": "invalid_transaction"} {
		if doc, code := anya(t, "score", "tx", hx, "--backend", "go"); code != exitError || errorCode(t, doc) != want {
			t.Errorf("%s: %v", hx, doc)
		}
	}
}

// TestFraudSchemaMatchesBitcoinFeatures: the fraud schema's transaction features are taken from
// the bitcoin package's vector by name, so every one of them must exist there.
func TestFraudSchemaMatchesBitcoinFeatures(t *testing.T) {
	s := dataset.FraudSchema()
	btc := bitcoin.TxFeatureSchema()
	identity := map[string]bool{"identity_known": true}
	for _, f := range dataset.ReputationSchema().Features {
		identity[f.Name] = true
	}
	for _, f := range s.Features {
		if !identity[f.Name] && btc.Index(f.Name) < 0 {
			t.Errorf("fraud feature %q is not in %s v%d", f.Name, btc.Name, btc.Version)
		}
	}
}
