package ml

import (
	"os"
	"path/filepath"
)

// ONNX Runtime library location.
const (
	// ORTVersion is the ONNX Runtime release the SDK is built and tested against.
	ORTVersion = "1.24.1"
	// EnvORTLibrary names the environment variable holding the library's path.
	EnvORTLibrary = "ANYA_ONNXRUNTIME_LIB"
	// ORTLibraryDir is where `make setup` puts the library, relative to the module root.
	ORTLibraryDir = ".tools/onnxruntime-" + ORTVersion
	// ORTLibraryFile is the library's file name.
	ORTLibraryFile = "libonnxruntime.so.1"
)

// FindORTLibrary returns the absolute path of the ONNX Runtime shared library. It looks, in
// order, at explicit (when non-empty), at $ANYA_ONNXRUNTIME_LIB (when set), and at
// .tools/onnxruntime-1.24.1/libonnxruntime.so.1 in the working directory and each parent up to
// the module root (the first directory holding a go.mod). The first place that is configured
// decides: a configured path that does not exist is an error, not a reason to look further.
// A missing library returns a [*LibraryError] whose message says to run `make setup`.
func FindORTLibrary(explicit string) (string, error) {
	check := func(p, label string) (string, error) {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", &LibraryError{Tried: []string{label + " " + p}, Err: err}
		}
		if st, err := os.Stat(abs); err != nil || st.IsDir() {
			return "", &LibraryError{Tried: []string{label + " " + abs}}
		}
		return abs, nil
	}
	if explicit != "" {
		return check(explicit, "option")
	}
	if env := os.Getenv(EnvORTLibrary); env != "" {
		return check(env, "$"+EnvORTLibrary+"=")
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", &LibraryError{Err: err}
	}
	var tried []string
	for {
		p := filepath.Join(dir, ORTLibraryDir, ORTLibraryFile)
		tried = append(tried, p)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", &LibraryError{Tried: tried}
}
