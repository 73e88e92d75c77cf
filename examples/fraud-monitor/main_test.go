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

// check runs the demo with cfg and checks each part of the scenario in its output.
func check(t *testing.T, cfg config) string {
	t.Helper()
	var out strings.Builder
	if err := run(context.Background(), &out, cfg); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		`alert threshold 0\.70`,
		`mempool +[0-9a-f]{8}…[0-9a-f]{8} +did:example:alice \(alice\) +(0\.[7-9]\d|1\.00) +ALERT`,
		`alert [0-9a-f]{32}: risk (0\.[7-9]\d|1\.00) ≥ 0\.70, top factor \w+`,
		`mempool +[0-9a-f]{8}…[0-9a-f]{8} +did:example:carol \(carol\) +0\.[0-6]\d +ok`,
		`mempool +[0-9a-f]{8}…[0-9a-f]{8} +— +0\.[0-6]\d +ok`,
		`block \d+ +[0-9a-f]{8}…[0-9a-f]{8} +— +0\.[0-6]\d +ok`,
		`mined: 1 transaction scored in it, the 3 seen in the mempool not again`,
		`RETRACTED alert [0-9a-f]{32} of [0-9a-f]{8}…[0-9a-f]{8}: block \d+ was disconnected`,
		`block \d+ +[0-9a-f]{8}…[0-9a-f]{8} +did:example:alice \(alice\) +\d\.\d\d`,
		`monitor: 5 scored in \d+ batches \(3 linked\), [12] alerts, 1 retracted, \d+ not scored twice; 0 denied`,
		`audit log: (\d+) crossings \((\d+) allowed\), hash chain intact`,
	} {
		if !regexp.MustCompile(want).MatchString(s) {
			t.Errorf("the output lacks %q:\n%s", want, s)
		}
	}
	if m := regexp.MustCompile(`audit log: (\d+) crossings \((\d+) allowed\)`).FindStringSubmatch(s); m == nil || m[1] != m[2] {
		t.Errorf("not every crossing was allowed:\n%s", s)
	}
	return s
}

// The demo runs on the embedded simchain.
func TestRun(t *testing.T) {
	if s := check(t, config{}); !strings.Contains(s, "chain: simchain regtest") {
		t.Errorf("not on the simchain:\n%s", s)
	}
}

// With -rpc it runs on a btcd regtest node it starts (and removes).
func TestRunRPC(t *testing.T) {
	s := check(t, config{rpc: true, btcd: bitcointest.BtcdBinary(t)})
	if !strings.Contains(s, "chain: btcd regtest") || !strings.Contains(s, "started btcd (regtest) at 127.0.0.1:") {
		t.Errorf("not on a btcd node:\n%s", s)
	}
}
