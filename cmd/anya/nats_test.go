package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATS runs anya nats in process with args and returns what it printed and a function
// that interrupts it and returns its exit code.
func startNATS(t *testing.T, args ...string) (natsInfo, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := runIO(ctx, append([]string{"nats"}, args...), nil, pw, io.Discard)
		_ = pw.Close()
		done <- code
	}()
	var info natsInfo
	if err := json.NewDecoder(pr).Decode(&info); err != nil {
		cancel()
		t.Fatalf("nats printed no URL: %v (exit %d)", err, <-done)
	}
	stopped := false
	stop := func() int {
		if stopped {
			return exitOK
		}
		stopped = true
		cancel()
		go func() { _, _ = io.Copy(io.Discard, pr) }()
		select {
		case code := <-done:
			return code
		case <-time.After(2 * natsWait):
			t.Fatal("nats did not stop")
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	return info, stop
}

// TestNATSStartsAndStops: anya nats prints a URL where JetStream answers, keeps what is
// written in its store directory, and stops when interrupted; a store directory it made up is
// removed, one it was given is kept.
func TestNATSStartsAndStops(t *testing.T) {
	ctx := t.Context()
	for _, given := range []bool{false, true} {
		args := []string{"--listen", "127.0.0.1:0"}
		if given {
			args = append(args, "--store-dir", filepath.Join(t.TempDir(), "nats"))
		}
		info, stop := startNATS(t, args...)
		if !info.JetStream || !strings.HasPrefix(info.URL, "nats://127.0.0.1:") || !filepath.IsAbs(info.StoreDir) {
			t.Fatalf("%+v", info)
		}
		nc, err := nats.Connect(info.URL)
		if err != nil {
			t.Fatal(err)
		}
		js, _ := jetstream.New(nc)
		kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "trial", Storage: jetstream.FileStorage})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(ctx, "k", []byte("v")); err != nil {
			t.Fatal(err)
		}
		nc.Close()
		if code := stop(); code != exitOK {
			t.Fatalf("exit %d", code)
		}
		_, err = os.Stat(filepath.Join(info.StoreDir, "jetstream"))
		if given && err != nil {
			t.Fatalf("the store directory it was given lost its streams: %v", err)
		}
		if !given && !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the store directory it made up is still there: %v", err)
		}
		if nc, err := nats.Connect(info.URL, nats.Timeout(time.Second)); err == nil {
			nc.Close()
			t.Fatal("the server still answers after the command stopped")
		}
	}
}

// TestNATSListenAttacks: the embedded server has no authentication, so anything but a loopback
// address is refused before a server starts, as is a malformed one.
func TestNATSListenAttacks(t *testing.T) {
	for name, listen := range map[string]string{
		"every interface":       "0.0.0.0:4222",
		"every IPv6 interface":  "[::]:4222",
		"a private address":     "10.0.0.1:4222",
		"a host name":           "nats.example:4222",
		"no port":               "127.0.0.1",
		"port out of range":     "127.0.0.1:65536",
		"negative port":         "127.0.0.1:-1",
		"port not a number":     "127.0.0.1:http",
		"empty host":            ":4222",
		"mapped IPv4 on all":    "[::ffff:0.0.0.0]:4222",
		"loopback look-alike":   "127.0.0.1.example:4222",
		"host with a path part": "127.0.0.1/x:4222",
	} {
		doc, code := anya(t, "nats", "--listen", listen)
		if code != exitUsage || errorCode(t, doc) != "usage" {
			t.Errorf("%s (%q): %d %v", name, listen, code, doc)
		}
	}
}

// TestManagerFlagsOfNATS: --nats needs a node (the embedded chain lives as long as one
// command), --host-name needs --nats, and an unreachable server is reported as such.
func TestManagerFlagsOfNATS(t *testing.T) {
	t.Setenv("NO_PASS", "x")
	verify := []string{"link", "verify", "--data-dir", t.TempDir(), "--did", "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY",
		"--address", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"}
	node := []string{"--rpc", "127.0.0.1:1", "--rpc-user", "u", "--rpc-pass-env", "NO_PASS"}
	for name, c := range map[string]struct {
		args []string
		code string
	}{
		"--nats on the embedded chain":         {[]string{"--nats", "nats://127.0.0.1:1"}, "usage"},
		"--host-name without --nats":           {[]string{"--host-name", "a"}, "usage"},
		"--host-name on a node without --nats": {append([]string{"--host-name", "a"}, node...), "usage"},
	} {
		doc, code := anya(t, append(append([]string(nil), verify...), c.args...)...)
		if code == exitOK || errorCode(t, doc) != c.code {
			t.Errorf("%s: %d %v", name, code, doc)
		}
	}
}

// TestPayOnNATS: two data directories given one --nats are two hosts of one set: an address
// linked and a payment made through the first show through the second; a host's data
// directory is refused without --nats and by the commands that read its SQLite files.
func TestPayOnNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("mines 432 blocks on btcd")
	}
	hostA, hostB := t.TempDir(), t.TempDir()
	alice, aliceKey := newParty(t, "key"), newTestKey(t, "nats alice")
	shop := newTestKey(t, "nats shop")
	host := newParty(t, "key") // the hosts act as one: one host DID
	info, _ := startNode(t, "--mining-address", aliceKey.p2wpkh.String(), "--blocks", "432")
	srv, _ := startNATS(t, "--listen", "127.0.0.1:0")
	t.Setenv("NODE_PASS", info.Pass)
	shared := []string{"--rpc", info.RPC, "--rpc-user", info.User, "--rpc-pass-env", "NODE_PASS", "--nats", srv.URL, "--host-did", host.file}
	on := func(dir string) []string { return append([]string{"--data-dir", dir}, shared...) }
	if doc, code := anya(t, append([]string{"link", "challenge", "--portable-did", alice.file, "--wif-file", aliceKey.wifFile}, on(hostA)...)...); code != exitOK {
		t.Fatalf("link on host A: %v", doc)
	}
	if doc, code := anya(t, append([]string{"link", "verify", "--did", alice.uri, "--address", aliceKey.p2wpkh.String()}, on(hostB)...)...); code != exitOK || doc["verified"] != true {
		t.Fatalf("host B does not see the link host A stored: %d %v", code, doc)
	}
	p, code := pay(t, hostB, alice, aliceKey, shop.p2wpkh.String(), "25000", "nats-1", shared...)
	if code != exitOK || p["outcome"] != "sent" {
		t.Fatalf("pay on host B: %d %v", code, p)
	}
	// The same payment ID through host A is the same payment: nothing sent twice.
	again, code := pay(t, hostA, alice, aliceKey, shop.p2wpkh.String(), "25000", "nats-1", shared...)
	if code != exitOK || again["txid"] != p["txid"] {
		t.Fatalf("pay nats-1 again on host A: %d %v, first %v", code, again, p["txid"])
	}
	if err := nodeRPC(info).call(context.Background(), btcjson.NewGenerateCmd(1), nil); err != nil {
		t.Fatal(err)
	}
	if doc, code := anya(t, append([]string{"payment", "show", "nats-1"}, on(hostA)...)...); code != exitOK || doc["txid"] != p["txid"] {
		t.Fatalf("payment show on host A: %d %v", code, doc)
	}
	// Host A's state is on NATS: without --nats, and for the commands that read the data
	// directory's files, it is refused with a message that says so.
	noNATS := []string{"--data-dir", hostA, "--rpc", info.RPC, "--rpc-user", info.User, "--rpc-pass-env", "NODE_PASS", "--host-did", host.file}
	for _, args := range [][]string{
		append([]string{"payment", "show", "nats-1"}, noNATS...),
		{"payment", "list", "--data-dir", hostA, "--did", alice.uri},
		{"audit", "tail", "--data-dir", hostA},
		{"dwn", "query", "--data-dir", hostA, "--portable-did", alice.file},
	} {
		if doc, code := anya(t, args...); code != exitUsage || !strings.Contains(errorMessage(doc), "NATS JetStream") {
			t.Errorf("%v: %d %v", args[:2], code, doc)
		}
	}
	// No server at --nats: unreachable, naming it.
	bad := []string{"link", "verify", "--did", alice.uri, "--address", aliceKey.p2wpkh.String(), "--data-dir", t.TempDir(), "--rpc", info.RPC,
		"--rpc-user", info.User, "--rpc-pass-env", "NODE_PASS", "--nats", "nats://127.0.0.1:1"}
	if doc, code := anya(t, bad...); code != exitError || errorCode(t, doc) != "unreachable" || !strings.Contains(errorMessage(doc), "127.0.0.1:1") {
		t.Fatalf("no server at --nats: %d %v", code, doc)
	}
	// A data directory that keeps its state in its files is not opened with --nats.
	local := t.TempDir()
	if doc, code := anya(t, "link", "verify", "--data-dir", local, "--did", alice.uri, "--address", aliceKey.p2wpkh.String(), "--rpc", info.RPC,
		"--rpc-user", info.User, "--rpc-pass-env", "NODE_PASS"); code != exitOK {
		t.Fatal(doc)
	}
	if doc, code := anya(t, append([]string{"link", "verify", "--did", alice.uri, "--address", aliceKey.p2wpkh.String()}, on(local)...)...); code != exitUsage ||
		!strings.Contains(errorMessage(doc), "SQLite") {
		t.Fatalf("a SQLite data directory with --nats: %d %v", code, doc)
	}
}
