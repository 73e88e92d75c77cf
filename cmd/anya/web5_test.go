package main

import (
	"encoding/json"
	"net/http"
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
	// Without a gateway, did:dht cannot be resolved: an error that says how to give one.
	res, code = anya(t, "did", "resolve", uri)
	if code != exitError || errorCode(t, res) != "method_not_supported" || !strings.Contains(errorMessage(res), "--gateway URL") ||
		!strings.Contains(errorMessage(res), gatewayEnv) {
		t.Fatalf("no gateway: %d %v", code, res)
	}
	// ... which $ANYA_DHT_GATEWAY gives.
	t.Setenv(gatewayEnv, srv.URL)
	if res, code = anya(t, "did", "resolve", uri); code != exitOK || res["didDocument"].(map[string]any)["id"] != uri {
		t.Fatalf("gateway from %s: %d %v", gatewayEnv, code, res)
	}
}

func errorMessage(doc map[string]any) string {
	e, _ := doc["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

// TestDIDResolveErrors: a DID that does not resolve is an error with a code of its own, a
// message and the W3C resolution result as its detail.
func TestDIDResolveErrors(t *testing.T) {
	for in, want := range map[string][2]string{
		"invalid-did":     {"invalid_did", did.CodeInvalidDID},
		"did:jwk:hehe":    {"invalid_did", did.CodeInvalidDID},
		"did:example:123": {"method_not_supported", did.CodeMethodNotSupported},
		"did:key:z6Mk":    {"invalid_did", did.CodeInvalidDID},
	} {
		res, code := anya(t, "did", "resolve", in)
		if code != exitError || errorCode(t, res) != want[0] {
			t.Errorf("%s: exit %d %v", in, code, res)
			continue
		}
		detail, _ := res["error"].(map[string]any)["detail"].(map[string]any)
		if detail["didResolutionMetadata"].(map[string]any)["error"] != want[1] || detail["didDocument"] != nil {
			t.Errorf("%s: detail %v", in, detail)
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

// TestDIDResolveUnreachable: a gateway or web server that cannot be reached is an error (exit
// 1, code unreachable) whose message names it — not a result with an empty message and exit 0.
func TestDIDResolveUnreachable(t *testing.T) {
	gw, _ := diddht.NewGateway()
	srv := httptest.NewServer(gw)
	doc, _ := anya(t, "did", "create", "--method", "dht", "--gateway", srv.URL)
	srv.Close() // nothing listens there any more
	res, code := anya(t, "did", "resolve", doc["uri"].(string), "--gateway", srv.URL)
	host := strings.TrimPrefix(srv.URL, "http://")
	if code != exitError || errorCode(t, res) != "unreachable" || !strings.Contains(errorMessage(res), host) {
		t.Fatalf("unreachable gateway: %d %v", code, res)
	}
	// did:web at a port nothing listens on.
	res, code = anya(t, "did", "resolve", "did:web:"+strings.ReplaceAll(host, ":", "%3A"), "--web-loopback-http")
	if code != exitError || errorCode(t, res) != "unreachable" {
		t.Fatalf("unreachable web server: %d %v", code, res)
	}
	// Verifying a credential whose issuer cannot be resolved is not a verdict either.
	issuer, _ := anya(t, "did", "create", "--method", "dht")
	out, _ := anya(t, "vc", "issue", "--portable-did", writePortable(t, issuer), "--subject", issuer["uri"].(string), "--type", "T")
	res, code = anya(t, "vc", "verify", out["vcJwt"].(string))
	if code != exitError || errorCode(t, res) != "method_not_supported" {
		t.Fatalf("vc verify without a gateway: %d %v", code, res)
	}
}

// TestDIDWebNotFound: did:web's notFound says which URL was tried and what it answered.
func TestDIDWebNotFound(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	res, code := anya(t, "did", "resolve", "did:web:"+strings.ReplaceAll(host, ":", "%3A")+":users:alice", "--web-loopback-http")
	msg := errorMessage(res)
	if code != exitError || errorCode(t, res) != "not_found" || !strings.Contains(msg, srv.URL+"/users/alice/did.json") ||
		!strings.Contains(msg, "404") {
		t.Fatalf("%d %v", code, res)
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
