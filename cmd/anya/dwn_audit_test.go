package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	sdk "github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/jose"
)

func TestDWN(t *testing.T) {
	dir := t.TempDir()
	alice, bob := newParty(t, "key"), newParty(t, "jwk")
	as := func(p party) []string { return []string{"--data-dir", dir, "--portable-did", p.file} }
	w, code := anya(t, append([]string{"dwn", "write", "--data", `{"note":"hello"}`}, as(alice)...)...)
	rec, _ := w["record"].(map[string]any)
	if code != exitOK || w["tenant"] != alice.uri || rec["author"] != alice.uri || rec["dataFormat"] != "application/json" {
		t.Fatalf("write: %d %v", code, w)
	}
	id := rec["recordId"].(string)
	if _, err := os.Stat(filepath.Join(dir, sdk.DWNFile)); err != nil {
		t.Fatalf("the records store is not the Manager's file: %v", err)
	}
	q, code := anya(t, append([]string{"dwn", "query", "--data-format", "application/json"}, as(alice)...)...)
	recs, _ := q["records"].([]any)
	if code != exitOK || len(recs) != 1 || recs[0].(map[string]any)["data"] != `{"note":"hello"}` {
		t.Fatalf("query: %d %v", code, q)
	}
	// Binary data from a file, published, so that anyone may read it.
	bin := []byte{0xff, 0x00, 0xfe}
	w2, code := anya(t, append([]string{"dwn", "write", "--data", "@" + writeFile(t, bin), "--data-format", "application/octet-stream", "--published"}, as(alice)...)...)
	if code != exitOK {
		t.Fatal(w2)
	}
	pub := w2["record"].(map[string]any)["recordId"].(string)
	r, code := anya(t, append([]string{"dwn", "read", pub, "--tenant", alice.uri}, as(bob)...)...)
	if code != exitOK || r["record"].(map[string]any)["dataBase64"] != base64.StdEncoding.EncodeToString(bin) {
		t.Fatalf("bob reads the published record: %d %v", code, r)
	}
	// Update.
	u, code := anya(t, append([]string{"dwn", "write", "--update", id, "--data", `{"note":"bye"}`}, as(alice)...)...)
	if code != exitOK || u["record"].(map[string]any)["recordId"] != id {
		t.Fatalf("update: %d %v", code, u)
	}
	r, _ = anya(t, append([]string{"dwn", "read", id}, as(alice)...)...)
	if r["record"].(map[string]any)["data"] != `{"note":"bye"}` {
		t.Fatalf("read after update: %v", r)
	}
	// Attacks: bob writes into alice's store, reads her unpublished record, updates it.
	for name, c := range map[string]struct {
		args []string
		code string
	}{
		"write":                   {append([]string{"dwn", "write", "--data", "x", "--tenant", alice.uri}, as(bob)...), "forbidden"},
		"read":                    {append([]string{"dwn", "read", id, "--tenant", alice.uri}, as(bob)...), "forbidden"},
		"update":                  {append([]string{"dwn", "write", "--update", id, "--data", "x", "--tenant", alice.uri}, as(bob)...), "forbidden"},
		"grant":                   {append([]string{"dwn", "read", id, "--tenant", alice.uri, "--grant", "not-a-record-id"}, as(bob)...), "invalid_message"},
		"grant of another record": {append([]string{"dwn", "read", id, "--tenant", alice.uri, "--grant", pub}, as(bob)...), "forbidden"},
	} {
		doc, code := anya(t, c.args...)
		if code != exitError || errorCode(t, doc) != c.code {
			t.Errorf("%s: %d %v, want %s", name, code, doc, c.code)
		}
	}
	q, _ = anya(t, append([]string{"dwn", "query", "--tenant", alice.uri}, as(bob)...)...)
	if recs := q["records"].([]any); len(recs) != 1 || recs[0].(map[string]any)["recordId"] != pub {
		t.Fatalf("bob's query sees more than the published record: %v", q)
	}
	for _, c := range []struct {
		args []string
		code string
	}{
		{append([]string{"dwn", "read", "nope"}, as(alice)...), "invalid_message"},
		{append([]string{"dwn", "read", pub}, as(bob)...), "not_found"}, // alice's record, in bob's store
		{append([]string{"dwn", "write", "--data", "x", "--protocol", "https://p.example"}, as(alice)...), "usage"},
		{append([]string{"dwn", "write", "--data", "x", "--protocol", "https://p.example", "--path", "a"}, as(alice)...), "invalid_message"}, // not installed
		{append([]string{"dwn", "query", "--limit", "0"}, as(alice)...), "usage"},
		{append([]string{"dwn", "query", "--tenant", "not-a-did"}, as(alice)...), "usage"},
		{[]string{"dwn", "query", "--portable-did", alice.file}, "usage"},
	} {
		if doc, code := anya(t, c.args...); code == exitOK || errorCode(t, doc) != c.code {
			t.Errorf("%v: %d %v, want %s", c.args[:3], code, doc, c.code)
		}
	}
}

// auditFixture is an audit log in a data directory with three entries and a checkpoint signed
// by the host's did:key.
type auditFixture struct {
	dir, host, signedHead string
	hostFile              string
}

func newAuditFixture(t *testing.T) auditFixture {
	t.Helper()
	ctx := context.Background()
	host, err := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := host.Signer(ctx, did.ForRelationship(did.AssertionMethod))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l, err := security.OpenAuditLog(ctx, filepath.Join(dir, sdk.AuditFile), security.WithCheckpointSigner(signer))
	if err != nil {
		t.Fatal(err)
	}
	for i, action := range []string{"link_address", "assess_risk", "send_payment"} {
		if _, err := l.Append(ctx, security.Entry{Kind: security.KindCrossing, From: "web5", To: "bitcoin", Action: action,
			Principal: host.String(), Decision: "allow", Reason: strings.Repeat("r", i)}); err != nil {
			t.Fatal(err)
		}
	}
	sh, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	p, _ := host.Export(ctx)
	return auditFixture{dir: dir, host: host.String(), signedHead: sh.String(), hostFile: writePortableDID(t, p)}
}

func writePortableDID(t *testing.T, p *did.PortableDID) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "did.json")
	if err := writeSecretFile(path, p); err != nil {
		t.Fatal(err)
	}
	return path
}

func (f auditFixture) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(f.dir, sdk.AuditFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

func TestAuditVerifyAndTail(t *testing.T) {
	f := newAuditFixture(t)
	rep, code := anya(t, "audit", "verify", "--data-dir", f.dir, "--signed-head", f.signedHead, "--signer", f.host)
	if code != exitOK || rep["intact"] != true || rep["entries"] != jsonNum(3) || rep["checkpoint"] != rep["head"] ||
		rep["signed_head"].(map[string]any)["alg"] != "EdDSA" {
		t.Fatalf("verify: %d %v", code, rep)
	}
	tail, code := anya(t, "audit", "tail", "--data-dir", f.dir, "-n", "2")
	entries, _ := tail["entries"].([]any)
	if code != exitOK || len(entries) != 2 || entries[0].(map[string]any)["seq"] != jsonNum(2) || entries[1].(map[string]any)["action"] != "send_payment" ||
		tail["head"] != rep["head"] {
		t.Fatalf("tail: %d %v", code, tail)
	}
	// The head as a plain checkpoint.
	if rep2, _ := anya(t, "audit", "verify", "--data-dir", f.dir, "--head", rep["head"].(string)); rep2["intact"] != true || rep2["checkpoint"] != rep["head"] {
		t.Fatalf("--head: %v", rep2)
	}
	// Attacks on the checkpoint: signed by someone else, with the signer's name on someone
	// else's key, malformed, alg none.
	mallory := newAuditFixture(t)
	for name, c := range map[string]struct {
		head, signer, code string
	}{
		"another signer":   {mallory.signedHead, f.host, "invalid_signature"},
		"claimed signer":   {f.signedHead, mallory.host, "invalid_signature"},
		"malformed":        {"a.b.c", f.host, "invalid_signed_head"},
		"alg none":         {noneHead(f.signedHead), f.host, "invalid_signed_head"},
		"bad signature":    {f.signedHead[:len(f.signedHead)-4] + "AAAA", f.host, "invalid_signature"},
		"not a DID signer": {f.signedHead, "host", "usage"},
	} {
		doc, code := anya(t, "audit", "verify", "--data-dir", f.dir, "--signed-head", c.head, "--signer", c.signer)
		if code == exitOK || errorCode(t, doc) != c.code {
			t.Errorf("%s: %d %v, want %s", name, code, doc, c.code)
		}
	}
	// Tampering: a modified entry is found; a verdict, not an error.
	f.exec(t, `UPDATE security_audit SET reason = 'nothing to see' WHERE seq = 2`)
	rep, code = anya(t, "audit", "verify", "--data-dir", f.dir)
	problems, _ := rep["problems"].([]any)
	if code != exitOK || rep["intact"] != false || len(problems) == 0 || problems[0].(map[string]any)["seq"] != jsonNum(2) {
		t.Fatalf("modified entry: %d %v", code, rep)
	}
	// Rewriting the newest entry and the head consistently passes the chain alone, not the
	// signed checkpoint.
	g := newAuditFixture(t)
	g.exec(t, `DELETE FROM security_audit WHERE seq = 3`)
	g.exec(t, `UPDATE security_audit_head SET seq = 2, hash = (SELECT hash FROM security_audit WHERE seq = 2)`)
	if rep, _ := anya(t, "audit", "verify", "--data-dir", g.dir); rep["intact"] != true {
		t.Fatalf("the truncation should pass the chain alone: %v", rep)
	}
	if rep, _ := anya(t, "audit", "verify", "--data-dir", g.dir, "--signed-head", g.signedHead, "--signer", g.host); rep["intact"] != false {
		t.Fatalf("truncation behind a signed checkpoint: %v", rep)
	}
}

// noneHead re-writes a signed head's header as {"alg":"none"}.
func noneHead(token string) string {
	parts := strings.SplitN(token, ".", 3)
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"x","typ":"`+security.TypeSignedHead+`"}`)) + "." + parts[1] + "."
}
