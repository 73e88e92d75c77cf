package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzCommands are the commands FuzzCLI drives: the ones that read only their arguments and
// standard input — no network, no data directory, no files.
var fuzzCommands = [][]string{
	{"address", "decode"}, {"address", "encode"}, {"multisig", "create"}, {"psbt", "decode"}, {"psbt", "combine"},
	{"psbt", "finalize"}, {"psbt", "sign"}, {"psbt", "create"}, {"tx", "features"}, {"message", "verify"},
	{"message", "sign"}, {"link", "prove"}, {"help"}, {"psbt"},
}

// FuzzCLI runs the CLI on arbitrary arguments and standard input. Whatever it is given, it
// prints exactly one JSON document; it exits 0 exactly when that document is not an error; an
// error has a code of the stable shape and a message; nothing panics.
func FuzzCLI(f *testing.F) {
	for _, s := range []struct {
		cmd   byte
		args  string
		stdin string
	}{
		{0, p2wpkhOfG, ""},
		{0, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx\n--network\nsignet", ""},
		{1, "--pubkey\n" + keyG + "\n--type\np2tr", ""},
		{1, "--script\n0014751e76e8199196d454941c45d1b3a323f1433bd6", ""},
		{2, "--threshold\n2\n--pubkey\n" + bip67Key1 + "\n--pubkey\n" + bip67Key2, ""},
		{3, "-", "cHNidP8BAAoCAAAAAAAAAAAAAAA="},
		{3, "cHNidP8BAAA=", ""},
		{4, "cHNidP8BAAA=\n-", "cHNidP8"},
		{6, "-\n--wif\n-", "L3VFeEujGtevx9w18HD1fhRbCH67Az2dpCymeRE1SoPK6XQtaN2k"},
		{8, "0200000001", ""},
		{9, "--address\n15CRxFdyRpGZLW9w8HnHvVduizdL5jKNbs\n--message\nTrust no one\n--signature\n-", "IPojfrX2dfPnH26UegfbGQQLrdK844DlHq5157/P6h57WyuS/Qsl+h/WSVGDF4MUi4rWSswW38oimDYfNNUBUOk="},
		{11, "--challenge\n-\n--address\nbcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080\n--wif\n-", "anya two-way address link\nDID: did:key:x\n"},
		{12, "psbt\nsign", ""},
		{13, "--help", ""},
	} {
		f.Add(s.cmd, s.args, []byte(s.stdin))
	}
	// BIP-174's PSBTs, valid and invalid, on standard input.
	if raw, err := os.ReadFile(filepath.Join("..", "..", "bitcoin", "testdata", "bip-0174_test-vectors.extracted.json")); err == nil {
		var v bip174
		if json.Unmarshal(raw, &v) == nil {
			for _, c := range append(v.Valid, v.Invalid...) {
				f.Add(byte(3), "-", []byte(c.Base64))
			}
		}
	}
	f.Fuzz(func(t *testing.T, cmd byte, argText string, stdin []byte) {
		args := append([]string(nil), fuzzCommands[int(cmd)%len(fuzzCommands)]...)
		for _, a := range strings.Split(argText, "\n") {
			// Nothing that reaches the file system or the environment.
			if strings.HasPrefix(a, "@") || strings.Contains(a, "-file") || strings.Contains(a, "-env") || strings.Contains(a, "out") {
				return
			}
			args = append(args, a)
		}
		var out, stderr bytes.Buffer
		code := runIO(context.Background(), args, bytes.NewReader(stdin), &out, &stderr)
		dec := json.NewDecoder(bytes.NewReader(out.Bytes()))
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil || dec.More() {
			t.Fatalf("%q: output %q is not one JSON document: %v", args, out.String(), err)
		}
		e, isErr := doc["error"].(map[string]any)
		if isErr == (code == exitOK) {
			t.Fatalf("%q: exit %d with %v", args, code, doc)
		}
		if isErr {
			c, _ := e["code"].(string)
			m, _ := e["message"].(string)
			if !codeShape.MatchString(c) || strings.TrimSpace(m) == "" || strings.HasPrefix(m, "anya: internal error:") {
				t.Fatalf("%q: error %v", args, e)
			}
		}
	})
}
