package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsNeverOnTheCommandLine: a key reaches a command from a file, the environment or
// standard input with the same result as on the command line; the command-line form warns on
// standard error; a secret is never repeated in an error.
func TestSecretsNeverOnTheCommandLine(t *testing.T) {
	const addr = "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l"
	const wif = "L3VFeEujGtevx9w18HD1fhRbCH67Az2dpCymeRE1SoPK6XQtaN2k"
	sign := []string{"message", "sign", "--address", addr, "--message", "Hello World"}
	want, code, stderr := anyaFull(t, nil, append(sign, "--wif", wif)...)
	if code != exitOK || !strings.Contains(stderr, "warning") || !strings.Contains(stderr, "--wif-file") || strings.Contains(stderr, wif) {
		t.Fatalf("--wif VALUE: %d %v, stderr %q", code, want, stderr)
	}
	file := filepath.Join(t.TempDir(), "key.wif")
	if err := os.WriteFile(file, []byte(wif+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ANYA_TEST_WIF", wif)
	for name, c := range map[string]struct {
		stdin string
		args  []string
	}{
		"file":  {"", []string{"--wif-file", file}},
		"@file": {"", []string{"--wif", "@" + file}},
		"env":   {"", []string{"--wif-env", "ANYA_TEST_WIF"}},
		"stdin": {wif + "\n", []string{"--wif", "-"}},
	} {
		got, code, stderr := anyaFull(t, strings.NewReader(c.stdin), append(sign, c.args...)...)
		if code != exitOK || got["signature"] != want["signature"] || stderr != "" {
			t.Errorf("%s: %d %v, stderr %q", name, code, got, stderr)
		}
	}
	for name, c := range map[string]struct {
		stdin string
		args  []string
		code  string
	}{
		"none":          {"", nil, "usage"},
		"two sources":   {"", []string{"--wif-file", file, "--wif-env", "ANYA_TEST_WIF"}, "usage"},
		"unset env":     {"", []string{"--wif-env", "ANYA_TEST_NO_SUCH_VARIABLE"}, "usage"},
		"missing file":  {"", []string{"--wif-file", filepath.Join(t.TempDir(), "nope")}, "not_found"},
		"not a key":     {"5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ-secret\n", []string{"--wif", "-"}, "invalid_key"},
		"too large":     {strings.Repeat("k", maxWIF+1), []string{"--wif", "-"}, "input_too_large"},
		"wrong network": {newTestKey(t, "a regtest key").wif + "\n", []string{"--wif", "-"}, "wrong_network"},
	} {
		doc, code, stderr := anyaFull(t, strings.NewReader(c.stdin), append(sign, c.args...)...)
		if code == exitOK || errorCode(t, doc) != c.code {
			t.Errorf("%s: %d %v, want %s", name, code, doc, c.code)
		}
		if secret := strings.TrimSpace(c.stdin); secret != "" && (strings.Contains(errorMessage(doc), secret) || strings.Contains(stderr, secret)) {
			t.Errorf("%s: the secret is repeated: %v %q", name, doc, stderr)
		}
	}

	// A portable DID from the environment.
	issuer, _ := anya(t, "did", "create", "--method", "key")
	raw, _ := os.ReadFile(writePortable(t, issuer))
	t.Setenv("ANYA_TEST_DID", string(raw))
	out, code := anya(t, "vc", "issue", "--portable-did-env", "ANYA_TEST_DID", "--subject", issuer["uri"].(string), "--type", "T")
	if code != exitOK || out["vcJwt"] == nil {
		t.Fatalf("--portable-did-env: %d %v", code, out)
	}
	// A password on the command line warns too.
	_, _, stderr = anyaFull(t, nil, "payment", "show", "x", "--data-dir", t.TempDir(), "--rpc", "127.0.0.1:1", "--rpc-user", "u", "--rpc-pass", "hunter2")
	if strings.Contains(stderr, "hunter2") {
		t.Fatalf("the password is repeated: %q", stderr)
	}
}

// TestDIDCreateOut: --out writes the private keys to a new file only its owner can read and
// prints the public part only; it never overwrites a file.
func TestDIDCreateOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alice.json")
	doc, code := anya(t, "did", "create", "--method", "jwk", "--out", path)
	if code != exitOK || doc["privateKeys"] != nil || doc["file"] != path || doc["uri"] == nil {
		t.Fatalf("%d %v", code, doc)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", st, err)
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), `"privateKeys"`) || !strings.Contains(string(raw), doc["uri"].(string)) {
		t.Fatalf("the file holds no portable DID: %s", raw)
	}
	if doc, code := anya(t, "did", "create", "--method", "jwk", "--out", path); code != exitError || errorCode(t, doc) != "io" {
		t.Fatalf("overwrite: %d %v", code, doc)
	}
}
