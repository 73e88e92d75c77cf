package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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
	var out bytes.Buffer
	code := run(context.Background(), args, stdin, &out)
	var doc map[string]any
	dec := json.NewDecoder(&out)
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("anya %v: output %q is not JSON: %v", args, out.String(), err)
	}
	if dec.More() {
		t.Fatalf("anya %v: more than one JSON document", args)
	}
	return doc, code
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
