package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/anya-org/anya-go/bitcoin/bitcointest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// check runs the demo with cfg and checks each part of the scenario in its output; the payment
// confirms in the block at height.
func check(t *testing.T, cfg config, height string) string {
	t.Helper()
	var out strings.Builder
	if err := run(context.Background(), &out, cfg); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		`linked as did:pkh:bip122:[0-9a-f]{32}:bcrt1q`,
		`order-1 +25000 sat  sent +risk 0\.[0-6]\d  txid [0-9a-f]{64}`,
		`order-2 +100000000 sat  blocked +risk (0\.[7-9]\d|1\.00) ≥ 0\.70`,
		`order-3 +25000 sat  unverified`,
		`mined block ` + height,
		`payment order-1 confirmed at height ` + height,
		`payment order-1, 25000 sat, status confirmed at height ` + height,
		`audit log: \d+ crossings \(\d+ allowed, 0 denied\), hash chain intact`,
		`anya\.payment\.sent +1 / 0`,
		`anya\.payment\.confirmed +1 / 1`,
		`workflow\.run\.completed +2 /`,
		`workflow\.run\.terminated +1 /`,
	} {
		if !regexp.MustCompile(want).MatchString(s) {
			t.Errorf("the output lacks %q:\n%s", want, s)
		}
	}
	return s
}

// The demo runs to completion on embedded defaults and shows each part of the scenario.
func TestRun(t *testing.T) {
	if s := check(t, config{}, "103"); !strings.Contains(s, "chain: simchain regtest") {
		t.Errorf("not on the simchain:\n%s", s)
	}
}

// With -rpc the same scenario runs on a btcd regtest node the demo starts (and removes).
func TestRunRPC(t *testing.T) {
	s := check(t, config{rpc: true, btcd: bitcointest.BtcdBinary(t)}, "434")
	if !strings.Contains(s, "chain: btcd regtest") || !strings.Contains(s, "started btcd (regtest) at 127.0.0.1:") {
		t.Errorf("not on a btcd node:\n%s", s)
	}
}
