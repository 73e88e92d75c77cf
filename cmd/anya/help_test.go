package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestEveryCommandAnswersHelp: anya COMMAND --help (and -h, and anya help COMMAND) prints the
// command's usage, flags with defaults, input limits and examples, and exits 0 — also when
// required flags are missing.
func TestEveryCommandAnswersHelp(t *testing.T) {
	for _, c := range commands() {
		var docs []map[string]any
		for _, args := range [][]string{
			append(append([]string(nil), c.path...), "--help"),
			append(append([]string(nil), c.path...), "-h"),
			append([]string{"help"}, c.path...),
		} {
			doc, code := anya(t, args...)
			if code != exitOK {
				t.Errorf("%v: exit %d %v", args, code, doc)
				continue
			}
			docs = append(docs, doc)
		}
		if len(docs) != 3 {
			continue
		}
		for _, d := range docs[1:] {
			if fmt.Sprint(d) != fmt.Sprint(docs[0]) {
				t.Errorf("%s: the help forms differ", c.name())
			}
		}
		d := docs[0]
		if d["command"] != c.name() || d["usage"] != c.usage() || d["summary"] != c.summary {
			t.Errorf("%s: %v", c.name(), d)
		}
		if ex, _ := d["examples"].([]any); len(ex) == 0 {
			t.Errorf("%s: no examples", c.name())
		}
		if in, _ := d["inputs"].([]any); len(in) != len(c.inputs) {
			t.Errorf("%s: inputs %v", c.name(), d["inputs"])
		}
		flags, _ := d["flags"].([]any)
		for _, f := range flags {
			f := f.(map[string]any)
			name, _ := f["flag"].(string)
			if !strings.HasPrefix(name, "-") || f["usage"] == "" {
				t.Errorf("%s: flag %v", c.name(), f)
			}
			// A usage line names each flag's value as the flag's help does.
			if flag := strings.Fields(name)[0]; strings.Contains(name, " ") && strings.Contains(c.args, flag+" ") && !strings.Contains(c.args, flag+" -") {
				if !strings.Contains(c.args, name) {
					t.Errorf("%s: the usage line names %s otherwise", c.name(), name)
				}
			}
		}
	}
	// Defaults are shown.
	doc, _ := anya(t, "score", "tx", "--help")
	if !strings.Contains(fmt.Sprint(doc["flags"]), "default:5") {
		t.Errorf("score tx --factors shows no default: %v", doc["flags"])
	}
}

// TestGroupHelp: a group of commands lists them.
func TestGroupHelp(t *testing.T) {
	for _, args := range [][]string{{"psbt", "--help"}, {"help", "psbt"}, {"psbt", "-h"}} {
		doc, code := anya(t, args...)
		cmds, _ := doc["commands"].([]any)
		if code != exitOK || doc["group"] != "psbt" || len(cmds) != 5 {
			t.Errorf("%v: %d %v", args, code, doc)
		}
	}
	for _, args := range [][]string{{"psbt"}, {"psbt", "nope"}, {"help", "nope"}, {"help", "psbt", "nope"}} {
		doc, code := anya(t, args...)
		if code != exitUsage || errorCode(t, doc) != "usage" {
			t.Errorf("%v: %d %v", args, code, doc)
		}
	}
}

// TestExamplesParse runs every example's arguments through its command's flag set: the
// examples use only flags the command has.
func TestExamplesParse(t *testing.T) {
	ex := examples()
	for _, c := range commands() {
		if len(ex[c.name()]) == 0 {
			t.Errorf("%s has no examples", c.name())
		}
		for _, e := range ex[c.name()] {
			if !strings.Contains(e, "anya "+c.name()) {
				t.Errorf("%s: example %q is not of this command", c.name(), e)
				continue
			}
			var hr *helpRequest
			if err := c.run(context.Background(), &env{}, []string{"--help"}); !errors.As(err, &hr) {
				t.Fatalf("%s: %v", c.name(), err)
			}
			if _, err := parse(hr.fs, exampleArgs(e, &c)); err != nil {
				t.Errorf("%s: example %q: %v", c.name(), e, err)
			}
		}
	}
	for name := range ex {
		if cmd, rest := lookup(strings.Fields(name)); cmd == nil || len(rest) != 0 {
			t.Errorf("examples of %q, which is no command", name)
		}
	}
}

var codeShape = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// TestEveryCommandRefusesBadInput gives every command in the table an unknown flag and a bad
// input: each prints one JSON error document with a stable code and a message, and exits
// non-zero. A new command needs a row here.
func TestEveryCommandRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := map[string]struct {
		args []string
		code string
	}{
		"setup":              {[]string{"extra"}, "usage"},
		"message sign":       {[]string{"--address", "bc1qnotanaddress", "--message", "m", "--wif", "-"}, "invalid_address"},
		"message verify":     {[]string{"--address", "15CRxFdyRpGZLW9w8HnHvVduizdL5jKNbs", "--message", "m", "--signature", "!!"}, "malformed_signature"},
		"tx features":        {[]string{"zz"}, "invalid_hex"},
		"model train":        {[]string{"--model", "nope", "--out", dir}, "not_found"},
		"model card":         {[]string{"nope"}, "not_found"},
		"score tx":           {[]string{"00", "--backend", "go"}, "invalid_transaction"},
		"score features":     {[]string{"[1]", "--backend", "go"}, "invalid_features"},
		"score block":        {[]string{"00", "--backend", "go"}, "invalid_block"},
		"did create":         {[]string{"--method", "web"}, "usage"},
		"did resolve":        {[]string{"did:example:1"}, "method_not_supported"},
		"vc issue":           {[]string{"--portable-did", "/nonexistent", "--subject", "did:example:1", "--type", "T"}, "invalid_portable_did"},
		"vc verify":          {[]string{"-", "extra"}, "usage"},
		"vp create":          {[]string{"--portable-did", "/nonexistent", "--credential", "x"}, "invalid_portable_did"},
		"vp verify":          {[]string{"x", "--definition", "{}"}, "invalid_definition"},
		"pex evaluate":       {[]string{"--definition", "[]", "--credential", "x"}, "invalid_definition"},
		"status-list create": {[]string{"--portable-did", "/nonexistent", "--url", "https://x.example/1"}, "invalid_portable_did"},
		"status-list check":  {[]string{"x", "--list", "not-a-jwt"}, "invalid_status_list"},
		"link challenge":     {[]string{"--data-dir", dir, "--portable-did", "/nonexistent"}, "invalid_portable_did"},
		"link prove":         {[]string{"--challenge", "hello", "--address", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "--wif", "-"}, "invalid_key"},
		"link verify":        {[]string{"--data-dir", dir, "--did", "nope", "--address", "x", "--rpc", "127.0.0.1:1", "--rpc-user", "u"}, "usage"},
		"pay":                {[]string{"--data-dir", dir, "--portable-did", "/nonexistent", "--wif", "-", "--to", "x", "--amount", "1", "--id", "p"}, "invalid_portable_did"},
		"payment show":       {[]string{"p-1", "--data-dir", t.TempDir()}, "not_found"},
		"payment list":       {[]string{"--data-dir", dir, "--did", "not-a-did"}, "invalid_did"},
		"workflow run":       {[]string{"-", "--data-dir", dir, "--id", "r"}, "invalid_workflow"},
		"dwn write":          {[]string{"--data-dir", dir, "--portable-did", "/nonexistent", "--data", "x"}, "invalid_portable_did"},
		"dwn query":          {[]string{"--data-dir", t.TempDir(), "--portable-did", "/nonexistent"}, "not_found"},
		"dwn read":           {[]string{"x", "--data-dir", t.TempDir(), "--portable-did", "/nonexistent"}, "not_found"},
		"psbt create":        {[]string{"--coin", "x", "--to", "y", "--change", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}, "usage"},
		"psbt sign":          {[]string{"cHNidP8BAAA=", "--wif", "-"}, "invalid_psbt"},
		"psbt combine":       {[]string{"cHNidP8BAAA=", "00"}, "invalid_psbt"},
		"psbt finalize":      {[]string{"zz"}, "invalid_psbt"},
		"psbt decode":        {[]string{"0200000001"}, "invalid_psbt"},
		"multisig create":    {[]string{"--threshold", "3", "--pubkey", "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"}, "invalid_multisig"},
		"address decode":     {[]string{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"}, "invalid_address"},
		"address encode":     {[]string{"--pubkey", "02ff"}, "invalid_key"},
		"audit verify":       {[]string{"--data-dir", t.TempDir()}, "not_found"},
		"audit tail":         {[]string{"--data-dir", dir, "-n", "0"}, "usage"},
		"console":            {[]string{"--data-dir", dir, "--listen", "0.0.0.0:8080"}, "usage"},
		"node":               {[]string{"--mining-address", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}, "wrong_network"},
		"nats":               {[]string{"--listen", "0.0.0.0:4222"}, "usage"},
	}
	for _, c := range commands() {
		b, ok := bad[c.name()]
		if !ok {
			t.Errorf("%s: no bad input in this test", c.name())
			continue
		}
		for _, args := range [][]string{
			append(append([]string(nil), c.path...), "--no-such-flag"),
			append(append([]string(nil), c.path...), b.args...),
		} {
			doc, code, stderr := anyaFull(t, strings.NewReader("not a key\n"), args...)
			e, ok := doc["error"].(map[string]any)
			if !ok || code == exitOK {
				t.Errorf("%v: exit %d %v", args, code, doc)
				continue
			}
			gotCode, _ := e["code"].(string)
			msg, _ := e["message"].(string)
			if !codeShape.MatchString(gotCode) || strings.TrimSpace(msg) == "" {
				t.Errorf("%v: code %q message %q", args, gotCode, msg)
			}
			if strings.Contains(msg, "not a key") || strings.Contains(stderr, "not a key") {
				t.Errorf("%v: the secret read from stdin is repeated: %q %q", args, msg, stderr)
			}
			want := b.code
			if args[len(args)-1] == "--no-such-flag" {
				want = "usage"
			}
			if gotCode != want {
				t.Errorf("%v: code %q (%s), want %q", args, gotCode, msg, want)
			}
			if (gotCode == "usage") != (code == exitUsage) {
				t.Errorf("%v: code %q exit %d", args, gotCode, code)
			}
		}
	}
}
