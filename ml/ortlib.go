package ml

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The ONNX Runtime library: which release, and where it is looked for.
const (
	// ORTVersion is the ONNX Runtime release the SDK is built and tested against.
	ORTVersion = "1.24.1"
	// ORTLibrarySHA256 is the hex sha256 of the linux/x64 library of [ORTVersion], as the npm
	// package onnxruntime-node@1.24.1 ships it (package/bin/napi-v6/linux/x64/libonnxruntime.so.1).
	// The SDK's setup command and `make setup` refuse any other file.
	ORTLibrarySHA256 = "53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4"
	// ORTLibraryFile is the library's file name.
	ORTLibraryFile = "libonnxruntime.so.1"
	// EnvORTLibrary names the environment variable holding the library's path.
	EnvORTLibrary = "ANYA_ONNXRUNTIME_LIB"
	// ORTUserCacheDir is where [SetupCommand] installs the library, relative to the user's
	// cache directory (os.UserCacheDir: $XDG_CACHE_HOME or ~/.cache on Linux).
	ORTUserCacheDir = "anya-go/onnxruntime-" + ORTVersion
	// ORTLibraryDir is where `make setup` puts the library in the SDK's own checkout, relative
	// to its root.
	ORTLibraryDir = ".tools/onnxruntime-" + ORTVersion
	// SetupCommand installs the library into the user cache, from any directory: it fetches
	// the pinned release and checks it against [ORTLibrarySHA256].
	SetupCommand = "go run github.com/anya-org/anya-go/cmd/anya setup"
)

// modulePath is the SDK's module path, which a checkout's go.mod declares.
const modulePath = "github.com/anya-org/anya-go"

// LibrarySource says where the ONNX Runtime library came from.
type LibrarySource uint8

// Where [FindORTLibrary] looks, in order.
const (
	// SourceOption is a path given to [WithORTLibrary] or [NewORTBackend].
	SourceOption LibrarySource = iota + 1
	// SourceEnv is the path in $ANYA_ONNXRUNTIME_LIB.
	SourceEnv
	// SourceUserCache is the library [SetupCommand] installed in the user's cache directory.
	SourceUserCache
	// SourceCheckout is the library `make setup` put in the SDK's own checkout, used only when
	// the program runs inside that checkout.
	SourceCheckout
)

var sourceNames = [...]string{"", "option", "$" + EnvORTLibrary, "user cache", "SDK checkout"}

// String names the source, e.g. "user cache"; "" for none.
func (s LibrarySource) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "unknown"
}

// Configured reports whether the user chose the path: [SourceOption] or [SourceEnv]. A
// configured path that cannot be used is an error, never a reason to look elsewhere.
func (s LibrarySource) Configured() bool { return s == SourceOption || s == SourceEnv }

// ORTLibrary is an ONNX Runtime library found by [FindORTLibrary].
type ORTLibrary struct {
	Path   string        // absolute, with symbolic links resolved
	Source LibrarySource // where it was found
}

// UserCacheORTLibrary returns where [SetupCommand] installs the library:
// os.UserCacheDir()/anya-go/onnxruntime-1.24.1/libonnxruntime.so.1. It does not say whether
// the file is there.
func UserCacheORTLibrary() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, ORTUserCacheDir, ORTLibraryFile), nil
}

// FindORTLibrary returns the ONNX Runtime shared library to load. It looks, in order, at:
//
//  1. explicit, when not empty (the [WithORTLibrary] option);
//  2. $ANYA_ONNXRUNTIME_LIB, when set and not empty;
//  3. the user cache, where [SetupCommand] installs it (see [UserCacheORTLibrary]);
//  4. .tools/onnxruntime-1.24.1/ in the SDK's own checkout, where `make setup` puts it — only
//     when this package was compiled from a checkout of the SDK (not a module-cache copy) and
//     the working directory is inside that checkout. It never looks in the caller's module.
//
// A configured path (1 or 2) decides: one that does not exist, or is a directory, is a
// [*LibraryError] naming it, never a reason to look further. When nothing is configured and
// nothing is found, the [*LibraryError] matches [ErrORTNotFound], lists the places searched,
// and its message gives [SetupCommand].
func FindORTLibrary(explicit string) (ORTLibrary, error) {
	return findORTLibrary(explicit, os.Getenv(EnvORTLibrary), UserCacheORTLibrary, checkoutRoot)
}

func findORTLibrary(explicit, env string, userCache func() (string, error), checkout func() string) (ORTLibrary, error) {
	if explicit != "" {
		return checkLibrary(explicit, SourceOption)
	}
	if env != "" {
		return checkLibrary(env, SourceEnv)
	}
	var tried []string
	if p, err := userCache(); err == nil {
		tried = append(tried, p)
		if lib, err := checkLibrary(p, SourceUserCache); err == nil {
			return lib, nil
		}
	}
	if root := checkout(); root != "" {
		p := filepath.Join(root, ORTLibraryDir, ORTLibraryFile)
		tried = append(tried, p)
		if lib, err := checkLibrary(p, SourceCheckout); err == nil {
			return lib, nil
		}
	}
	return ORTLibrary{}, &LibraryError{Tried: tried, Err: ErrORTNotFound}
}

// checkLibrary returns path as a library of source if it is a file.
func checkLibrary(path string, source LibrarySource) (ORTLibrary, error) {
	bad := func(err error) (ORTLibrary, error) {
		return ORTLibrary{}, &LibraryError{Source: source, Path: path, Err: err}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return bad(err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return bad(ErrORTNotFound)
		}
		return bad(err)
	}
	st, err := os.Stat(resolved)
	switch {
	case err != nil:
		return bad(err)
	case st.IsDir():
		return bad(errIsDir)
	}
	return ORTLibrary{Path: resolved, Source: source}, nil
}

var errIsDir = errors.New("is a directory, not the library file")

// checkoutRoot returns the root of the SDK checkout this package was compiled from, when the
// program runs inside it, and "" otherwise: when the package comes from the module cache (a
// downstream module's dependency), from a build with -trimpath, or when the working directory
// is outside the checkout.
func checkoutRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	root := filepath.Dir(filepath.Dir(file)) // <root>/ml/ortlib.go
	if strings.Contains(filepath.Base(root), "@") {
		return "" // <GOMODCACHE>/github.com/anya-org/anya-go@v…: a dependency, not a checkout
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || goModPath(mod) != modulePath {
		return ""
	}
	wd, err := os.Getwd()
	if err != nil || !within(wd, root) {
		return ""
	}
	return root
}

// goModPath returns the module path a go.mod declares.
func goModPath(mod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(mod))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// within reports whether dir is root or inside it, symbolic links resolved.
func within(dir, root string) bool {
	for _, p := range []*string{&dir, &root} {
		if r, err := filepath.EvalSymlinks(*p); err == nil {
			*p = r
		}
	}
	rel, err := filepath.Rel(root, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
