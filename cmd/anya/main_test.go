package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// anya runs the CLI in process and decodes its JSON output.
func anya(t *testing.T, args ...string) (map[string]any, int) {
	t.Helper()
	return anyaIn(t, nil, args...)
}

// anyaIn runs the CLI in process with stdin as its standard input.
func anyaIn(t *testing.T, stdin io.Reader, args ...string) (map[string]any, int) {
	t.Helper()
	doc, code, _ := anyaFull(t, stdin, args...)
	return doc, code
}

// anyaFull runs the CLI in process and returns its JSON output, exit code and standard error.
func anyaFull(t *testing.T, stdin io.Reader, args ...string) (map[string]any, int, string) {
	t.Helper()
	var out, stderr bytes.Buffer
	code := runIO(context.Background(), args, stdin, &out, &stderr)
	return decode(t, args, out.Bytes()), code, stderr.String()
}

// decode reads the one JSON document a command printed.
func decode(t *testing.T, args []string, out []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("anya %v: output %q is not JSON: %v", args, out, err)
	}
	if dec.More() {
		t.Fatalf("anya %v: more than one JSON document", args)
	}
	return doc
}

func errorCode(t *testing.T, doc map[string]any) string {
	t.Helper()
	e, ok := doc["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %v", doc)
	}
	if m, _ := e["message"].(string); m == "" {
		t.Fatalf("error without message: %v", doc)
	}
	code, _ := e["code"].(string)
	return code
}

func TestDispatch(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"message"}, {"message", "nope"}} {
		doc, code := anya(t, args...)
		if code != exitUsage || errorCode(t, doc) != "usage" {
			t.Errorf("%v: exit %d, %v", args, code, doc)
		}
	}
	for _, c := range commands() {
		cmd, rest := lookup(append(append([]string(nil), c.path...), "x"))
		if cmd == nil || len(rest) != 1 || rest[0] != "x" {
			t.Errorf("lookup %v", c.path)
		}
	}
}

// TestProgressOnlyOnATerminal: progress bars go to a terminal, never to a file, a pipe or a
// buffer.
func TestProgressOnlyOnATerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, out := range map[string]io.Writer{"file": f, "pipe": w, "buffer": new(bytes.Buffer)} {
		if terminal(out) != nil {
			t.Errorf("%s taken for a terminal", name)
		}
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if terminal(tty) == nil {
			t.Error("/dev/tty not taken for a terminal")
		}
	}
}
