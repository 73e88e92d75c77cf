package main

import (
	"context"
	"testing"
)

// The example program runs to completion against an embedded bus.
func TestRun(t *testing.T) {
	if err := run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
