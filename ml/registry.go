package ml

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// File names inside a registry version directory.
const (
	// ModelFile is the ONNX file of a registered version.
	ModelFile = "model.onnx"
	// ManifestFile is the JSON [Manifest] of a registered version.
	ManifestFile = "model.json"
)

// Registry stores models by name and version in a directory tree:
//
//	<root>/<name>/<version>/model.onnx
//	<root>/<name>/<version>/model.json   (the Manifest, with the file's sha256)
//
// Other files (model cards, plots) may sit beside them. Loading verifies the sha256 of
// model.onnx against the manifest and refuses a file that does not match. A Registry opened on a
// directory can register new versions; one opened on an fs.FS (such as the SDK's embedded
// models) is read-only. A Registry is safe for concurrent use. Create it with [OpenRegistry] or
// [OpenRegistryFS]: the zero value's methods return a [*NotConstructedError].
type Registry struct {
	fsys fs.FS
	dir  string // "" when read-only
}

// OpenRegistry opens the registry rooted at dir, which must exist.
func OpenRegistry(dir string) (*Registry, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, &OptionError{Option: "dir", Value: dir, Reason: err.Error()}
	}
	if !st.IsDir() {
		return nil, &OptionError{Option: "dir", Value: dir, Reason: "not a directory"}
	}
	return &Registry{fsys: os.DirFS(dir), dir: dir}, nil
}

// OpenRegistryFS opens a read-only registry on fsys. A nil fsys gives a registry whose methods
// return a [*NotConstructedError].
func OpenRegistryFS(fsys fs.FS) *Registry { return &Registry{fsys: fsys} }

func (r *Registry) check() error {
	if r.fsys == nil {
		return &NotConstructedError{Type: "Registry", Constructor: "OpenRegistry"}
	}
	return nil
}

// Names returns the model names held, sorted.
func (r *Registry) Names() ([]string, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(r.fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("ml: registry: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && namePattern.MatchString(e.Name()) {
			if vs, err := r.Versions(e.Name()); err == nil && len(vs) > 0 {
				names = append(names, e.Name())
			}
		}
	}
	return names, nil
}

// Versions returns the versions registered under name, oldest first: dot-separated numeric parts
// compare as numbers ("1.10" after "1.9"), others as strings. Unknown names return an error
// wrapping [ErrNotFound].
func (r *Registry) Versions(name string) ([]string, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	if !namePattern.MatchString(name) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	entries, err := fs.ReadDir(r.fsys, name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	var vs []string
	for _, e := range entries {
		if !e.IsDir() || !namePattern.MatchString(e.Name()) {
			continue
		}
		if _, err := fs.Stat(r.fsys, path.Join(name, e.Name(), ManifestFile)); err == nil {
			vs = append(vs, e.Name())
		}
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("%w: %s has no versions", ErrNotFound, name)
	}
	slices.SortFunc(vs, CompareVersions)
	return vs, nil
}

// CompareVersions orders version strings: dot-separated parts compare numerically when both
// are numbers, as strings otherwise.
func CompareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.ParseUint(pa[i], 10, 64)
		nb, eb := strconv.ParseUint(pb[i], 10, 64)
		switch {
		case ea == nil && eb == nil:
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
		default:
			if c := strings.Compare(pa[i], pb[i]); c != 0 {
				return c
			}
		}
	}
	return len(pa) - len(pb)
}

// Manifest reads the manifest of name@version (version "" means the latest) without loading or
// verifying the model file.
func (r *Registry) Manifest(name, version string) (Manifest, error) {
	if err := r.check(); err != nil {
		return Manifest{}, err
	}
	version, err := r.resolve(name, version)
	if err != nil {
		return Manifest{}, err
	}
	return r.readManifest(name, version)
}

func (r *Registry) resolve(name, version string) (string, error) {
	if version != "" {
		if !namePattern.MatchString(name) || !namePattern.MatchString(version) {
			return "", fmt.Errorf("%w: %s@%s", ErrNotFound, name, version)
		}
		return version, nil
	}
	vs, err := r.Versions(name)
	if err != nil {
		return "", err
	}
	return vs[len(vs)-1], nil
}

func (r *Registry) readManifest(name, version string) (Manifest, error) {
	b, err := fs.ReadFile(r.fsys, path.Join(name, version, ManifestFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Manifest{}, fmt.Errorf("%w: %s@%s", ErrNotFound, name, version)
		}
		return Manifest{}, fmt.Errorf("ml: registry: %w", err)
	}
	var man Manifest
	if err := json.Unmarshal(b, &man); err != nil {
		return Manifest{}, fmt.Errorf("%w: %s@%s manifest: %w", ErrInvalidModel, name, version, err)
	}
	if man.Name != name || man.Version != version {
		return Manifest{}, fmt.Errorf("%w: %s/%s holds the manifest of %s", ErrInvalidModel, name, version, man.ID())
	}
	return man, nil
}

// Load reads name@version (version "" means the latest), verifies the model file's sha256
// against its manifest and returns the [Model]. A tampered file returns a [*HashError].
func (r *Registry) Load(ctx context.Context, name, version string) (*Model, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	version, err := r.resolve(name, version)
	if err != nil {
		return nil, err
	}
	man, err := r.readManifest(name, version)
	if err != nil {
		return nil, err
	}
	if man.SHA256 == "" {
		return nil, fmt.Errorf("%w: %s manifest has no sha256", ErrInvalidModel, man.ID())
	}
	data, err := fs.ReadFile(r.fsys, path.Join(name, version, ModelFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotFound, man.ID(), err)
	}
	return NewModel(data, man)
}

// Register stores data as man.Name@man.Version and returns the verified Model. The manifest's
// SHA256 is filled in from data (a non-empty one must match). Registering an existing version
// again with identical content is a no-op; with other content it returns an error wrapping
// [ErrExists]. Files are written to a temporary name and renamed, so readers never see a
// partial version.
func (r *Registry) Register(ctx context.Context, data []byte, man Manifest) (*Model, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	if r.dir == "" {
		return nil, ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := NewModel(data, man)
	if err != nil {
		return nil, err
	}
	man = m.Manifest()
	if old, err := r.readManifest(man.Name, man.Version); err == nil {
		if old.SHA256 == man.SHA256 {
			return r.Load(ctx, man.Name, man.Version)
		}
		return nil, fmt.Errorf("%w: %s (sha256 %s)", ErrExists, man.ID(), old.SHA256)
	}
	if err := writeVersion(filepath.Join(r.dir, man.Name, man.Version), m); err != nil {
		return nil, err
	}
	return m, nil
}

// WriteVersion writes data and man into dir (model.onnx and model.json, the manifest's sha256
// filled in) after verifying them with [NewModel]. It is how a registry directory is built
// outside a Registry (the SDK's `make models`).
func WriteVersion(dir string, data []byte, man Manifest) (*Model, error) {
	m, err := NewModel(data, man)
	if err != nil {
		return nil, err
	}
	if err := writeVersion(dir, m); err != nil {
		return nil, err
	}
	return m, nil
}

// writeVersion writes m's file and manifest into dir, the manifest last: a version is visible
// only once both exist.
func writeVersion(dir string, m *Model) error {
	js, err := json.MarshalIndent(m.Manifest(), "", "  ")
	if err != nil {
		return fmt.Errorf("ml: registry: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ml: registry: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, ModelFile), m.Bytes()); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ManifestFile), append(js, '\n'))
}

func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-*")
	if err != nil {
		return fmt.Errorf("ml: registry: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("ml: registry: %w", err)
	}
	return nil
}
