package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/anya-org/anya-go/ml"
)

// fakeTarball returns a fetch that writes an npm tarball holding files (member name → bytes).
func fakeTarball(t *testing.T, files map[string][]byte) func(context.Context, string) (string, error) {
	return func(_ context.Context, dir string) (string, error) {
		p := filepath.Join(dir, ortNpmTarball)
		f, err := os.Create(p)
		if err != nil {
			return "", err
		}
		defer f.Close()
		zw, err := gzip.NewWriterLevel(f, gzip.NoCompression) // cheap to write and read under -race
		if err != nil {
			return "", err
		}
		tw := tar.NewWriter(zw)
		for name, data := range files {
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
				return "", err
			}
			if _, err := tw.Write(data); err != nil {
				return "", err
			}
		}
		if err := tw.Close(); err != nil {
			return "", err
		}
		return p, zw.Close()
	}
}

// realLibrary returns the bytes of the pinned library when this checkout has it, or skips.
func realLibrary(t *testing.T) []byte {
	t.Helper()
	lib, err := ml.FindORTLibrary("")
	if err != nil {
		t.Skipf("no ONNX Runtime library to test with: %v", err)
	}
	data, err := os.ReadFile(lib.Path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestVerifyLibraryRefusesABadFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), ml.ORTLibraryFile)
	content := []byte("\x7fELF not the pinned library")
	if err := os.WriteFile(bad, content, 0o644); err != nil {
		t.Fatal(err)
	}
	err := verifyLibrary(bad)
	var ce *checksumError
	sum := sha256.Sum256(content)
	if !errors.As(err, &ce) || !errors.Is(err, errChecksum) || ce.Got != hex.EncodeToString(sum[:]) || ce.Want != ml.ORTLibrarySHA256 {
		t.Fatalf("verifyLibrary(bad file) = %v", err)
	}
	if err := verifyLibrary(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("verifyLibrary(missing) = %v", err)
	}
}

// A corrupted download is refused: nothing is installed and no partial file is left.
func TestInstallRefusesACorruptedDownload(t *testing.T) {
	for name, files := range map[string]map[string][]byte{
		"wrong bytes":       {ortTarMember: []byte("corrupted")},
		"no library":        {"package/package.json": []byte("{}")},
		"library elsewhere": {"package/bin/napi-v6/linux/arm64/" + ml.ORTLibraryFile: []byte("x")},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "anya-go", "onnxruntime-"+ml.ORTVersion, ml.ORTLibraryFile)
			installed, err := installLibrary(context.Background(), dest, fakeTarball(t, files), false)
			if installed || err == nil {
				t.Fatalf("installed %v, err %v", installed, err)
			}
			if name == "wrong bytes" && !errors.Is(err, errChecksum) {
				t.Fatalf("err = %v, want a checksum refusal", err)
			}
			if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a refused library was installed: %v", err)
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".partial-*"))
			if len(left) != 0 {
				t.Fatalf("partial files left: %v", left)
			}
		})
	}
}

// The pinned library, from a tarball laid out as the npm package's, is installed verified, and
// a second run leaves a verified library alone without fetching.
func TestInstallFromTarball(t *testing.T) {
	lib := realLibrary(t)
	dest := filepath.Join(t.TempDir(), "anya-go", "onnxruntime-"+ml.ORTVersion, ml.ORTLibraryFile)
	installed, err := installLibrary(context.Background(), dest, fakeTarball(t, map[string][]byte{ortTarMember: lib}), false)
	if !installed || err != nil {
		t.Fatalf("installed %v, err %v", installed, err)
	}
	if err := verifyLibrary(dest); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dest); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", st.Mode())
	}
	noFetch := func(context.Context, string) (string, error) { t.Fatal("fetched again"); return "", nil }
	if installed, err := installLibrary(context.Background(), dest, noFetch, false); installed || err != nil {
		t.Fatalf("second run: installed %v, err %v", installed, err)
	}
}

// TestSetupWithNpm runs the real command: `npm pack` of the pinned package into a temporary
// user cache, then the library finder finds it there from outside the checkout.
func TestSetupWithNpm(t *testing.T) {
	if testing.Short() {
		t.Skip("fetches the npm package")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the pinned library is linux/amd64")
	}
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv(ml.EnvORTLibrary, "")
	t.Chdir(t.TempDir())
	doc, code := anya(t, "setup")
	want := filepath.Join(cache, ml.ORTUserCacheDir, ml.ORTLibraryFile)
	if code != exitOK || doc["library"] != want || doc["installed"] != true || doc["sha256"] != ml.ORTLibrarySHA256 {
		t.Fatalf("anya setup: exit %d, %v", code, doc)
	}
	data, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != ml.ORTLibrarySHA256 {
		t.Fatalf("installed library sha256 %x", sum)
	}
	if lib, err := ml.FindORTLibrary(""); err != nil || lib.Source != ml.SourceUserCache {
		t.Fatalf("the finder outside the checkout: %+v, %v", lib, err)
	}
	if doc, code := anya(t, "setup"); code != exitOK || doc["installed"] != false {
		t.Fatalf("second run: exit %d, %v", code, doc)
	}
}

func TestSetupUsage(t *testing.T) {
	if doc, code := anya(t, "setup", "extra"); code != exitUsage || errorCode(t, doc) != "usage" {
		t.Fatalf("%v", doc)
	}
}
