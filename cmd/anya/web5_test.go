package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
)

func writePortable(t *testing.T, doc map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(doc)
	path := filepath.Join(t.TempDir(), "issuer.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDIDCreateResolve(t *testing.T) {
	for _, c := range [][]string{
		{"--method", "key"},
		{"--method", "key", "--key-type", "secp256k1"},
		{"--method", "jwk", "--key-type", "P-256"},
		{"--method", "dht", "--key-type", "secp256k1"},
	} {
		doc, code := anya(t, append([]string{"did", "create"}, c...)...)
		if code != exitOK {
			t.Fatalf("%v: exit %d %v", c, code, doc)
		}
		raw, _ := json.Marshal(doc)
		p, err := did.ParsePortableDID(raw)
		if err != nil {
			t.Fatalf("%v: not a portable DID: %v\n%s", c, err, raw)
		}
		if c[1] == "dht" {
			if len(p.Document.VerificationMethod) != 2 || doc["metadata"].(map[string]any)["published"] != false {
				t.Fatalf("dht: %s", raw)
			}
			continue
		}
		res, code := anya(t, "did", "resolve", p.URI)
		if code != exitOK || res["didDocument"].(map[string]any)["id"] != p.URI || res["@context"] != did.ResolutionContext {
			t.Fatalf("resolve %s: %v", p.URI, res)
		}
	}
}

func TestDIDDHTThroughGateway(t *testing.T) {
	gw, _ := diddht.NewGateway()
	srv := httptest.NewServer(gw)
	defer srv.Close()
	doc, code := anya(t, "did", "create", "--method", "dht", "--gateway", srv.URL)
	if code != exitOK || doc["metadata"].(map[string]any)["published"] != true {
		t.Fatalf("create: %d %v", code, doc)
	}
	uri := doc["uri"].(string)
	res, code := anya(t, "did", "resolve", uri, "--gateway", srv.URL)
	if code != exitOK || res["didDocument"].(map[string]any)["id"] != uri || res["didResolutionMetadata"].(map[string]any)["gateway"] != srv.URL {
		t.Fatalf("resolve: %d %v", code, res)
	}
	// Without a gateway, did:dht is not supported; the result says so and the command succeeds.
	res, code = anya(t, "did", "resolve", uri)
	if code != exitOK || res["didResolutionMetadata"].(map[string]any)["error"] != did.CodeMethodNotSupported || res["didDocument"] != nil {
		t.Fatalf("no gateway: %d %v", code, res)
	}
}

func TestDIDResolveErrorsAreResults(t *testing.T) {
	for in, want := range map[string]string{
		"invalid-did":     did.CodeInvalidDID,
		"did:jwk:hehe":    did.CodeInvalidDID,
		"did:example:123": did.CodeMethodNotSupported,
		"did:key:z6Mk":    did.CodeInvalidDID,
	} {
		res, code := anya(t, "did", "resolve", in)
		if code != exitOK || res["didResolutionMetadata"].(map[string]any)["error"] != want || res["didDocument"] != nil {
			t.Errorf("%s: exit %d %v", in, code, res)
		}
		if _, ok := res["didDocumentMetadata"]; !ok {
			t.Errorf("%s: no didDocumentMetadata", in)
		}
	}
	for _, args := range [][]string{
		{"did", "resolve"},
		{"did", "resolve", "a", "b"},
		{"did", "create"},
		{"did", "create", "--method", "web"},
		{"did", "create", "--method", "key", "--key-type", "rsa"},
		{"did", "create", "--method", "key", "--gateway", "http://x"},
	} {
		doc, code := anya(t, args...)
		if code != exitUsage || errorCode(t, doc) != "usage" {
			t.Errorf("%v: exit %d %v", args, code, doc)
		}
	}
}

func TestVCIssueVerify(t *testing.T) {
	issuer, _ := anya(t, "did", "create", "--method", "key")
	subject, _ := anya(t, "did", "create", "--method", "jwk", "--key-type", "secp256k1")
	path := writePortable(t, issuer)
	for _, v2 := range []bool{false, true} {
		args := []string{"vc", "issue", "--portable-did", path, "--subject", subject["uri"].(string), "--type", "KYCCredential", "--claims", `{"level":"full"}`}
		if v2 {
			args = append(args, "--v2")
		}
		out, code := anya(t, args...)
		token, _ := out["vcJwt"].(string)
		if code != exitOK || strings.Count(token, ".") != 2 {
			t.Fatalf("issue: %d %v", code, out)
		}
		res, code := anya(t, "vc", "verify", token)
		cred, _ := res["credential"].(map[string]any)
		if code != exitOK || res["verified"] != true || cred == nil || res["error"] != nil {
			t.Fatalf("verify: %d %v", code, res)
		}
		sub := cred["credentialSubject"].(map[string]any)
		if sub["level"] != "full" || sub["id"] != subject["uri"] || cred["issuer"] != issuer["uri"] {
			t.Fatalf("credential %v", cred)
		}
		// A tampered signature is judged, not an error: verified false, exit 0.
		bad := token[:len(token)-6] + "AAAAAA"
		res, code = anya(t, "vc", "verify", bad)
		if code != exitOK || res["verified"] != false || res["error"] == "" || res["credential"] == nil {
			t.Fatalf("tampered: %d %v", code, res)
		}
	}
	res, code := anya(t, "vc", "verify", "doodoo")
	if code != exitOK || res["verified"] != false || res["credential"] != nil {
		t.Fatalf("garbage: %d %v", code, res)
	}
	for _, args := range [][]string{
		{"vc", "issue", "--portable-did", path, "--subject", "did:example:x"},
		{"vc", "issue", "--portable-did", path, "--subject", "not-a-did", "--type", "T"},
		{"vc", "issue", "--portable-did", path, "--subject", "did:example:x", "--type", "T", "--claims", "[1]"},
		{"vc", "verify"},
	} {
		doc, code := anya(t, args...)
		if code != exitUsage || errorCode(t, doc) != "usage" {
			t.Errorf("%v: exit %d %v", args, code, doc)
		}
	}
	doc, code := anya(t, "vc", "issue", "--portable-did", filepath.Join(t.TempDir(), "missing.json"), "--subject", "did:example:x", "--type", "T")
	if code != exitError || errorCode(t, doc) != "invalid_portable_did" {
		t.Fatalf("missing file: %d %v", code, doc)
	}
}
