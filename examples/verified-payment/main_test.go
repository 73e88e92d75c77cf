package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

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
		`order-2 +100000000 sat  blocked +risk (0\.[7-9]\d|1\.00) ≥ 0\.70 \(risk_above_threshold\)`,
		`order-3 +25000 sat  unverified  no_link: no address-link credential for did:dht:`,
		`mined block ` + height,
		`payment order-1 confirmed at height ` + height,
		`payment order-1, 25000 sat, status confirmed at height ` + height,
		`audit log: \d+ crossings \(\d+ allowed, 0 denied\), hash chain intact`,
		`anya\.payment\.sent +1 / 0`,
		`anya\.payment\.blocked +1 / 0`,
		`anya\.payment\.unverified +1 / 0`,
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
	if s := check(t, config{}, "104"); !strings.Contains(s, "chain: simchain regtest") {
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

// syncBuffer is a strings.Builder safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With -console the demo serves the web console after the scenario, prints where to look, and
// stops when interrupted.
func TestRunWithConsole(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, &out, config{console: true, listen: "127.0.0.1:0"}) }()
	where := regexp.MustCompile(`console: (http://127\.0\.0\.1:\d+/console/) +\(user operator, password ([0-9a-f]{24})\)`)
	var m []string
	deadline := time.Now().Add(2 * time.Minute)
	for m == nil {
		select {
		case err := <-done:
			t.Fatalf("the demo ended: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no console address:\n%s", out.String())
		}
		m = where.FindStringSubmatch(out.String())
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, m[1]+"payments", nil)
	req.SetBasicAuth("operator", m[2])
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`data-payment="order-1" data-outcome="sent"`, `data-payment="order-2" data-outcome="blocked"`,
		`data-payment="order-3" data-outcome="unverified"`} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("%s: the payments page lacks %s", resp.Status, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the demo ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop")
	}
}
