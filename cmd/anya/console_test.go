package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConsole: anya console serves the web console of a data directory where a payment was
// made: it prints its URL and a password, the payment is on its pages behind that password
// only, and it stops when interrupted.
func TestConsole(t *testing.T) {
	dir := t.TempDir()
	alice, aliceKey := newParty(t, "key"), newTestKey(t, "alice")
	shop := newTestKey(t, "shop")
	if _, code := anya(t, "link", "challenge", "--data-dir", dir, "--portable-did", alice.file, "--wif-file", aliceKey.wifFile); code != exitOK {
		t.Fatal("link failed")
	}
	if p, code := pay(t, dir, alice, aliceKey, shop.p2wpkh.String(), "25000", "order-1"); code != exitOK || p["outcome"] != "sent" {
		t.Fatalf("pay: %d %v", code, p)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := runIO(ctx, []string{"console", "--data-dir", dir}, nil, pw, io.Discard)
		_ = pw.Close()
		done <- code
	}()
	var info consoleInfo
	if err := json.NewDecoder(pr).Decode(&info); err != nil {
		cancel()
		t.Fatalf("console printed nothing: %v (exit %d)", err, <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if !strings.HasPrefix(info.URL, "http://127.0.0.1:") || info.User != consoleUser || len(info.Password) != 32 || info.Writes ||
		info.DataDir != dir {
		t.Fatalf("%+v", info)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	fetch := func(path, user, pass string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, info.URL+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := fetch("payments", consoleUser, info.Password); code != 200 || !strings.Contains(body, `data-payment="order-1" data-outcome="sent"`) ||
		strings.Contains(body, alice.uri) {
		t.Errorf("payments: %d\n%s", code, body)
	}
	if code, _ := fetch("payments", "", ""); code != http.StatusUnauthorized {
		t.Errorf("without the password: %d", code)
	}
	if code, _ := fetch("payments", consoleUser, "guess"); code != http.StatusUnauthorized {
		t.Errorf("with a wrong password: %d", code)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("console did not stop")
	}
}

// TestConsoleRefuses: the console listens on loopback only and takes no short password.
func TestConsoleRefuses(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"console", "--data-dir", dir, "--listen", "0.0.0.0:8080"},
		{"console", "--data-dir", dir, "--listen", "192.0.2.1:8080"},
		{"console", "--data-dir", dir, "--listen", "example.com:8080"},
		{"console", "--data-dir", dir, "--listen", "8080"},
		{"console", "--data-dir", dir, "--password-file", short},
		{"console"},
	} {
		doc, code := anya(t, args...)
		if e, _ := doc["error"].(map[string]any); code != exitUsage || e["code"] != "usage" {
			t.Errorf("%q: %d %v", args, code, doc)
		}
	}
}
