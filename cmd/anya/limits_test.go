package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// endless is standard input that never ends (a 50 MB pipe or /dev/zero); it counts what was read.
type endless struct {
	b    byte
	read int64
}

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.b
	}
	e.read += int64(len(p))
	return len(p), nil
}

// failing is standard input that breaks.
type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("broken pipe") }

func writeFile(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "input")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestInputLimits gives every input one byte more than its limit, as an argument, as @FILE and
// on standard input (which never ends): each is refused with an error naming the input and its
// limit, and standard input is read no further than one byte past the limit.
func TestInputLimits(t *testing.T) {
	issuer, _ := anya(t, "did", "create", "--method", "key")
	portable := writePortable(t, issuer)
	subject := issuer["uri"].(string)
	dir := t.TempDir()
	workflowFile := writeFile(t, []byte("name: w\nsteps:\n  - id: a\n    operation: web5.verify_identity\n"))
	wifFile := newTestKey(t, "limits").wifFile
	cases := []struct {
		in   input
		args func(value string) []string // the command with the input set to value
	}{
		{inTx, func(v string) []string { return []string{"tx", "features", v} }},
		{inTx, func(v string) []string { return []string{"score", "tx", v, "--backend", "go"} }},
		{inFeatures, func(v string) []string { return []string{"score", "features", "--backend", "go", v} }},
		{inCredential, func(v string) []string { return []string{"vc", "verify", v} }},
		{inClaims, func(v string) []string {
			return []string{"vc", "issue", "--portable-did", portable, "--subject", subject, "--type", "T", "--claims", v}
		}},
		{inPortableDID, func(v string) []string {
			return []string{"vc", "issue", "--portable-did", v, "--subject", subject, "--type", "T"}
		}},
		{inSignature, func(v string) []string {
			return []string{"message", "verify", "--address", "15CRxFdyRpGZLW9w8HnHvVduizdL5jKNbs", "--message", "m", "--signature", v}
		}},
		{inMessage, func(v string) []string {
			return []string{"message", "verify", "--address", "15CRxFdyRpGZLW9w8HnHvVduizdL5jKNbs", "--message", v, "--signature", "x"}
		}},
		{inMessage, func(v string) []string {
			return []string{"message", "sign", "--wif", "L3VFeEujGtevx9w18HD1fhRbCH67Az2dpCymeRE1SoPK6XQtaN2k",
				"--address", "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l", "--message", v}
		}},
		{inDID, func(v string) []string { return []string{"did", "resolve", v} }},
		{inDID, func(v string) []string {
			return []string{"vc", "issue", "--portable-did", portable, "--subject", v, "--type", "T"}
		}},
		{inPSBT, func(v string) []string { return []string{"psbt", "decode", v} }},
		{inPSBT, func(v string) []string { return []string{"psbt", "combine", v, "x"} }},
		{inPresentation, func(v string) []string { return []string{"vp", "verify", v} }},
		{inDefinition, func(v string) []string { return []string{"pex", "evaluate", "--definition", v, "--credential", "x"} }},
		{inWorkflow, func(v string) []string { return []string{"workflow", "run", v, "--data-dir", dir, "--id", "r"} }},
		{inWorkflowInput, func(v string) []string {
			return []string{"workflow", "run", workflowFile, "--data-dir", dir, "--id", "r", "--input", v}
		}},
		{inStatusList, func(v string) []string { return []string{"status-list", "check", "x", "--list", v} }},
		{inData, func(v string) []string {
			return []string{"dwn", "write", "--data-dir", dir, "--portable-did", portable, "--data", v}
		}},
		{inSignedHead, func(v string) []string {
			return []string{"audit", "verify", "--data-dir", dir, "--signed-head", v, "--signer", subject}
		}},
		{inChallenge, func(v string) []string {
			return []string{"link", "prove", "--challenge", v, "--address", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "--wif-file", wifFile}
		}},
		{inWIF, func(v string) []string {
			return append([]string{"message", "sign", "--address", "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l", "--message", "m"}, secretArgs("wif", v)...)
		}},
		{inPassword, func(v string) []string {
			return append([]string{"link", "verify", "--data-dir", dir, "--did", subject, "--address", "x", "--rpc", "127.0.0.1:1", "--rpc-user", "u"},
				secretArgs("rpc-pass", v)...)
		}},
		{inScript, func(v string) []string { return []string{"address", "encode", "--script", v} }},
	}
	tooBig := func(t *testing.T, doc map[string]any, code int, s inputSpec) {
		t.Helper()
		if code != exitError || errorCode(t, doc) != "input_too_large" {
			t.Fatalf("exit %d %v", code, doc)
		}
		msg := doc["error"].(map[string]any)["message"].(string)
		if !strings.Contains(msg, s.Name) || !strings.Contains(msg, fmt.Sprint(s.MaxBytes)) {
			t.Fatalf("the message %q does not name %s and its limit %d", msg, s.Name, s.MaxBytes)
		}
	}
	for _, c := range cases {
		s := c.in.spec()
		over := strings.Repeat("a", s.MaxBytes+1)
		name := strings.Join(c.args("")[:2], " ") + "/" + s.Name
		if s.files || c.in == inPortableDID {
			t.Run(name+"/stdin", func(t *testing.T) {
				stdin := &endless{b: ' '}
				doc, code := anyaIn(t, stdin, c.args("-")...)
				tooBig(t, doc, code, s)
				if stdin.read > int64(s.MaxBytes)+1<<16 {
					t.Fatalf("read %d bytes of standard input for a limit of %d", stdin.read, s.MaxBytes)
				}
			})
			t.Run(name+"/file", func(t *testing.T) {
				doc, code := anya(t, c.args("@"+writeFile(t, []byte(over)))...)
				tooBig(t, doc, code, s)
			})
		}
		if c.in != inPortableDID && c.in != inWorkflow {
			t.Run(name+"/argument", func(t *testing.T) {
				doc, code := anya(t, c.args(over)...)
				tooBig(t, doc, code, s)
			})
		}
		// At the limit, the input is read and judged on its content.
		t.Run(name+"/at the limit", func(t *testing.T) {
			at := strings.Repeat(" ", s.MaxBytes-1) + "x"
			arg := at
			if s.files {
				arg = "@" + writeFile(t, []byte(at))
			}
			doc, _ := anya(t, c.args(arg)...)
			if e, ok := doc["error"].(map[string]any); ok && e["code"] == "input_too_large" {
				t.Fatalf("refused at the limit: %v", doc)
			}
		})
	}
}

// secretArgs gives a secret's flags for a value as the limit test writes it: - (standard
// input), @FILE (--NAME-file) or the value itself.
func secretArgs(name, v string) []string {
	switch {
	case v == "-":
		return []string{"--" + name, "-"}
	case strings.HasPrefix(v, "@"):
		return []string{"--" + name + "-file", v[1:]}
	}
	return []string{"--" + name, v}
}

// bigTx is a valid transaction of more than 64 KB: one input, n outputs.
func bigTx(n int) *wire.MsgTx {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{1}, 0), nil, [][]byte{bytes.Repeat([]byte{1}, 72), bytes.Repeat([]byte{2}, 33)}))
	for i := range n {
		script := append([]byte{0x00, 0x14}, bytes.Repeat([]byte{byte(i)}, 20)...)
		tx.AddTxOut(wire.NewTxOut(int64(1000+i), script))
	}
	return tx
}

// TestLargeTransactionFromFileAndStdin: a transaction too large for a command-line argument is
// read from a file or standard input, and gives the same result as the argument form.
func TestLargeTransactionFromFileAndStdin(t *testing.T) {
	tx := bigTx(6000)
	var raw bytes.Buffer
	if err := tx.Serialize(&raw); err != nil {
		t.Fatal(err)
	}
	if raw.Len() < 128<<10 {
		t.Fatalf("the transaction is only %d bytes", raw.Len())
	}
	text := hex.EncodeToString(raw.Bytes()) + "\n"
	path := writeFile(t, []byte(text))
	want, code := anya(t, "tx", "features", strings.TrimSpace(text))
	if code != exitOK || want["txid"] != tx.TxHash().String() {
		t.Fatalf("argument: %d %v", code, want)
	}
	for name, run := range map[string]func() (map[string]any, int){
		"file":  func() (map[string]any, int) { return anya(t, "tx", "features", "@"+path) },
		"stdin": func() (map[string]any, int) { return anyaIn(t, strings.NewReader(text), "tx", "features", "-") },
	} {
		got, code := run()
		if code != exitOK || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %d %v", name, code, got)
		}
	}
	doc, code := anya(t, "score", "tx", "--backend", "go", "@"+path)
	if code != exitOK || doc["model"] != "fraud@1" {
		t.Fatalf("score tx @FILE: %d %v", code, doc)
	}
}

func TestFeaturesAndCredentialFromStdin(t *testing.T) {
	doc, code := anyaIn(t, strings.NewReader(riskyFeatures), "score", "features", "--backend", "go", "-")
	if code != exitOK || doc["model"] != "fraud@1" {
		t.Fatalf("score features -: %d %v", code, doc)
	}
	issuer, _ := anya(t, "did", "create", "--method", "key")
	out, _ := anya(t, "vc", "issue", "--portable-did", writePortable(t, issuer), "--subject", issuer["uri"].(string), "--type", "T")
	token := out["vcJwt"].(string)
	for name, res := range map[string]map[string]any{
		"stdin": first(anyaIn(t, strings.NewReader(token+"\n"), "vc", "verify", "-")),
		"file":  first(anya(t, "vc", "verify", "@"+writeFile(t, []byte(token)))),
	} {
		if res["verified"] != true {
			t.Errorf("%s: %v", name, res)
		}
	}
	// The portable DID and the claims can come from standard input (one of them).
	raw, _ := os.ReadFile(writePortable(t, issuer))
	out, code = anyaIn(t, bytes.NewReader(raw), "vc", "issue", "--portable-did", "-", "--subject", issuer["uri"].(string), "--type", "T", "--claims", `{"a":1}`)
	if code != exitOK || out["vcJwt"] == nil {
		t.Fatalf("--portable-did -: %d %v", code, out)
	}
}

func first[A, B any](a A, _ B) A { return a }

// TestEveryErrorIsJSON runs failing commands: each prints one JSON error document with a code and
// a non-empty message, and exits non-zero.
func TestEveryErrorIsJSON(t *testing.T) {
	portable := writePortable(t, map[string]any{"uri": "x"})
	for _, c := range []struct {
		stdin io.Reader
		args  []string
		code  string
	}{
		{nil, []string{"tx", "features"}, "usage"},
		{nil, []string{"tx", "features", "zz"}, "invalid_hex"},
		{nil, []string{"tx", "features", "00"}, "invalid_transaction"},
		{nil, []string{"tx", "features", "@/nonexistent/tx.hex"}, "not_found"},
		{failing{}, []string{"tx", "features", "-"}, "io"},
		{strings.NewReader(""), []string{"score", "features", "-"}, "invalid_features"},
		{nil, []string{"score", "features", "{", "--backend", "go"}, "invalid_features"},
		{nil, []string{"score", "tx", "00", "--backend", "go"}, "invalid_transaction"},
		{nil, []string{"vc", "issue", "--portable-did", "-", "--subject", "did:example:x", "--type", "T", "--claims", "-"}, "usage"},
		{nil, []string{"vc", "issue", "--portable-did", portable, "--subject", "did:example:x", "--type", "T"}, "invalid_portable_did"},
		{nil, []string{"message", "verify", "--address", "nope", "--message", "m", "--signature", "s"}, "invalid_address"},
		{nil, []string{"model", "card", "nope"}, "not_found"},
		{nil, []string{"did", "create", "--method", "web"}, "usage"},
		{nil, []string{"help", "me"}, "usage"},
	} {
		doc, code := anyaIn(t, c.stdin, c.args...)
		if code == exitOK || errorCode(t, doc) != c.code {
			t.Errorf("%v: exit %d %v, want code %s", c.args, code, doc, c.code)
		}
		if c.code == "usage" && !strings.Contains(fmt.Sprint(doc), "usage: anya") && len(c.args) > 1 && c.args[0] != "help" {
			t.Errorf("%v: a usage error without the usage line: %v", c.args, doc)
		}
	}
	// Even an error without text gets a message.
	var out bytes.Buffer
	writeError(&out, errors.New(""))
	if !strings.Contains(out.String(), `"message":"anya: internal error"`) {
		t.Fatalf("empty message: %s", out.String())
	}
}

// TestHelp: anya help lists every command with its usage and every input with its limit, and the
// package documentation shows the same usage lines and limits.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"help", "--help", "-h"} {
		doc, code := anya(t, arg)
		if code != exitOK || len(doc["commands"].([]any)) != len(commands()) || len(doc["inputs"].([]any)) != int(numInputs) {
			t.Fatalf("%s: %d %v", arg, code, doc)
		}
	}
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !bytes.Contains(src, []byte("//\t"+c.usage()+"\n")) {
			t.Errorf("doc.go does not show the usage line %q", c.usage())
		}
		for _, in := range c.inputs {
			if s := in.spec(); !strings.Contains(c.args, s.Name) && (s.Flag == "" || !strings.Contains(c.args, s.Flag)) {
				t.Errorf("%s reads %s but its usage does not name it", c.usage(), in.spec().Name)
			}
		}
	}
	for in := range numInputs {
		s := in.spec()
		line := fmt.Sprintf("//\t%-13s %s", s.Name, humanBytes(s.MaxBytes))
		if !bytes.Contains(src, []byte(line)) {
			t.Errorf("doc.go does not show the limit of %s: want a line %q", s.Name, line)
		}
	}
}
