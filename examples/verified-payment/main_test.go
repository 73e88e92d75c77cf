package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The demo runs to completion on embedded defaults and shows each part of the scenario.
func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		`linked as did:pkh:bip122:[0-9a-f]{32}:bcrt1q`,
		`order-1 +25000 sat  sent +risk 0\.[0-6]\d  txid [0-9a-f]{64}`,
		`order-2 +100000000 sat  blocked +risk (0\.[7-9]\d|1\.00) ≥ 0\.70`,
		`order-3 +25000 sat  unverified`,
		`payment order-1 confirmed at height 103`,
		`payment order-1, 25000 sat, status confirmed at height 103`,
		`audit log: \d+ crossings \(\d+ allowed, 0 denied\), hash chain intact`,
		`anya\.payment\.confirmed +1 / 1`,
		`workflow\.run\.completed +2 /`,
		`workflow\.run\.terminated +1 /`,
	} {
		if !regexp.MustCompile(want).MatchString(s) {
			t.Errorf("the output lacks %q:\n%s", want, s)
		}
	}
}
