package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/anya-org/anya-go/ml"
)

// The ONNX Runtime library comes from the npm package onnxruntime-node, fetched with `npm pack`
// (never `npm install`, whose postinstall script downloads from elsewhere); scripts/setup.sh
// fetches the same file for the SDK's own checkout.
const (
	ortNpmPackage = "onnxruntime-node@" + ml.ORTVersion
	ortNpmTarball = "onnxruntime-node-" + ml.ORTVersion + ".tgz"
	ortTarMember  = "package/bin/napi-v6/linux/x64/" + ml.ORTLibraryFile
	// maxLibrarySize bounds what setup extracts: the library is about 20 MB.
	maxLibrarySize = 256 << 20
)

// errChecksum reports a file that is not the pinned library.
var errChecksum = errors.New("sha256 mismatch")

// checksumError reports a library whose sha256 is not the pinned one.
type checksumError struct {
	Path      string
	Want, Got string
}

func (e *checksumError) Error() string {
	return fmt.Sprintf("%s: sha256 %s, want %s: refusing it", e.Path, e.Got, e.Want)
}

func (e *checksumError) Unwrap() error { return errChecksum }

type setupJSON struct {
	Library   string `json:"library"`
	Version   string `json:"version"`
	SHA256    string `json:"sha256"`
	Installed bool   `json:"installed"` // false: a verified library was already there
}

// runSetup installs the pinned ONNX Runtime library into the user cache, where the ml package
// finds it from any directory.
func runSetup(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("setup")
	force := fs.Bool("force", false, "fetch and install the library again even when a verified one is installed")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return &cliError{Code: "setup", Err: fmt.Errorf("setup installs the linux/amd64 library of ONNX Runtime %s; on %s/%s, set %s to the path of an ONNX Runtime %s library",
			ml.ORTVersion, runtime.GOOS, runtime.GOARCH, ml.EnvORTLibrary, ml.ORTVersion)}
	}
	dest, err := ml.UserCacheORTLibrary()
	if err != nil {
		return &cliError{Code: "setup", Err: fmt.Errorf("no user cache directory to install into: %w", err)}
	}
	installed, err := installLibrary(ctx, dest, npmPack, *force)
	if err != nil {
		return &cliError{Code: "setup", Err: err}
	}
	return writeJSON(stdout, setupJSON{Library: dest, Version: ml.ORTVersion, SHA256: ml.ORTLibrarySHA256, Installed: installed})
}

// installLibrary installs the library at dest, unless a verified one is there and force is
// off: fetch writes the npm package's tarball into a temporary directory, the library is
// extracted from it next to dest, verified, and renamed into place. A file that does not
// verify is removed and never installed.
func installLibrary(ctx context.Context, dest string, fetch func(ctx context.Context, dir string) (string, error), force bool) (bool, error) {
	if !force && verifyLibrary(dest) == nil {
		return false, nil
	}
	tmp, err := os.MkdirTemp("", "anya-setup-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	tarball, err := fetch(ctx, tmp)
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return false, err
	}
	part, err := extractLibrary(tarball, filepath.Dir(dest))
	if err != nil {
		return false, err
	}
	defer os.Remove(part) // gone after the rename; removes a refused file
	if err := verifyLibrary(part); err != nil {
		return false, fmt.Errorf("the library in %s: %w", ortNpmPackage, err)
	}
	if err := os.Chmod(part, 0o644); err != nil {
		return false, err
	}
	if err := os.Rename(part, dest); err != nil {
		return false, err
	}
	return true, nil
}

// verifyLibrary checks that the file at path is the pinned library: its sha256 must be
// ml.ORTLibrarySHA256.
func verifyLibrary(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != ml.ORTLibrarySHA256 {
		return &checksumError{Path: path, Want: ml.ORTLibrarySHA256, Got: got}
	}
	return nil
}

// extractLibrary copies the library out of the npm tarball into a new temporary file in dir,
// and returns its path.
func extractLibrary(tarball, dir string) (string, error) {
	f, err := os.Open(tarball)
	if err != nil {
		return "", err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Base(tarball), err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("%s has no %s", filepath.Base(tarball), ortTarMember)
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", filepath.Base(tarball), err)
		}
		if h.Name != ortTarMember || h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > maxLibrarySize {
			return "", fmt.Errorf("%s: %s is %d bytes, more than a library", filepath.Base(tarball), ortTarMember, h.Size)
		}
		out, err := os.CreateTemp(dir, ".partial-"+ml.ORTLibraryFile+"-*")
		if err != nil {
			return "", err
		}
		_, err = io.Copy(out, io.LimitReader(tr, maxLibrarySize))
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(out.Name())
			return "", err
		}
		return out.Name(), nil
	}
}

// npmPack fetches the npm package's tarball into dir with `npm pack`, and returns its path.
func npmPack(ctx context.Context, dir string) (string, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("setup fetches the library with npm, which is not installed (Debian: apt-get install npm), or set %s to the path of an ONNX Runtime %s library", ml.EnvORTLibrary, ml.ORTVersion)
	}
	cmd := exec.CommandContext(ctx, npm, "pack", "--silent", ortNpmPackage)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("npm pack %s: %w: %s", ortNpmPackage, err, strings.TrimSpace(stderr.String()))
	}
	tarball := filepath.Join(dir, ortNpmTarball)
	if _, err := os.Stat(tarball); err != nil {
		return "", fmt.Errorf("npm pack %s wrote no %s", ortNpmPackage, ortNpmTarball)
	}
	return tarball, nil
}
