package diddht

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didtest"
	"github.com/anya-org/anya-go/web5/jose"
)

type fixture struct {
	gw     *Gateway
	srv    *httptest.Server
	client *Client
	now    time.Time
}

func newFixture(t testing.TB, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{now: time.Unix(1_700_000_000, 0)}
	clock := func() time.Time { return f.now }
	gw, err := NewGateway(append([]Option{WithClock(clock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	f.gw = gw
	f.srv = httptest.NewServer(gw)
	t.Cleanup(f.srv.Close)
	f.client, err = NewClient(f.srv.URL+"/", WithHTTPClient(f.srv.Client()), WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func createPublished(t testing.TB, f *fixture, opts ...CreateOption) *did.BearerDID {
	t.Helper()
	b, err := Create(context.Background(), jose.NewMemoryKeyManager(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.client.Publish(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPublishResolve(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b := createPublished(t, f,
		WithKey(jose.Secp256k1, "", did.AssertionMethod),
		WithKey(jose.X25519, "enc", did.KeyAgreement),
		WithService("dwn", "DecentralizedWebNode", "https://dwn.example.com"),
		WithTypes(1, 7), WithController("did:example:ctrl"), WithAlsoKnownAs("did:example:aka"))
	if b.Metadata["published"] != true || b.Metadata["versionId"] != "1700000000" {
		t.Fatalf("metadata %v", b.Metadata)
	}
	res, err := f.client.Resolve(ctx, b.DID)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, res.Document, b.Document) {
		t.Fatal("resolved document differs from the published one")
	}
	if res.DocumentMetadata.VersionID != "1700000000" || res.DocumentMetadata.Updated != "2023-11-14T22:13:20Z" ||
		len(res.DocumentMetadata.Types) != 2 || res.ResolutionMetadata.Gateway != f.client.Gateway() || res.TTL != 2*time.Hour {
		t.Fatalf("result metadata %+v %+v %v", res.DocumentMetadata, res.ResolutionMetadata, res.TTL)
	}
	// The secp256k1 key travels compressed and signs for the DID.
	r, _ := did.NewResolver(did.WithMethods(f.client))
	s, err := b.Signer(ctx, did.WithMethod(b.Document.VerificationMethod[1].ID))
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := jose.SignJWT(ctx, s, jose.Claims{Issuer: b.String()})
	if _, _, err := r.VerifyJWT(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// Portable export/import keeps the metadata needed to republish.
	p, err := b.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(p)
	p2, err := did.ParsePortableDID(raw)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := did.Import(ctx, p2, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	if err := f.client.Publish(ctx, b2); err != nil {
		t.Fatal(err)
	}
	res, _ = f.client.Resolve(ctx, b.DID)
	if len(res.DocumentMetadata.Types) != 2 || res.DocumentMetadata.VersionID != "1700000060" {
		t.Fatalf("republished metadata %+v", res.DocumentMetadata)
	}
}

func jsonEqual(t *testing.T, a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestResolveRejectsTamperedGateway(t *testing.T) {
	f := newFixture(t)
	b := createPublished(t, f)
	// A gateway that serves the stored record with a byte of the DNS packet changed, and
	// one that serves another DID's (validly signed) record.
	other := createPublished(t, f)
	mode := "flip"
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/")
		if mode == "swap" {
			id = other.DID.ID
		}
		m, _, ok := f.gw.current(id, 0)
		if !ok {
			http.NotFound(w, r)
			return
		}
		body, _ := m.MarshalBinary()
		if mode == "flip" {
			body[len(body)-3] ^= 1
		}
		w.Write(body)
	}))
	defer evil.Close()
	c, _ := NewClient(evil.URL, WithHTTPClient(evil.Client()))
	for _, m := range []string{"flip", "swap"} {
		mode = m
		_, err := c.Resolve(context.Background(), b.DID)
		if !errors.Is(err, ErrInvalidSignature) || !errors.Is(err, did.ErrInternal) {
			t.Errorf("%s: %v, want a signature failure", m, err)
		}
	}
}

func TestGatewayConflictRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b := createPublished(t, f)
	signer, _ := b.Signer(ctx, did.WithMethod("#0"))
	p, _ := packetOf(b)
	v, _ := p.Marshal()
	put := func(seq int64, v []byte) error {
		m, err := SignMessage(ctx, signer, seq, v)
		if err != nil {
			return err
		}
		return f.client.Put(ctx, b.DID.ID, m)
	}
	seq := f.now.Unix()
	if err := put(seq-1, v); !errors.Is(err, ErrConflict) {
		t.Fatalf("lower seq: %v", err)
	}
	if err := put(seq, v); err != nil {
		t.Fatalf("same record again: %v", err)
	}
	if err := put(seq+7200+1, v); err == nil || errors.Is(err, ErrConflict) {
		t.Fatalf("far-future seq: %v", err)
	}
	// Same seq, different value: only a lexicographically greater payload wins.
	p.Types = []int{3}
	v2, _ := p.Marshal()
	m1, _ := SignMessage(ctx, signer, seq, v2)
	cur, _, _ := f.gw.current(b.DID.ID, 0)
	a, _ := m1.MarshalBinary()
	c, _ := cur.MarshalBinary()
	err := f.client.Put(ctx, b.DID.ID, m1)
	if bytes.Compare(a, c) > 0 && err != nil || bytes.Compare(a, c) < 0 && !errors.Is(err, ErrConflict) {
		t.Fatalf("equal seq tie-break: %v", err)
	}
	if err := put(seq+10, v2); err != nil {
		t.Fatal(err)
	}
	// Bad signature, garbage packet, wrong DID, oversized body.
	m, _ := SignMessage(ctx, signer, seq+20, v)
	m.Sig[0] ^= 1
	if err := f.client.Put(ctx, b.DID.ID, m); err == nil {
		t.Fatal("bad signature accepted")
	}
	if err := put(seq+30, []byte("not a dns packet")); err == nil {
		t.Fatal("garbage accepted")
	}
	other, _ := Create(ctx, jose.NewMemoryKeyManager())
	m, _ = SignMessage(ctx, signer, seq+40, v)
	if err := f.client.Put(ctx, other.DID.ID, m); err == nil {
		t.Fatal("record stored under another DID")
	}
	resp, err := http.DefaultClient.Do(mustReq(t, "PUT", f.srv.URL+"/"+b.DID.ID, bytes.Repeat([]byte{1}, 2000)))
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("oversized: %v %v", resp, err)
	}
	resp.Body.Close()
	res, _ := f.client.Resolve(ctx, b.DID)
	if res.DocumentMetadata.VersionID != "1700000010" || len(res.DocumentMetadata.Types) != 1 {
		t.Fatalf("state changed by refused writes: %+v", res.DocumentMetadata)
	}
}

func mustReq(t *testing.T, method, url string, body []byte) *http.Request {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestGatewayCapacity(t *testing.T) {
	f := newFixture(t, WithMaxRecords(1))
	createPublished(t, f)
	b, _ := Create(context.Background(), jose.NewMemoryKeyManager())
	if err := f.client.Publish(context.Background(), b); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("over capacity: %v", err)
	}
	if _, err := NewGateway(WithMaxRecords(0)); !errors.Is(err, did.ErrInvalidOption) {
		t.Fatal(err)
	}
}

func TestGatewayJSONAPI(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b := createPublished(t, f, WithTypes(1))
	f.now = f.now.Add(time.Hour)
	_ = f.client.Publish(ctx, b)
	get := func(path string) (int, []byte) {
		resp, err := f.srv.Client().Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("%s: no CORS header", path)
		}
		return resp.StatusCode, body
	}
	code, body := get("/did/" + b.DID.ID)
	var res resolution
	if code != 200 || json.Unmarshal(body, &res) != nil || res.DID.ID != b.DID.String() || len(res.SequenceNumbers) != 2 {
		t.Fatalf("resolve: %d %s", code, body)
	}
	// The dht field is the verifiable payload.
	raw, _ := b64.DecodeString(res.DHT)
	m, err := ParseMessage(raw)
	if err != nil || m.Verify(mustIdentity(t, b.DID)) != nil {
		t.Fatalf("dht payload does not verify: %v", err)
	}
	if code, _ := get("/did/" + b.DID.ID + "?seq=1700000000"); code != 200 {
		t.Fatalf("historical: %d", code)
	}
	if code, _ := get("/did/" + b.DID.ID + "?seq=5"); code != 404 {
		t.Fatalf("unknown version: %d", code)
	}
	if code, body := get("/did/types/1"); code != 200 || !strings.Contains(string(body), b.DID.String()) {
		t.Fatalf("type index: %d %s", code, body)
	}
	if code, body := get("/did/types/2"); code != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("empty type: %d %s", code, body)
	}
	if code, _ := get("/did/types/99"); code != 404 {
		t.Fatalf("unknown type: %d", code)
	}
	if code, body := get("/did/types"); code != 200 || !strings.Contains(string(body), "Financial Institution") {
		t.Fatalf("types: %d %s", code, body)
	}
	if code, _ := get("/challenge"); code != 501 {
		t.Fatalf("challenge: %d", code)
	}
	// Registration through PUT /did/{id}.
	b2, _ := Create(ctx, jose.NewMemoryKeyManager())
	signer, _ := b2.Signer(ctx, did.WithMethod("#0"))
	p, _ := packetOf(b2)
	v, _ := p.Marshal()
	msg, _ := SignMessage(ctx, signer, f.now.Unix(), v)
	reg, _ := json.Marshal(registration{DID: b2.String(), Sig: b64.EncodeToString(msg.Sig[:]), Seq: msg.Seq, V: b64.EncodeToString(v)})
	resp, err := f.srv.Client().Do(mustReq(t, "PUT", f.srv.URL+"/did/"+b2.DID.ID, reg))
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("register: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	msg.Sig[3] ^= 1
	reg, _ = json.Marshal(registration{DID: b2.String(), Sig: b64.EncodeToString(msg.Sig[:]), Seq: msg.Seq + 1, V: b64.EncodeToString(v)})
	resp, _ = f.srv.Client().Do(mustReq(t, "PUT", f.srv.URL+"/did/"+b2.DID.ID, reg))
	if resp.StatusCode != 401 {
		t.Fatalf("bad signature registration: %s", resp.Status)
	}
	resp.Body.Close()
}

func mustIdentity(t *testing.T, d did.DID) []byte {
	k, err := IdentityKey(d)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDeactivate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b := createPublished(t, f, WithTypes(1))
	f.now = f.now.Add(time.Minute)
	if err := f.client.Deactivate(ctx, b); err != nil {
		t.Fatal(err)
	}
	r, _ := did.NewResolver(did.WithMethods(f.client))
	res, err := r.Resolve(ctx, b.String())
	if err != nil || !res.DocumentMetadata.Deactivated || len(res.Document.VerificationMethod) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	tok, _ := b.SignJWT(ctx, jose.Claims{Issuer: b.String()})
	if _, _, err := r.VerifyJWT(ctx, tok); !errors.Is(err, did.ErrNotAuthorized) {
		t.Fatalf("signature of a deactivated DID: %v", err)
	}
}

func TestConformance(t *testing.T) {
	f := newFixture(t)
	a := createPublished(t, f)
	b := createPublished(t, f, WithKey(jose.P256, "p256", did.Authentication), WithService("s", "T", "https://s.example"))
	missing, _ := Create(context.Background(), jose.NewMemoryKeyManager())
	didtest.Run(t, didtest.Harness{
		Method:   f.client,
		Existing: []string{a.String(), b.String()},
		Missing:  missing.String(),
		Invalid: []string{
			"did:dht:cyuoqaf7itop8ohww4yn5ojg13qaq83r9zihgqntc5i9zwrfdfov", // 'v' is not z-base-32
			"did:dht:cyuoqaf7itop8ohww4yn5ojg13qaq83r9zihgqntc5i9zwrfdfo",  // too short
			"did:dht:cyuoqaf7itop8ohww4yn5ojg13qaq83r9zihgqntc5i9zwrfdfoa", // non-canonical last character
		},
	})
}

func TestSuffixCanonical(t *testing.T) {
	// 52 z-base-32 characters carry 260 bits; the last 4 must be zero.
	d := did.MustParse("did:dht:cyuoqaf7itop8ohww4yn5ojg13qaq83r9zihgqntc5i9zwrfdfoo")
	if _, err := IdentityKey(d); err != nil {
		t.Fatal(err)
	}
	d.ID = d.ID[:51] + "y"
	if _, err := IdentityKey(d); err != nil {
		t.Fatalf("canonical variant: %v", err)
	}
	d.ID = d.ID[:51] + "b"
	if _, err := IdentityKey(d); !errors.Is(err, did.ErrInvalidPublicKey) {
		t.Fatalf("non-canonical suffix: %v", err)
	}
}

func TestBEP44(t *testing.T) {
	if got := string(Signable(1, []byte("Hello World!"))); got != "3:seqi1e1:v12:Hello World!" {
		t.Fatalf("signable %q", got)
	}
	for name, b := range map[string][]byte{"short": make([]byte, 71), "huge": make([]byte, 72+MaxPacketSize+1)} {
		if _, err := ParseMessage(b); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	km := jose.NewMemoryKeyManager()
	id, _ := km.GenerateKey(context.Background(), jose.Secp256k1)
	s, _ := jose.KeyManagerSigner(context.Background(), km, id, "")
	if _, err := SignMessage(context.Background(), s, 1, nil); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("secp256k1 signer: %v", err)
	}
}

func TestPacketLimits(t *testing.T) {
	ctx := context.Background()
	var opts []CreateOption
	for i := range 20 {
		opts = append(opts, WithService("s"+strings.Repeat("x", i), "T", "https://"+strings.Repeat("e", 60)+".example"))
	}
	if _, err := Create(ctx, jose.NewMemoryKeyManager(), opts...); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized document: %v", err)
	}
	if _, err := Create(ctx, jose.NewMemoryKeyManager(), WithService("s", "T", "https://a.example,https://b.example")); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("comma in endpoint: %v", err)
	}
	if _, err := NewDocument(jose.JWK{KeyType: "OKP", Curve: jose.X25519, X: "3POE0_i2mGeZ2qiQCA3KcLfi1fZo0311CXFSIwt1nB4"}); !errors.Is(err, did.ErrInvalidOption) {
		t.Fatalf("X25519 identity key: %v", err)
	}
	if _, err := NewDocument(jose.JWK{KeyType: "OKP", Curve: jose.Ed25519, X: "YCcHYL2sYNPDlKaALcEmll2HHyT968M4UWbr-9CFGWE"}, WithKey(jose.Ed25519, "")); !errors.Is(err, did.ErrInvalidOption) {
		t.Fatalf("WithKey in NewDocument: %v", err)
	}
}

func TestParsePacketRejects(t *testing.T) {
	d := did.MustParse("did:dht:cyuoqaf7itop8ohww4yn5ojg13qaq83r9zihgqntc5i9zwrfdfoo")
	root := "_did.cyuoqaf7itop8ohww4yn5ojg13qaq83r9zihgqntc5i9zwrfdfoo."
	k0 := Record{Name: "_k0._did.", Type: "TXT", TTL: 7200, Data: []string{"t=0;k=YCcHYL2sYNPDlKaALcEmll2HHyT968M4UWbr-9CFGWE"}}
	rootRec := func(s string) Record { return Record{Name: root, Type: "TXT", TTL: 7200, Data: []string{s}} }
	other := "t=0;k=11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	uncompressed := "t=1;k=BNf6NCChxjWpnrfPt1WDVE4ipYVSvi4pXCq4SUjx0jT9qzU8qqh0wKB6JC_9HCu8pHE-ZPkDpw4AdJ-MsV2InVY"
	cases := map[string][]Record{
		"no root":           {k0},
		"two roots":         {rootRec("v=0;vm=k0"), rootRec("v=0;vm=k0"), k0},
		"version 1":         {rootRec("v=1;vm=k0"), k0},
		"no version":        {rootRec("vm=k0"), k0},
		"no k0":             {rootRec("v=0;vm=k1"), {Name: "_k1._did.", Type: "TXT", Data: []string{other}}},
		"k0 not identity":   {rootRec("v=0;vm=k0"), {Name: "_k0._did.", Type: "TXT", Data: []string{other}}},
		"missing key":       {rootRec("v=0;vm=k0,k1"), k0},
		"unknown ref":       {rootRec("v=0;vm=k0;auth=k5"), k0},
		"bad type":          {rootRec("v=0;vm=k0,k1"), k0, {Name: "_k1._did.", Type: "TXT", Data: []string{"t=9;k=AA"}}},
		"uncompressed k1":   {rootRec("v=0;vm=k0,k1"), k0, {Name: "_k1._did.", Type: "TXT", Data: []string{uncompressed}}},
		"missing service":   {rootRec("v=0;vm=k0;svc=s0"), k0},
		"service no se":     {rootRec("v=0;vm=k0;svc=s0"), k0, {Name: "_s0._did.", Type: "TXT", Data: []string{"id=a;t=T"}}},
		"dup property":      {rootRec("v=0;v=0;vm=k0"), k0},
		"bad property":      {rootRec("v=0;vm"), k0},
		"bad type index":    {rootRec("v=0;vm=k0"), k0, {Name: "_typ._did.", Type: "TXT", Data: []string{"id=a"}}},
		"dup vm alias":      {rootRec("v=0;vm=k0,k0"), k0},
		"identity id not 0": {rootRec("v=0;vm=k0"), {Name: "_k0._did.", Type: "TXT", Data: []string{"id=x;" + k0.Data[0]}}},
	}
	for name, recs := range cases {
		if _, err := PacketFromRecords(d, recs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ParsePacket(d, []byte{1, 2, 3}); !errors.Is(err, ErrInvalidPacket) {
		t.Errorf("garbage: %v", err)
	}
}
