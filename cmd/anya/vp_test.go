package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// kycDefinition asks for a credential whose subject's level is "full".
const kycDefinition = `{
	"id": "kyc-full",
	"input_descriptors": [{
		"id": "kyc",
		"purpose": "We need a full KYC check",
		"constraints": {"fields": [{"path": ["$.vc.credentialSubject.level", "$.credentialSubject.level"],
			"filter": {"type": "string", "const": "full"}}]}
	}]
}`

// party is a DID created by the CLI, with its portable DID in a file.
type party struct {
	uri, file string
}

func newParty(t *testing.T, method string) party {
	t.Helper()
	doc, code := anya(t, "did", "create", "--method", method)
	if code != exitOK {
		t.Fatal(doc)
	}
	return party{uri: doc["uri"].(string), file: writePortable(t, doc)}
}

func issue(t *testing.T, issuer party, subject, typ, claims string, extra ...string) string {
	t.Helper()
	args := append([]string{"vc", "issue", "--portable-did", issuer.file, "--subject", subject, "--type", typ, "--claims", claims}, extra...)
	doc, code := anya(t, args...)
	if code != exitOK {
		t.Fatalf("issue: %v", doc)
	}
	return doc["vcJwt"].(string)
}

func TestPresentations(t *testing.T) {
	issuer, holder, verifier := newParty(t, "key"), newParty(t, "jwk"), newParty(t, "key")
	kyc := issue(t, issuer, holder.uri, "KYCCredential", `{"level":"full"}`)
	other := issue(t, issuer, holder.uri, "MembershipCredential", `{"level":"basic"}`)
	def := writeFile(t, []byte(kycDefinition))

	for _, v2 := range []bool{false, true} {
		args := []string{"vp", "create", "--portable-did", holder.file, "--credential", other, "--credential", kyc, "--definition", "@" + def,
			"--nonce", "n-42", "--audience", verifier.uri, "--expires", "10m"}
		if v2 {
			args = append(args, "--v2")
		}
		vp, code := anya(t, args...)
		if code != exitOK || vp["credentials"] != jsonNum(1) || vp["presentation_submission"] == nil {
			t.Fatalf("vp create: %d %v", code, vp)
		}
		token := vp["vpJwt"].(string)
		res, code := anya(t, "vp", "verify", token, "--nonce", "n-42", "--audience", verifier.uri, "--definition", "@"+def)
		if code != exitOK || res["verified"] != true || res["holder"] != holder.uri || len(res["credentials"].([]any)) != 1 ||
			res["definition"].(map[string]any)["satisfied"] != true {
			t.Fatalf("vp verify: %d %v", code, res)
		}
		// The verdicts: another nonce, no audience, a tampered signature.
		for name, args := range map[string][]string{
			"nonce":    {"vp", "verify", token, "--nonce", "n-43", "--audience", verifier.uri},
			"audience": {"vp", "verify", token},
			"tampered": {"vp", "verify", token[:len(token)-4] + "AAAA", "--audience", verifier.uri},
		} {
			res, code := anya(t, args...)
			if code != exitOK || res["verified"] != false || res["error"] == "" {
				t.Errorf("%s: %d %v", name, code, res)
			}
		}
		ev, code := anya(t, "pex", "evaluate", "--definition", "@"+def, token, "--audience", verifier.uri)
		if code != exitOK || ev["satisfied"] != true || ev["signatures_checked"] != true {
			t.Fatalf("pex evaluate: %d %v", code, ev)
		}
	}
	// A presentation of the wrong credential does not satisfy the definition.
	wrong, _ := anya(t, "vp", "create", "--portable-did", holder.file, "--credential", other)
	res, _ := anya(t, "vp", "verify", wrong["vpJwt"].(string), "--definition", kycDefinition)
	if res["verified"] != true || res["definition"].(map[string]any)["satisfied"] != false {
		t.Fatalf("wrong credential: %v", res)
	}
	if doc, code := anya(t, "vp", "create", "--portable-did", holder.file, "--credential", other, "--definition", kycDefinition); code != exitError ||
		errorCode(t, doc) != "unsatisfied" {
		t.Fatalf("vp create that cannot satisfy: %d %v", code, doc)
	}
	// Selection.
	sel, _ := anya(t, "pex", "evaluate", "--definition", kycDefinition, "--credential", other, "--credential", kyc)
	if sel["satisfied"] != true || fmt.Sprint(sel["selected"]) != "[1]" || sel["presentation_submission"] == nil {
		t.Fatalf("select: %v", sel)
	}
	sel, _ = anya(t, "pex", "evaluate", "--definition", kycDefinition, "--credential", other)
	if sel["satisfied"] != false || fmt.Sprint(sel["selected"]) != "[]" {
		t.Fatalf("select nothing: %v", sel)
	}
	// A presentation's JSON, unsigned: evaluated, signatures not checked.
	pj, _ := json.Marshal(map[string]any{"@context": []string{"https://www.w3.org/2018/credentials/v1"}, "type": []string{"VerifiablePresentation"},
		"verifiableCredential": []string{kyc}})
	ev, code := anyaIn(t, strings.NewReader(string(pj)), "pex", "evaluate", "--definition", kycDefinition, "-")
	if code != exitOK || ev["satisfied"] != false || ev["signatures_checked"] != false || len(ev["problems"].([]any)) == 0 {
		t.Fatalf("presentation without a submission: %d %v", code, ev)
	}
	for _, c := range []struct {
		args []string
		code string
	}{
		{[]string{"pex", "evaluate", "--definition", kycDefinition}, "usage"},
		{[]string{"pex", "evaluate", "--definition", kycDefinition, "x", "--credential", kyc}, "usage"},
		{[]string{"pex", "evaluate", "--definition", `{"id": ""}`, "--credential", kyc}, "invalid_definition"},
		{[]string{"vp", "create", "--portable-did", holder.file}, "usage"},
		{[]string{"vp", "create", "--portable-did", holder.file, "--credential", kyc, "--expires", "-1s"}, "usage"},
		{[]string{"vp", "verify"}, "usage"},
	} {
		if doc, code := anya(t, c.args...); code == exitOK || errorCode(t, doc) != c.code {
			t.Errorf("%v: %d %v, want %s", c.args, code, doc, c.code)
		}
	}
}

func TestStatusLists(t *testing.T) {
	issuer, holder, mallory := newParty(t, "key"), newParty(t, "key"), newParty(t, "key")
	const url = "https://issuer.example/status/1"
	list1, code := anya(t, "status-list", "create", "--portable-did", issuer.file, "--url", url, "--set", "5,9")
	if code != exitOK || fmt.Sprint(list1["set"]) != "[5 9]" || list1["size"] != jsonNum(131072) {
		t.Fatalf("create: %d %v", code, list1)
	}
	cred5 := issue(t, issuer, holder.uri, "T", `{}`, "--status-list", url, "--status-index", "5")
	cred6 := issue(t, issuer, holder.uri, "T", `{}`, "--status-list", url, "--status-index", "6")
	status := func(cred string, lists ...string) map[string]any {
		t.Helper()
		args := []string{"status-list", "check", cred}
		for _, l := range lists {
			args = append(args, "--list", l)
		}
		doc, code := anya(t, args...)
		if code != exitOK {
			t.Fatalf("check: %d %v", code, doc)
		}
		return doc
	}
	l1 := list1["statusListCredential"].(string)
	if s := status(cred5, l1); s["status"] != "revoked" || s["verified"] != false || len(s["entries"].([]any)) != 1 {
		t.Fatalf("entry 5: %v", s)
	}
	if s := status(cred6, l1); s["status"] != "active" || s["verified"] != true {
		t.Fatalf("entry 6: %v", s)
	}
	// The next version of the list, from the first: 5 cleared, 6 set.
	list2, code := anya(t, "status-list", "create", "--portable-did", issuer.file, "--url", url, "--from", l1, "--clear", "5", "--set", "6")
	if code != exitOK || fmt.Sprint(list2["set"]) != "[6 9]" {
		t.Fatalf("update: %d %v", code, list2)
	}
	l2 := list2["statusListCredential"].(string)
	if status(cred5, l2)["status"] != "active" || status(cred6, l2)["status"] != "revoked" {
		t.Fatal("the updated list does not count")
	}
	// Attacks: a list at the same URL signed by someone else, and no list for the URL.
	forged, _ := anya(t, "status-list", "create", "--portable-did", mallory.file, "--url", url)
	if s := status(cred5, forged["statusListCredential"].(string)); s["status"] != "unknown" || !strings.Contains(s["error"].(string), "issued by") {
		t.Fatalf("forged list: %v", s)
	}
	other, _ := anya(t, "status-list", "create", "--portable-did", issuer.file, "--url", "https://issuer.example/status/2")
	if s := status(cred5, other["statusListCredential"].(string)); s["status"] != "unknown" {
		t.Fatalf("no list for the URL: %v", s)
	}
	// Suspension.
	susp, _ := anya(t, "status-list", "create", "--portable-did", issuer.file, "--url", url, "--purpose", "suspension", "--set", "3", "--v2")
	cred3 := issue(t, issuer, holder.uri, "T", `{}`, "--status-list", url, "--status-index", "3", "--status-purpose", "suspension", "--v2")
	if s := status(cred3, susp["statusListCredential"].(string)); s["status"] != "suspended" {
		t.Fatalf("suspension: %v", s)
	}
	// Without --list, the list is fetched from its URL.
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	served, _ := anya(t, "status-list", "create", "--portable-did", issuer.file, "--url", srv.URL+"/status/1", "--set", "1")
	mux.HandleFunc("/status/1", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(served["statusListCredential"].(string)))
	})
	fetched := issue(t, issuer, holder.uri, "T", `{}`, "--status-list", srv.URL+"/status/1", "--status-index", "1")
	if s, code := anya(t, "status-list", "check", fetched, "--allow-private-networks"); code != exitOK || s["status"] != "revoked" {
		t.Fatalf("fetched list: %d %v", code, s)
	}
	// Without --allow-private-networks a list on a loopback address is never fetched (SSRF).
	if s, _ := anya(t, "status-list", "check", fetched); s["status"] == "revoked" || s["status"] == "active" {
		t.Fatalf("a list on loopback was fetched without --allow-private-networks: %v", s)
	}
	for _, c := range []struct {
		args []string
		code string
	}{
		{[]string{"status-list", "create", "--portable-did", issuer.file, "--url", url, "--from", l1, "--purpose", "suspension"}, "invalid_status_list"},
		{[]string{"status-list", "create", "--portable-did", issuer.file, "--url", url + "x", "--from", l1}, "invalid_status_list"},
		{[]string{"status-list", "create", "--portable-did", mallory.file, "--url", url, "--from", l1}, "invalid_status_list"},
		{[]string{"status-list", "create", "--portable-did", issuer.file, "--url", url, "--set", "131072"}, "usage"},
		{[]string{"status-list", "create", "--portable-did", issuer.file, "--url", url, "--set", "-1"}, "usage"},
		{[]string{"status-list", "create", "--portable-did", issuer.file, "--url", url, "--size", "8"}, "usage"},
		{[]string{"status-list", "create", "--portable-did", issuer.file, "--url", url, "--purpose", "fun"}, "usage"},
		{[]string{"vc", "issue", "--portable-did", issuer.file, "--subject", holder.uri, "--type", "T", "--status-list", url}, "usage"},
	} {
		if doc, code := anya(t, c.args...); code == exitOK || errorCode(t, doc) != c.code {
			t.Errorf("%v: %d %v, want %s", c.args[3:], code, doc, c.code)
		}
	}
}
