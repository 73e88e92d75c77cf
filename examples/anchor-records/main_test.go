package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The program runs to completion: the three anchored records are committed, the added and the
// edited one are not, and the forged receipt is refused.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(out.String(), "\n") {
		if i := strings.LastIndex(l, `"`); strings.HasPrefix(strings.TrimSpace(l), `"`) && i > 0 {
			lines[strings.TrimSpace(l[:i+1])] = strings.TrimSpace(l[i+1:])
		}
	}
	for note, want := range map[string]string{
		`"invoice 1"`: "committed (leaf", `"invoice 2 (edited)"`: "not committed",
		`"delivery note"`: "committed (leaf", `"added later"`: "not committed",
	} {
		if !strings.HasPrefix(lines[note], want) {
			t.Errorf("%s: %q, want %q\n%s", note, lines[note], want, out.String())
		}
	}
	if !strings.Contains(out.String(), "anchored 3 records") || !strings.Contains(out.String(), "forged receipt refused: true") {
		t.Errorf("output:\n%s", out.String())
	}
}
