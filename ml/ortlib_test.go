package ml_test

import (
	"bytes"
	"errors"
	"log/slog"
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

// outside runs the rest of the test as a downstream program would: outside the SDK's checkout,
// with nothing configured and an empty user cache. It returns the user cache directory.
func outside(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Chdir(t.TempDir())
	t.Setenv("HOME", home)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	t.Setenv(ml.EnvORTLibrary, "")
	return filepath.Join(home, "cache")
}

func TestFindORTLibraryOrder(t *testing.T) {
	cacheDir := outside(t)
	root := t.TempDir()
	cached := touch(t, filepath.Join(cacheDir, ml.ORTUserCacheDir, ml.ORTLibraryFile))
	envLib := touch(t, filepath.Join(root, "env", "lib.so"))
	optLib := touch(t, filepath.Join(root, "opt", "lib.so"))

	t.Setenv(ml.EnvORTLibrary, envLib)
	if got, err := ml.FindORTLibrary(optLib); err != nil || got.Path != optLib || got.Source != ml.SourceOption {
		t.Fatalf("option first: %+v, %v", got, err)
	}
	if got, err := ml.FindORTLibrary(""); err != nil || got.Path != envLib || got.Source != ml.SourceEnv {
		t.Fatalf("then the environment: %+v, %v", got, err)
	}
	t.Setenv(ml.EnvORTLibrary, "")
	if got, err := ml.FindORTLibrary(""); err != nil || got.Path != cached || got.Source != ml.SourceUserCache {
		t.Fatalf("then the user cache: %+v, %v", got, err)
	}
	if p, err := ml.UserCacheORTLibrary(); err != nil || p != cached {
		t.Fatalf("UserCacheORTLibrary = %q, %v", p, err)
	}
}

// Without $XDG_CACHE_HOME the user cache is ~/.cache, as os.UserCacheDir says on Linux.
func TestFindORTLibraryInHomeCache(t *testing.T) {
	outside(t)
	t.Setenv("XDG_CACHE_HOME", "")
	lib := touch(t, filepath.Join(os.Getenv("HOME"), ".cache", ml.ORTUserCacheDir, ml.ORTLibraryFile))
	if got, err := ml.FindORTLibrary(""); err != nil || got.Path != lib || got.Source != ml.SourceUserCache {
		t.Fatalf("%+v, %v", got, err)
	}
}

// A configured path that does not exist is an error naming it — not a reason to look
// elsewhere, and not a reason to fall back to the pure-Go evaluator — even with a library in
// the user cache.
func TestConfiguredLibraryMissing(t *testing.T) {
	cacheDir := outside(t)
	touch(t, filepath.Join(cacheDir, ml.ORTUserCacheDir, ml.ORTLibraryFile))
	missing := filepath.Join(t.TempDir(), "nonexistent", "libonnxruntime.so.1")
	tm := mltest.Linear([]float32{1}, 0)
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T)
		opts   []ml.Option
		source ml.LibrarySource
		hint   string
	}{
		{"environment", func(t *testing.T) { t.Setenv(ml.EnvORTLibrary, missing) }, nil, ml.SourceEnv, "set " + ml.EnvORTLibrary},
		{"option", func(t *testing.T) {}, []ml.Option{ml.WithORTLibrary(missing)}, ml.SourceOption, "WithORTLibrary"},
		{"directory", func(t *testing.T) { t.Setenv(ml.EnvORTLibrary, filepath.Dir(cacheDir)) }, nil, ml.SourceEnv, "set " + ml.EnvORTLibrary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup(t)
			for _, fallback := range []bool{false, true} {
				opts := tc.opts
				if fallback {
					opts = append(opts, ml.WithGoFallback())
				}
				e, err := ml.NewEngine(tm.Model, opts...)
				if e != nil {
					e.Close()
					t.Fatalf("fallback %v: an engine on %s", fallback, e.BackendReason())
				}
				var le *ml.LibraryError
				if !errors.As(err, &le) || le.Source != tc.source || !errors.Is(err, ml.ErrORTUnavailable) {
					t.Fatalf("fallback %v: %v, want a LibraryError from %v", fallback, err, tc.source)
				}
				if tc.name != "directory" && (!strings.Contains(err.Error(), missing) || !errors.Is(err, ml.ErrORTNotFound)) {
					t.Fatalf("the error does not name %s: %v", missing, err)
				}
				if !strings.Contains(err.Error(), tc.hint) || !strings.Contains(err.Error(), ml.SetupCommand) {
					t.Fatalf("the error does not say what to do: %v", err)
				}
			}
		})
	}
}

// With nothing configured and nothing found, the engine falls back to the pure-Go evaluator
// only with WithGoFallback, says why, and warns on its logger.
func TestNothingFound(t *testing.T) {
	cacheDir := outside(t)
	_, err := ml.FindORTLibrary("")
	var le *ml.LibraryError
	if !errors.As(err, &le) || !errors.Is(err, ml.ErrORTNotFound) || le.Path != "" || len(le.Tried) != 1 ||
		le.Tried[0] != filepath.Join(cacheDir, ml.ORTUserCacheDir, ml.ORTLibraryFile) {
		t.Fatalf("FindORTLibrary outside the checkout: %#v (%v)", le, err)
	}
	if !strings.Contains(err.Error(), ml.SetupCommand) || strings.Contains(err.Error(), "make setup") {
		t.Fatalf("message %q does not give the setup command", err)
	}

	tm := mltest.Linear([]float32{1}, 0)
	if _, err := ml.NewEngine(tm.Model); !errors.Is(err, ml.ErrORTUnavailable) {
		t.Fatalf("NewEngine without the library nor the fallback: %v", err)
	}
	var logs bytes.Buffer
	e, err := ml.NewEngine(tm.Model, ml.WithGoFallback(), ml.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatalf("NewEngine with the Go fallback: %v", err)
	}
	defer e.Close()
	r := e.BackendReason()
	if e.Backend() != "go" || r.Backend != "go" || r.Given || r.Fallback == nil {
		t.Fatalf("backend %q, reason %+v: want the pure-Go fallback with its reason", e.Backend(), r)
	}
	if !errors.Is(r.Fallback, ml.ErrORTNotFound) && !errors.Is(r.Fallback, ml.ErrNoCgo) {
		t.Fatalf("fallback reason %v", r.Fallback)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "pure-Go") {
		t.Fatalf("no warning logged: %q", logs.String())
	}
	if !strings.HasPrefix(r.String(), "go: fallback: ") {
		t.Fatal(r.String())
	}
}

// A backend given with WithBackend is reported as such.
func TestGivenBackendReason(t *testing.T) {
	e := mltest.NewEngine(t, mltest.Linear([]float32{1}, 0).Model)
	if r := e.BackendReason(); !r.Given || r.Backend != "go" || r.Fallback != nil || r.String() != "go: given with WithBackend" {
		t.Fatalf("%+v", r)
	}
}
