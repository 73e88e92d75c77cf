package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/bridge"
)

// pay runs pay for key's identity.
func pay(t *testing.T, dir string, p party, k testKey, to, amount, id string, extra ...string) (map[string]any, int) {
	t.Helper()
	args := append([]string{"pay", "--data-dir", dir, "--portable-did", p.file, "--wif-file", k.wifFile, "--to", to, "--amount", amount, "--id", id}, extra...)
	return anya(t, args...)
}

func detail(doc map[string]any) map[string]any {
	e, _ := doc["error"].(map[string]any)
	d, _ := e["detail"].(map[string]any)
	return d
}

// TestLinkAndPayOnADataDirectory: an address linked in one command is verified in the next and
// lets a payment through in a third, each a Manager of its own on the same data directory.
func TestLinkAndPayOnADataDirectory(t *testing.T) {
	dir := t.TempDir()
	alice, aliceKey := newParty(t, "key"), newTestKey(t, "alice")
	shop := newTestKey(t, "shop")

	link, code := anya(t, "link", "challenge", "--data-dir", dir, "--portable-did", alice.file, "--wif-file", aliceKey.wifFile)
	if code != exitOK || link["did"] != alice.uri || link["address"] != aliceKey.p2wpkh.String() || !strings.HasPrefix(link["account"].(string), "did:pkh:") {
		t.Fatalf("link: %d %v", code, link)
	}
	st, err := os.Stat(filepath.Join(dir, HostDIDFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("host DID file: %v %v", st, err)
	}
	v, code := anya(t, "link", "verify", "--data-dir", dir, "--did", alice.uri, "--address", aliceKey.p2wpkh.String())
	if code != exitOK || v["verified"] != true || v["credential"] == nil {
		t.Fatalf("link verify: %d %v", code, v)
	}
	// With the credential given, and for an address it does not link: a verdict.
	v, code = anya(t, "link", "verify", "--data-dir", dir, "--did", alice.uri, "--address", shop.p2wpkh.String(), "--credential", link["credential"].(string))
	if code != exitOK || v["verified"] != false || v["reason"] != "address_mismatch" || v["refusal"].(map[string]any)["message"] == "" {
		t.Fatalf("link verify of another address: %d %v", code, v)
	}

	p, code := pay(t, dir, alice, aliceKey, shop.p2wpkh.String(), "25000", "order-1")
	if code != exitOK || p["outcome"] != "sent" || p["txid"] == "" || p["record_id"] == "" || p["threshold"] != json.Number("0.7") ||
		p["sender_verified"] != true || len(p["steps"].([]any)) != 4 {
		t.Fatalf("pay: %d %v", code, p)
	}
	// The same payment ID again: its stored outcome, not a second payment.
	again, code := pay(t, dir, alice, aliceKey, shop.p2wpkh.String(), "25000", "order-1")
	if code != exitOK || again["txid"] != p["txid"] || again["outcome"] != "sent" {
		t.Fatalf("pay again: %d %v", code, again)
	}
	// Mined and confirmed.
	p2, code := pay(t, dir, alice, aliceKey, shop.p2wpkh.String(), "30000", "order-2", "--mine", "1")
	conf, _ := p2["confirmed"].(map[string]any)
	if code != exitOK || conf == nil || conf["block"] == "" {
		t.Fatalf("pay --mine: %d %v", code, p2)
	}
	show, code := anya(t, "payment", "show", "order-1", "--data-dir", dir)
	if code != exitOK || show["txid"] != p["txid"] || show["outcome"] != "sent" {
		t.Fatalf("payment show: %d %v", code, show)
	}
	list, code := anya(t, "payment", "list", "--data-dir", dir, "--did", alice.uri)
	pays, _ := list["payments"].([]any)
	if code != exitOK || len(pays) != 2 {
		t.Fatalf("payment list: %d %v", code, list)
	}
	byID := map[string]map[string]any{}
	for _, x := range pays {
		byID[x.(map[string]any)["payment_id"].(string)] = x.(map[string]any)
	}
	if byID["order-1"]["txid"] != p["txid"] || byID["order-2"]["status"] != "confirmed" || byID["order-2"]["block_hash"] != conf["block"] {
		t.Fatalf("payment list: %v", byID)
	}

	// A payment record alice writes herself into her store is not a payment.
	if doc, code := anya(t, "dwn", "write", "--data-dir", dir, "--portable-did", alice.file, "--protocol", "https://anya.org/protocols/payments/v1",
		"--path", "payment", "--data", `{"payment_id":"forged","txid":"00","amount_sat":1,"status":"confirmed"}`); code != exitOK {
		t.Fatalf("alice writes in her store: %v", doc)
	}
	if list, _ := anya(t, "payment", "list", "--data-dir", dir, "--did", alice.uri); len(list["payments"].([]any)) != 2 {
		t.Fatalf("a record alice wrote is listed as a payment: %v", list)
	}

	// An identity whose address is linked to nothing: not sent, an error that says why.
	bob, bobKey := newParty(t, "jwk"), newTestKey(t, "bob")
	doc, code := pay(t, dir, bob, bobKey, shop.p2wpkh.String(), "25000", "order-3")
	if code != exitError || errorCode(t, doc) != "payment_unverified" || detail(doc)["outcome"] != "unverified" ||
		detail(doc)["reason"] != "no_link" || !strings.Contains(detail(doc)["refusal"].(map[string]any)["message"].(string), "no address-link credential") ||
		!strings.Contains(errorMessage(doc), "no_link: no address-link credential") || !strings.Contains(errorMessage(doc), "new --id") {
		t.Fatalf("unlinked sender: %d %v", code, doc)
	}
	// Paying the ID again prints the stored refusal; so does payment show.
	again, _ = pay(t, dir, bob, bobKey, shop.p2wpkh.String(), "25000", "order-3")
	if shown, code := anya(t, "payment", "show", "order-3", "--data-dir", dir); code != exitOK || shown["reason"] != "no_link" ||
		!reflect.DeepEqual(detail(again), shown) {
		t.Fatalf("payment show of the unverified payment: %d %v, want %v", code, shown, detail(again))
	}
	// A risky payment — half a bitcoin out of a fresh coin — is blocked at the one threshold.
	doc, code = pay(t, dir, alice, aliceKey, shop.p2wpkh.String(), "50000000", "order-4")
	if risk, _ := detail(doc)["risk"].(json.Number).Float64(); code != exitError || errorCode(t, doc) != "payment_blocked" || risk < 0.7 ||
		!strings.Contains(errorMessage(doc), "risk_above_threshold") || detail(doc)["reason"] != "risk_above_threshold" ||
		detail(doc)["refusal"].(map[string]any)["threshold"] != json.Number("0.7") {
		t.Fatalf("risky payment: %d %v", code, doc)
	}
	// Not enough money.
	doc, code = pay(t, dir, alice, aliceKey, shop.p2wpkh.String(), "5000000", "order-5", "--fund", "100000")
	if code != exitError || errorCode(t, doc) != "insufficient_funds" || !strings.Contains(errorMessage(doc), "needs 50000") {
		t.Fatalf("insufficient funds: %d %v", code, doc)
	}
	if doc, code := anya(t, "payment", "show", "order-404", "--data-dir", dir); code != exitError || errorCode(t, doc) != "not_found" {
		t.Fatalf("unknown payment: %d %v", code, doc)
	}

	// The audit log of all of it is intact.
	rep, code := anya(t, "audit", "verify", "--data-dir", dir)
	if code != exitOK || rep["intact"] != true {
		t.Fatalf("audit: %d %v", code, rep)
	}
	if n, _ := rep["entries"].(json.Number).Int64(); n < 5 {
		t.Fatalf("audit entries: %v", rep)
	}
	// Alice's records store holds her payments, and her link among the bridges' records.
	recs, code := anya(t, "dwn", "query", "--data-dir", dir, "--portable-did", alice.file, "--protocol", "https://anya.org/protocols/payments/v1")
	if code != exitOK || len(recs["records"].([]any)) != 3 { // two payments, the record she wrote
		t.Fatalf("alice's records: %d %v", code, recs)
	}
	links, code := anya(t, "dwn", "query", "--data-dir", dir, "--portable-did", alice.file, "--protocol", bridge.ProtocolURI)
	if code != exitOK || len(links["records"].([]any)) < 1 {
		t.Fatalf("alice's bridge records: %d %v", code, links)
	}
	for _, c := range []struct {
		args []string
		code string
	}{
		{[]string{"pay", "--data-dir", dir, "--portable-did", alice.file, "--wif-file", aliceKey.wifFile, "--to", "x", "--amount", "0", "--id", "z"}, "usage"},
		{[]string{"pay", "--data-dir", dir, "--portable-did", alice.file, "--wif-file", aliceKey.wifFile, "--to", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "--amount", "1000", "--id", "z"}, "invalid_argument"},
		{[]string{"pay", "--data-dir", dir, "--portable-did", alice.file, "--wif-file", aliceKey.wifFile, "--to", "x", "--amount", "1", "--id", "z", "--rpc", "127.0.0.1:1", "--mine", "1"}, "usage"},
		{[]string{"pay", "--data-dir", dir, "--portable-did", alice.file, "--wif-file", aliceKey.wifFile, "--to", "x", "--amount", "1", "--id", "z", "--network", "mainnet"}, "usage"},
		{[]string{"link", "challenge", "--data-dir", dir, "--portable-did", alice.file}, "usage"},
		{[]string{"link", "verify", "--data-dir", dir, "--did", alice.uri, "--address", "x", "--trust", "nope"}, "usage"},
	} {
		if doc, code := anya(t, c.args...); code == exitOK || errorCode(t, doc) != c.code {
			t.Errorf("%v: %d %v, want %s", c.args, code, doc, c.code)
		}
	}
}

// lineWriter is a writer whose lines another goroutine reads.
type lineWriter struct{ lines chan string }

func (w *lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.lines <- l
	}
	return len(p), nil
}

// TestLinkWithAnExternalWallet: link challenge without a key shows the challenge on standard
// error and takes the signature on standard input; link prove, the wallet's side, signs it.
func TestLinkWithAnExternalWallet(t *testing.T) {
	dir := t.TempDir()
	carol, carolKey := newParty(t, "key"), newTestKey(t, "carol")
	for _, tc := range []struct {
		name string
		sign func(challenge string) string
		code string
	}{
		{"signed by the wallet", func(ch string) string {
			doc, code := anyaIn(t, strings.NewReader(ch+"\n"), "link", "prove", "--challenge", "-", "--address", carolKey.p2wpkh.String(),
				"--did", carol.uri, "--wif-file", carolKey.wifFile)
			if code != exitOK {
				t.Errorf("link prove: %v", doc)
			}
			return doc["signature"].(string)
		}, ""},
		{"signed by another key", func(ch string) string {
			other := newTestKey(t, "not carol")
			doc, _ := anyaIn(t, strings.NewReader(ch), "link", "prove", "--challenge", "-", "--address", other.p2wpkh.String(), "--wif-file", other.wifFile)
			if doc["signature"] != nil {
				t.Errorf("link prove signed a challenge naming another address: %v", doc)
			}
			// The signature of another message by carol's key.
			sig, _ := anya(t, "message", "sign", "--address", carolKey.p2wpkh.String(), "--message", "hello", "--wif-file", carolKey.wifFile)
			return sig["signature"].(string)
		}, "invalid_proof"},
		{"no signature", func(string) string { return "" }, "invalid_proof"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdinR, stdinW := io.Pipe()
			stderr := &lineWriter{lines: make(chan string, 16)}
			var out bytes.Buffer
			done := make(chan int, 1)
			go func() {
				done <- runIO(context.Background(), []string{"link", "challenge", "--data-dir", dir, "--portable-did", carol.file,
					"--address", carolKey.p2wpkh.String()}, stdinR, &out, stderr)
			}()
			var prompt map[string]string
			select {
			case l := <-stderr.lines:
				if err := json.Unmarshal([]byte(l), &prompt); err != nil || prompt["address"] != carolKey.p2wpkh.String() {
					t.Fatalf("prompt %q: %v", l, err)
				}
			case code := <-done:
				t.Fatalf("exit %d before the prompt: %s", code, out.String())
			case <-time.After(time.Minute):
				t.Fatal("no prompt")
			}
			if _, err := fmt.Fprintln(stdinW, tc.sign(prompt["challenge"])); err != nil {
				t.Fatal(err)
			}
			_ = stdinW.Close()
			code := <-done
			doc := decode(t, nil, out.Bytes())
			if tc.code == "" {
				if code != exitOK || doc["address"] != carolKey.p2wpkh.String() || doc["credential"] == "" {
					t.Fatalf("%d %v", code, doc)
				}
				return
			}
			if code != exitError || errorCode(t, doc) != tc.code {
				t.Fatalf("%d %v, want %s", code, doc, tc.code)
			}
		})
	}
	// The link made through the wallet holds in the next command.
	v, _ := anya(t, "link", "verify", "--data-dir", dir, "--did", carol.uri, "--address", carolKey.p2wpkh.String())
	if v["verified"] != true {
		t.Fatalf("link verify: %v", v)
	}
	// The prompt on a terminal is text; the signature cannot also come from a stdin that a
	// secret takes.
	doc, code := anyaIn(t, strings.NewReader("{}"), "link", "challenge", "--data-dir", dir, "--portable-did", "-", "--address", carolKey.p2wpkh.String())
	if code == exitOK || errorCode(t, doc) != "invalid_portable_did" && errorCode(t, doc) != "usage" {
		t.Fatalf("stdin taken: %d %v", code, doc)
	}
}

// TestWorkflowRun runs the JSON workflow of examples/workflow-json (and its YAML form) on a
// Manager's operations, acting for a linked identity.
func TestWorkflowRun(t *testing.T) {
	dir := t.TempDir()
	alice, aliceKey := newParty(t, "key"), newTestKey(t, "wf alice")
	shop := newTestKey(t, "wf shop")
	if doc, code := anya(t, "link", "challenge", "--data-dir", dir, "--portable-did", alice.file, "--wif-file", aliceKey.wifFile); code != exitOK {
		t.Fatal(doc)
	}
	def := filepath.Join("..", "..", "examples", "workflow-json", "cautious_payment.json")
	input := func(id string, amount, cap int) string {
		b, _ := json.Marshal(map[string]any{"payment_id": id, "sender_did": alice.uri, "sender_address": aliceKey.p2wpkh.String(),
			"recipient_address": shop.p2wpkh.String(), "amount_sat": amount, "cap_sat": cap})
		return string(b)
	}
	run := func(id string, amount, cap int) (map[string]any, int) {
		return anya(t, "workflow", "run", def, "--data-dir", dir, "--id", id, "--input", input(id, amount, cap),
			"--portable-did", alice.file, "--wif-file", aliceKey.wifFile)
	}
	res, code := run("c-1", 20_000, 50_000)
	summary, _ := res["output"].(map[string]any)["summary"].(map[string]any)
	if code != exitOK || res["status"] != "completed" || summary["txid"] == nil || summary["verified"] != true {
		t.Fatalf("c-1: %d %v", code, res)
	}
	res, code = run("c-2", 80_000, 50_000)
	summary, _ = res["output"].(map[string]any)["summary"].(map[string]any)
	steps := map[string]string{}
	for _, s := range res["steps"].([]any) {
		steps[s.(map[string]any)["id"].(string)] = s.(map[string]any)["status"].(string)
	}
	if code != exitOK || summary["txid"] != nil || steps["send_payment"] != "skipped" {
		t.Fatalf("c-2 over the cap: %d %v", code, res)
	}
	// The same definition in YAML, from standard input.
	yaml := "name: tiny\nversion: \"1\"\ninputs:\n  did: {type: string, required: true}\n  address: {type: string, required: true}\n" +
		"steps:\n  - id: verify\n    operation: web5.verify_identity\n    input: {did: \"{{input.did}}\", address: \"{{input.address}}\"}\n" +
		"output:\n  verified: \"{{steps.verify.sender_verified}}\"\n"
	in := fmt.Sprintf(`{"did": %q, "address": %q}`, alice.uri, aliceKey.p2wpkh)
	res, code = anyaIn(t, strings.NewReader(yaml), "workflow", "run", "-", "--data-dir", dir, "--id", "y-1", "--input", in)
	if code != exitOK || res["output"].(map[string]any)["verified"] != true {
		t.Fatalf("yaml: %d %v", code, res)
	}
	for _, c := range []struct {
		stdin string
		args  []string
		code  string
	}{
		{"name: x\nsteps:\n  - id: a\n    operation: no.such_op\n", []string{"-", "--id", "z"}, "invalid_workflow"},
		{"{not json", []string{"-", "--id", "z"}, "invalid_workflow"},
		{yaml, []string{"-", "--id", "z", "--input", "[1]"}, "invalid_input"},
		{yaml, []string{"-", "--id", "z", "--input", `{"did": 1}`}, "invalid_input"},
		{yaml, []string{"-"}, "usage"},
	} {
		doc, code := anyaIn(t, strings.NewReader(c.stdin), append([]string{"workflow", "run", "--data-dir", dir}, c.args...)...)
		if code == exitOK || errorCode(t, doc) != c.code {
			t.Errorf("%q %v: %d %v, want %s", c.stdin, c.args, code, doc, c.code)
		}
	}
}
