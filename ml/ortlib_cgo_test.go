//go:build cgo

package ml_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
)

// realLibrary returns the ONNX Runtime library the tests run with, found as the SDK's own
// tests find it (inside the checkout), or skips.
func realLibrary(t *testing.T) string {
	t.Helper()
	lib, err := ml.FindORTLibrary("")
	if err != nil {
		t.Skipf("no ONNX Runtime library: %v", err)
	}
	return lib.Path
}

// A library installed in the user cache (as `anya setup` does) is what a downstream program,
// outside the checkout and with nothing configured, runs on.
func TestEngineOnUserCacheLibrary(t *testing.T) {
	lib := realLibrary(t)
	cacheDir := outside(t)
	dir := filepath.Join(cacheDir, ml.ORTUserCacheDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(lib, filepath.Join(dir, ml.ORTLibraryFile)); err != nil {
		t.Fatal(err)
	}
	tm := mltest.Linear([]float32{2}, 0)
	e, err := ml.NewEngine(tm.Model, ml.WithGoFallback(), ml.WithWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	r := e.BackendReason()
	if e.Backend() != "ort" || r.Fallback != nil || r.Library.Source != ml.SourceUserCache || r.Library.Path != lib {
		t.Fatalf("reason %+v (%s)", r, r)
	}
	res, err := e.Score(context.Background(), ml.Vector{Schema: tm.Model.Schema().Name, Version: tm.Model.Schema().Version, Values: []float32{1}})
	if err != nil || res.Score < 0.88 || res.Score > 0.89 { // sigmoid(2)
		t.Fatalf("score %v, %v", res.Score, err)
	}
}

// A library that is found but does not load is an error naming it, not a fallback.
func TestFoundLibraryFailsToLoad(t *testing.T) {
	cacheDir := outside(t)
	broken := touch(t, filepath.Join(cacheDir, ml.ORTUserCacheDir, ml.ORTLibraryFile))
	_, err := ml.NewEngine(mltest.Linear([]float32{1}, 0).Model, ml.WithGoFallback())
	var le *ml.LibraryError
	if !errors.As(err, &le) || le.Path != broken || le.Source != ml.SourceUserCache || errors.Is(err, ml.ErrORTNotFound) {
		t.Fatalf("a broken library in the user cache: %v", err)
	}
}

// Inside the SDK's checkout, with nothing configured and an empty user cache, the library of
// `make setup` is found; outside the checkout it is not.
func TestCheckoutLibrary(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(wd) // the test runs in <checkout>/ml
	if _, err := os.Stat(filepath.Join(root, ml.ORTLibraryDir, ml.ORTLibraryFile)); err != nil {
		t.Skip("no library in the checkout's .tools (make setup)")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv(ml.EnvORTLibrary, "")
	lib, err := ml.FindORTLibrary("")
	if err != nil || lib.Source != ml.SourceCheckout {
		t.Fatalf("inside the checkout: %+v, %v", lib, err)
	}
	t.Chdir(t.TempDir())
	if lib, err := ml.FindORTLibrary(""); !errors.Is(err, ml.ErrORTNotFound) {
		t.Fatalf("outside the checkout: %+v, %v", lib, err)
	}
}
