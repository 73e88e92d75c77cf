package vectors

import (
	"encoding/json"
	"os"
	"testing"
)

// Vector is one conformance case.
type Vector struct {
	Description string          `json:"description"`
	Input       json.RawMessage `json:"input"`
	Output      json.RawMessage `json:"output"`
	Errors      bool            `json:"errors"`
}

// File is a vector file.
type File struct {
	Description string   `json:"description"`
	Vectors     []Vector `json:"vectors"`
}

// Load reads a vector file.
func Load(t testing.TB, path string) File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return f
}

// Run loads path, checks it holds want cases, and runs fn for each as a subtest named
// after the vector's description.
func Run(t *testing.T, path string, want int, fn func(t *testing.T, v Vector)) {
	t.Helper()
	f := Load(t, path)
	if len(f.Vectors) != want {
		t.Fatalf("%s holds %d vectors, want %d", path, len(f.Vectors), want)
	}
	for _, v := range f.Vectors {
		t.Run(v.Description, func(t *testing.T) { fn(t, v) })
	}
}

// Decode unmarshals raw into v or fails the test.
func Decode(t testing.TB, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode vector: %v", err)
	}
}
