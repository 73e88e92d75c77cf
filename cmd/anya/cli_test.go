package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// anya runs the CLI in-process and decodes its JSON output.
func anya(t *testing.T, args ...string) (map[string]any, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("anya %v: stdout is not JSON (%v): %q", args, err, out.String())
	}
	return v, code
}

func errorCode(v map[string]any) string {
	e, _ := v["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestHelpAndUnknown(t *testing.T) {
	v, code := anya(t, "help")
	if code != 0 || v["commands"] == nil {
		t.Fatalf("help: %v (%d)", v, code)
	}
	v, code = anya(t, "frobnicate")
	if code == 0 || errorCode(v) != "unknown_command" {
		t.Fatalf("unknown command: %v (%d)", v, code)
	}
	for _, args := range [][]string{{"model"}, {"model", "nope"}, {"score"}, {"score", "features"}, {"model", "card"}} {
		if v, code := anya(t, args...); code != 2 || errorCode(v) != "usage" {
			t.Errorf("%v: %v (%d), want a usage error", args, v, code)
		}
	}
}

func backends() []string {
	if cgo() {
		return []string{"ort", "go"}
	}
	return []string{"go"}
}

// awayFromRepo moves the test into an empty directory (so the models built into the binary are
// used) while keeping the ONNX Runtime library of the checkout findable.
func awayFromRepo(t *testing.T) {
	t.Helper()
	if os.Getenv("ANYA_ONNXRUNTIME_LIB") == "" {
		t.Setenv("ANYA_ONNXRUNTIME_LIB", filepath.Join(repoRoot(t), ".tools", "onnxruntime-1.24.1", "libonnxruntime.so.1"))
	}
	t.Chdir(t.TempDir())
}

func TestScoreFeatures(t *testing.T) {
	awayFromRepo(t)
	risky := `{"n_inputs": 5, "n_outputs": 1, "total_out_btc": 1, "round_outputs": 1, "has_change": 0,
		"fee_rate_sat_vb": 40, "input_age_min_blocks": 2, "input_age_mean_blocks": 6, "did_age_days": 1,
		"min_out_ratio": 1, "out_value_cv": 0}`
	safe := `{"n_inputs": 1, "n_outputs": 2, "total_out_btc": 0.02, "fee_rate_sat_vb": 8, "input_age_min_blocks": 3000,
		"input_age_mean_blocks": 3000, "did_age_days": 700, "credentials": 4, "kyc_verified": 1, "address_linked": 1,
		"prior_payments": 60, "min_out_ratio": 0.3, "out_value_cv": 0.4, "locktime_set": 1, "has_change": 1}`
	var scores []float64
	for _, b := range backends() {
		for _, in := range []string{risky, safe} {
			v, code := anya(t, "score", "features", in, "--backend", b, "--factors", "3")
			if code != 0 {
				t.Fatalf("%s: %v", b, v)
			}
			if v["model"] != "fraud@1" || v["backend"] != b {
				t.Fatalf("%s: %v", b, v)
			}
			s := v["score"].(float64)
			if s < 0 || s > 1 {
				t.Fatalf("score %v", s)
			}
			if f := v["factors"].([]any); len(f) != 3 || f[0].(map[string]any)["feature"] == "" {
				t.Fatalf("factors %v", f)
			}
			scores = append(scores, s)
		}
	}
	if scores[0] < 0.5 || scores[1] > 0.5 {
		t.Fatalf("risky payment scored %v, safe one %v", scores[0], scores[1])
	}
	if len(scores) == 4 && (abs(scores[0]-scores[2]) > 1e-5 || abs(scores[1]-scores[3]) > 1e-5) {
		t.Fatalf("backends disagree: %v", scores)
	}
	v, code := anya(t, "score", "features", `{"did_age_days": 100, "credentials": 2}`, "--model", "reputation", "--backend", "go")
	if code != 0 || v["model"] != "reputation@1" {
		t.Fatalf("reputation: %v", v)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestScoreRejectsBadFeatures(t *testing.T) {
	awayFromRepo(t)
	for in, want := range map[string]string{
		`{"no_such_feature": 1}`:   "invalid_features",
		`{"n_inputs": 0}`:          "invalid_features", // below the schema minimum of 1
		`{"n_inputs": 1e300}`:      "invalid_features",
		`[1, 2, 3]`:                "invalid_features",
		`{"n_inputs": "many"}`:     "invalid_features",
		`not json`:                 "invalid_features",
		`{"min_out_ratio": 1.5}`:   "invalid_features",
		`{"did_age_days": -1}`:     "invalid_features",
		`{"kyc_verified": 2}`:      "invalid_features",
		`{"total_out_btc": 3e7}`:   "invalid_features",
		`{"n_outputs": 1.0e4, "x"`: "invalid_features",
	} {
		v, code := anya(t, "score", "features", in, "--backend", "go")
		if code != 1 || errorCode(v) != want {
			t.Errorf("%s: %v (%d), want %s", in, v, code, want)
		}
	}
	if v, code := anya(t, "score", "features", `{}`, "--model", "nope", "--backend", "go"); code != 1 || errorCode(v) != "model" {
		t.Errorf("unknown model: %v", v)
	}
	if v, code := anya(t, "score", "features", `{}`, "--backend", "gpu"); code != 2 || errorCode(v) != "usage" {
		t.Errorf("unknown backend: %v", v)
	}
}

func TestMissingLibrarySaysMakeSetup(t *testing.T) {
	if !cgo() {
		t.Skip("the ORT backend needs cgo")
	}
	t.Chdir(t.TempDir())
	t.Setenv("ANYA_ONNXRUNTIME_LIB", filepath.Join(t.TempDir(), "missing.so"))
	v, code := anya(t, "score", "features", `{}`)
	if code != 1 || errorCode(v) != "backend" || !strings.Contains(v["error"].(map[string]any)["message"].(string), "make setup") {
		t.Fatalf("%v", v)
	}
}

// TestTrainAndCard trains the reputation model into a temporary directory and reads its card
// back: the commands from the README that generate the model card and plot. (The models
// package's tests rebuild every model and compare all files.)
func TestTrainAndCard(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"model", "train", "--out", dir, "--model", "reputation"}, &out, &errOut); code != 0 {
		t.Fatalf("train: %s", out.String())
	}
	if !strings.Contains(errOut.String(), "boosting trees") {
		t.Errorf("no progress on stderr: %q", errOut.String())
	}
	var res struct {
		Models []trained `json:"models"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Models) != 1 {
		t.Fatalf("train output %s: %v", out.String(), err)
	}
	for _, m := range res.Models {
		for _, f := range []string{m.Card, m.Plot, filepath.Join(m.Dir, "model.onnx"), filepath.Join(m.Dir, "model.json")} {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("%s: %v", m.Model, err)
			}
		}
	}
	// The freshly trained model equals the shipped one.
	shipped, _ := os.ReadFile(filepath.Join(repoRoot(t), "models", "reputation", "1", "model.onnx"))
	built, _ := os.ReadFile(filepath.Join(dir, "reputation", "1", "model.onnx"))
	if !bytes.Equal(shipped, built) {
		t.Error("trained reputation model differs from the shipped one")
	}

	v, code := anya(t, "model", "card", "reputation", "--dir", dir)
	if code != 0 || v["model"] != "reputation@1" || v["embedded"] != false {
		t.Fatalf("card: %v", v)
	}
	if p := v["plot"].(string); !strings.HasPrefix(p, dir) || !strings.HasSuffix(p, "card.png") {
		t.Fatalf("plot path %q", p)
	}
	if auc := v["metrics"].(map[string]any)["auc"].(float64); auc < 0.9 {
		t.Fatalf("card AUC %v", auc)
	}
}

func TestCardOfEmbeddedModel(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	v, code := anya(t, "model", "card", "reputation@1")
	if code != 0 || v["embedded"] != true {
		t.Fatalf("%v", v)
	}
	for _, k := range []string{"card", "plot"} {
		if _, err := os.Stat(v[k].(string)); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	if v, code := anya(t, "model", "card", "nope"); code != 1 || errorCode(v) != "not_found" {
		t.Fatalf("unknown model card: %v", v)
	}
	if v, code := anya(t, "model", "train", "--model", "nope", "--out", t.TempDir()); code != 1 || errorCode(v) != "not_found" {
		t.Fatalf("training an unknown model: %v", v)
	}
}

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
