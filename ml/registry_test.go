package ml_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/ml/mltest"
)

func TestRegistryRegisterLoadVersions(t *testing.T) {
	ctx := context.Background()
	reg, err := ml.OpenRegistry(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tm := mltest.Trees(1, 5, 3, 4)
	man := tm.Model.Manifest()
	for _, v := range []string{"1.9", "1.10", "2", "1.2"} {
		if _, err := reg.Register(ctx, tm.Model.Bytes(), withVersion(man, v)); err != nil {
			t.Fatalf("Register %s: %v", v, err)
		}
	}
	vs, err := reg.Versions(man.Name)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1.2", "1.9", "1.10", "2"}; !slices.Equal(vs, want) {
		t.Fatalf("Versions %v, want %v", vs, want)
	}
	latest, err := reg.Load(ctx, man.Name, "")
	if err != nil || latest.Version() != "2" {
		t.Fatalf("latest: %v, %v", latest, err)
	}
	m, err := reg.Load(ctx, man.Name, "1.10")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Manifest(); got.SHA256 == "" || got.Schema.ID() != man.Schema.ID() {
		t.Fatalf("loaded manifest %+v", got)
	}
	names, err := reg.Names()
	if err != nil || !slices.Equal(names, []string{man.Name}) {
		t.Fatalf("Names %v, %v", names, err)
	}

	// Same bytes again: a no-op. Other bytes under an existing version: refused.
	if _, err := reg.Register(ctx, tm.Model.Bytes(), withVersion(man, "2")); err != nil {
		t.Fatalf("re-registering identical content: %v", err)
	}
	other := mltest.Trees(2, 5, 3, 4)
	if _, err := reg.Register(ctx, other.Model.Bytes(), withVersion(man, "2")); !errors.Is(err, ml.ErrExists) {
		t.Fatalf("overwriting version 2: %v, want ErrExists", err)
	}
	if _, err := reg.Load(ctx, man.Name, "3"); !errors.Is(err, ml.ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	if _, err := reg.Load(ctx, "nope", ""); !errors.Is(err, ml.ErrNotFound) {
		t.Fatalf("missing name: %v", err)
	}
	if _, err := reg.Load(ctx, "../etc", "1"); !errors.Is(err, ml.ErrNotFound) {
		t.Fatalf("path traversal: %v", err)
	}
}

func TestRegistryRefusesTamperedFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg, err := ml.OpenRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	tm := mltest.Linear([]float32{1, 2}, 0.5)
	if _, err := reg.Register(ctx, tm.Model.Bytes(), tm.Model.Manifest()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, tm.Model.Name(), "1", ml.ModelFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 1
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = reg.Load(ctx, tm.Model.Name(), "1")
	var he *ml.HashError
	if !errors.As(err, &he) || !errors.Is(err, ml.ErrTampered) {
		t.Fatalf("Load of a tampered file: %v, want a HashError", err)
	}
	if !strings.Contains(err.Error(), "refusing") {
		t.Errorf("message %q does not say the file is refused", err)
	}
}

func TestRegistryReadOnlyFS(t *testing.T) {
	tm := mltest.Linear([]float32{1}, 0)
	man := tm.Model.Manifest()
	js := `{"name":"tiny-linear","version":"1","sha256":"` + man.SHA256 + `","input":{"name":"x","shape":[-1,1]},` +
		`"output":{"name":"score","shape":[-1,1]},"schema":{"name":"tiny-linear","version":1,"features":[{"name":"f0","min":-1000,"max":1000,"default":0}]},"threshold":0.5}`
	fsys := fstest.MapFS{
		"tiny-linear/1/model.onnx": {Data: tm.Model.Bytes()},
		"tiny-linear/1/model.json": {Data: []byte(js)},
		"README.md":                {Data: []byte("not a model")},
		"stray/notes.txt":          {Data: []byte("no versions here")},
	}
	reg := ml.OpenRegistryFS(fsys)
	m, err := reg.Load(context.Background(), "tiny-linear", "")
	if err != nil {
		t.Fatal(err)
	}
	if m.ID() != "tiny-linear@1" {
		t.Fatalf("loaded %s", m.ID())
	}
	if names, _ := reg.Names(); !slices.Equal(names, []string{"tiny-linear"}) {
		t.Fatalf("Names %v", names)
	}
	if _, err := reg.Register(context.Background(), tm.Model.Bytes(), man); !errors.Is(err, ml.ErrReadOnly) {
		t.Fatalf("Register on a read-only registry: %v", err)
	}

	// A manifest under the wrong directory is refused.
	fsys["tiny-linear/7/model.json"] = &fstest.MapFile{Data: []byte(js)}
	fsys["tiny-linear/7/model.onnx"] = &fstest.MapFile{Data: tm.Model.Bytes()}
	if _, err := reg.Load(context.Background(), "tiny-linear", "7"); !errors.Is(err, ml.ErrInvalidModel) {
		t.Fatalf("misplaced manifest: %v", err)
	}
	fsys["tiny-linear/8/model.json"] = &fstest.MapFile{Data: []byte("{not json")}
	if _, err := reg.Load(context.Background(), "tiny-linear", "8"); !errors.Is(err, ml.ErrInvalidModel) {
		t.Fatalf("bad manifest JSON: %v", err)
	}
}

func TestNewModelChecksManifest(t *testing.T) {
	tm := mltest.Linear([]float32{1, 2}, 0)
	good := tm.Model.Manifest()
	cases := map[string]func(m *ml.Manifest){
		"bad name":        func(m *ml.Manifest) { m.Name = "Bad Name" },
		"bad version":     func(m *ml.Manifest) { m.Version = "../1" },
		"wrong width":     func(m *ml.Manifest) { m.Input.Shape = []int64{-1, 3} },
		"unknown input":   func(m *ml.Manifest) { m.Input.Name = "nope" },
		"unknown output":  func(m *ml.Manifest) { m.Output.Name = "nope" },
		"score index":     func(m *ml.Manifest) { m.Output.Index = 1 },
		"threshold":       func(m *ml.Manifest) { m.Threshold = 2 },
		"schema no name":  func(m *ml.Manifest) { m.Schema.Name = "" },
		"schema min>max":  func(m *ml.Manifest) { m.Schema.Features = []ml.Feature{{Name: "a", Min: 1, Max: 0}, {Name: "b"}} },
		"schema dup name": func(m *ml.Manifest) { m.Schema.Features = []ml.Feature{{Name: "a"}, {Name: "a"}} },
	}
	for name, mutate := range cases {
		man := good
		man.Schema.Features = slices.Clone(good.Schema.Features)
		man.SHA256 = ""
		mutate(&man)
		if _, err := ml.NewModel(tm.Model.Bytes(), man); !errors.Is(err, ml.ErrInvalidModel) {
			t.Errorf("%s: %v, want ErrInvalidModel", name, err)
		}
	}
	if _, err := ml.NewModel([]byte("not onnx at all"), withVersion(good, "1")); !errors.Is(err, ml.ErrInvalidModel) {
		t.Errorf("garbage bytes: %v", err)
	}
}

func TestSchemaVector(t *testing.T) {
	s := ml.Schema{Name: "s", Version: 2, Features: []ml.Feature{
		{Name: "amount", Min: 0, Max: 100, Default: 1}, {Name: "age", Min: 0, Max: 10, Default: 5},
	}}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	v, err := s.Vector(map[string]float32{"amount": 42})
	if err != nil {
		t.Fatal(err)
	}
	if v.Schema != "s" || v.Version != 2 || !slices.Equal(v.Values, []float32{42, 5}) {
		t.Fatalf("vector %+v", v)
	}
	if _, err := s.Vector(map[string]float32{"nope": 1}); !errors.Is(err, ml.ErrUnknownFeature) {
		t.Fatalf("unknown feature: %v", err)
	}
	if _, err := s.Vector(map[string]float32{"age": 11}); !errors.Is(err, ml.ErrOutOfRange) {
		t.Fatalf("out of range: %v", err)
	}
	m, err := s.Map(v)
	if err != nil || m["amount"] != 42 || m["age"] != 5 {
		t.Fatalf("Map %v, %v", m, err)
	}
	if s.ID() != "s@2" || s.Index("age") != 1 || s.Index("x") != -1 || !slices.Equal(s.Names(), []string{"amount", "age"}) {
		t.Fatal("schema accessors")
	}
}

func TestCompareVersions(t *testing.T) {
	in := []string{"10", "2", "1.0.1", "1.0", "1.0.0", "beta", "alpha", "1.a"}
	slices.SortFunc(in, ml.CompareVersions)
	if want := []string{"1.0", "1.0.0", "1.0.1", "1.a", "2", "10", "alpha", "beta"}; !slices.Equal(in, want) {
		t.Fatalf("sorted %v, want %v", in, want)
	}
}
