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

func num(t *testing.T, v any) float64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v is not a number", v)
	}
	f, err := n.Float64()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
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

func TestModelUsage(t *testing.T) {
	for _, args := range [][]string{{"model"}, {"model", "nope"}, {"model", "card"}, {"model", "card", "a", "b"}, {"model", "train", "extra"}} {
		if doc, code := anya(t, args...); code != exitUsage || errorCode(t, doc) != "usage" {
			t.Errorf("%v: %v (%d), want a usage error", args, doc, code)
		}
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
	var out, progress bytes.Buffer
	if err := modelTrain(context.Background(), []string{"--out", dir, "--model", "reputation"}, &out, &progress); err != nil {
		t.Fatalf("train: %v", err)
	}
	if !strings.Contains(progress.String(), "boosting trees") {
		t.Errorf("no progress bar: %q", progress.String())
	}
	var res struct {
		Models []trained `json:"models"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Models) != 1 {
		t.Fatalf("train output %s: %v", out.String(), err)
	}
	m := res.Models[0]
	for _, f := range []string{m.Card, m.Plot, filepath.Join(m.Dir, "model.onnx"), filepath.Join(m.Dir, "model.json")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v", m.Model, err)
		}
	}
	shipped, _ := os.ReadFile(filepath.Join(repoRoot(t), "models", "reputation", "1", "model.onnx"))
	built, _ := os.ReadFile(filepath.Join(dir, "reputation", "1", "model.onnx"))
	if !bytes.Equal(shipped, built) {
		t.Error("trained reputation model differs from the shipped one")
	}

	doc, code := anya(t, "model", "card", "reputation", "--dir", dir)
	if code != exitOK || doc["model"] != "reputation@1" || doc["embedded"] != false {
		t.Fatalf("card: %v", doc)
	}
	if p := doc["plot"].(string); !strings.HasPrefix(p, dir) || !strings.HasSuffix(p, "card.png") {
		t.Fatalf("plot path %q", p)
	}
	if auc := num(t, doc["metrics"].(map[string]any)["auc"]); auc < 0.9 {
		t.Fatalf("card AUC %v", auc)
	}
}

func TestCardOfEmbeddedModel(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	doc, code := anya(t, "model", "card", "fraud@1")
	if code != exitOK || doc["embedded"] != true || doc["model"] != "fraud@1" {
		t.Fatalf("%v", doc)
	}
	for _, k := range []string{"card", "plot"} {
		if _, err := os.Stat(doc[k].(string)); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	if doc, code := anya(t, "model", "card", "nope"); code != exitError || errorCode(t, doc) != "not_found" {
		t.Fatalf("unknown model card: %v", doc)
	}
	if doc, code := anya(t, "model", "train", "--model", "nope", "--out", t.TempDir()); code != exitError || errorCode(t, doc) != "not_found" {
		t.Fatalf("training an unknown model: %v", doc)
	}
}
