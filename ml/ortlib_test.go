package ml_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
)

func touch(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFindORTLibraryOrder(t *testing.T) {
	root := t.TempDir()
	touch(t, filepath.Join(root, "go.mod"))
	setupLib := touch(t, filepath.Join(root, ml.ORTLibraryDir, ml.ORTLibraryFile))
	envLib := touch(t, filepath.Join(root, "env", "lib.so"))
	optLib := touch(t, filepath.Join(root, "opt", "lib.so"))
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(deep)

	t.Setenv(ml.EnvORTLibrary, envLib)
	if got, err := ml.FindORTLibrary(optLib); err != nil || got != optLib {
		t.Fatalf("option first: %q, %v", got, err)
	}
	if got, err := ml.FindORTLibrary(""); err != nil || got != envLib {
		t.Fatalf("then the environment: %q, %v", got, err)
	}
	t.Setenv(ml.EnvORTLibrary, "")
	if got, err := ml.FindORTLibrary(""); err != nil || got != setupLib {
		t.Fatalf("then the make-setup folder up to the module root: %q, %v", got, err)
	}

	// A configured path that does not exist is an error, not a reason to look elsewhere.
	t.Setenv(ml.EnvORTLibrary, filepath.Join(root, "missing.so"))
	if _, err := ml.FindORTLibrary(""); err == nil {
		t.Fatal("a missing $ANYA_ONNXRUNTIME_LIB was skipped")
	}
	if _, err := ml.FindORTLibrary(filepath.Join(root, "missing.so")); err == nil {
		t.Fatal("a missing option path was skipped")
	}
}

func TestMissingLibrarySaysMakeSetup(t *testing.T) {
	root := t.TempDir()
	touch(t, filepath.Join(root, "go.mod"))
	t.Chdir(root)
	t.Setenv(ml.EnvORTLibrary, "")
	_, err := ml.FindORTLibrary("")
	var le *ml.LibraryError
	if !errors.As(err, &le) || !errors.Is(err, ml.ErrORTUnavailable) {
		t.Fatalf("FindORTLibrary: %v, want a LibraryError", err)
	}
	if !strings.Contains(err.Error(), "make setup") || !strings.Contains(err.Error(), ml.EnvORTLibrary) {
		t.Fatalf("message %q does not say to run make setup", err)
	}

	tm := mltest.Linear([]float32{1}, 0)
	_, err = ml.NewEngine(tm.Model)
	if !errors.Is(err, ml.ErrORTUnavailable) {
		t.Fatalf("NewEngine without the library: %v", err)
	}
	if errors.As(err, &le) != strings.Contains(err.Error(), "make setup") { // builds without cgo say so instead
		t.Fatalf("NewEngine without the library: %v", err)
	}
	e, err := ml.NewEngine(tm.Model, ml.WithGoFallback())
	if err != nil {
		t.Fatalf("NewEngine with the Go fallback: %v", err)
	}
	defer e.Close()
	if e.Backend() != "go" {
		t.Fatalf("backend %q, want the pure-Go fallback", e.Backend())
	}
}
