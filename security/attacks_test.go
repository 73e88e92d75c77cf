package security_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/security"
)

// The host's checkpoint key, and an attacker's.
var (
	hostKey    = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	malloryKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
)

const hostKID = "did:web:host.example#audit-1"

func hostSigner(t testing.TB) *security.Ed25519Signer {
	t.Helper()
	s, err := security.NewEd25519Signer(hostKey, hostKID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hostVerifier(t testing.TB) *security.Ed25519Verifier {
	t.Helper()
	v, err := security.NewEd25519Verifier(hostKey.Public().(ed25519.PublicKey), hostKID)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// token builds a compact JWS over the given header and payload text, signed by key.
func token(key ed25519.PrivateKey, header, payload string) string {
	in := b64(header) + "." + b64(payload)
	return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, []byte(in)))
}

const (
	goodHeader  = `{"alg":"EdDSA","kid":"` + hostKID + `","typ":"` + security.TypeSignedHead + `"}`
	goodHash    = "7d933c6d37c5c9e4ea3cd5c76fa93d413a4c2f26a7c87962d1ad97fc00098179"
	goodPayload = `{"seq":7,"hash":"` + goodHash + `","iat":1772366400}`
)

// malleate returns sig with S replaced by S + L (the Ed25519 group order): the same point
// equation holds, so a verifier that does not insist on S < L accepts it.
func malleate(sig []byte) []byte {
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	le := func(b []byte) []byte { // little-endian <-> big-endian
		out := bytes.Clone(b)
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out
	}
	s := new(big.Int).SetBytes(le(sig[32:]))
	s.Add(s, l)
	buf := make([]byte, 32)
	s.FillBytes(buf)
	return append(bytes.Clone(sig[:32]), le(buf)...)
}

// headAttacks are tokens a verifier must refuse, each with the sentinel it must refuse with.
func headAttacks() []struct {
	name  string
	token string
	want  error
} {
	good := token(hostKey, goodHeader, goodPayload)
	parts := strings.Split(good, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	hdr := func(h string) string { return token(hostKey, h, goodPayload) }
	pay := func(p string) string { return token(hostKey, goodHeader, p) }
	withHash := func(h string) string { return pay(`{"seq":7,"hash":"` + h + `","iat":1772366400}`) }
	return []struct {
		name  string
		token string
		want  error
	}{
		{"alg none without a signature", b64(`{"alg":"none","kid":"`+hostKID+`","typ":"`+security.TypeSignedHead+`"}`) + "." + b64(goodPayload) + ".", security.ErrInvalidSignedHead},
		{"alg none with a signature", hdr(`{"alg":"none","kid":"` + hostKID + `","typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"alg NoNe", hdr(`{"alg":"NoNe","kid":"` + hostKID + `","typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"wrong alg for the key (ES256K)", hdr(`{"alg":"ES256K","kid":"` + hostKID + `","typ":"` + security.TypeSignedHead + `"}`), security.ErrSignature},
		{"HS256 with the public key as secret", hdr(`{"alg":"HS256","kid":"` + hostKID + `","typ":"` + security.TypeSignedHead + `"}`), security.ErrSignature},
		{"alg eddsa (case variant)", hdr(`{"alg":"eddsa","kid":"` + hostKID + `","typ":"` + security.TypeSignedHead + `"}`), security.ErrSignature},
		{"duplicate kid", hdr(`{"alg":"EdDSA","kid":"did:web:mallory.example#k","kid":"` + hostKID + `","typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"duplicate alg", hdr(`{"alg":"EdDSA","alg":"none","kid":"` + hostKID + `","typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"case-variant KID", hdr(`{"alg":"EdDSA","kid":"` + hostKID + `","KID":"did:web:mallory.example#k","typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"case-variant Kid only", hdr(`{"alg":"EdDSA","Kid":"` + hostKID + `","typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"Kelvin-sign kid", hdr(`{"alg":"EdDSA","kid":"` + hostKID + `","\u212Aid":"did:web:mallory.example#k","typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"escaped duplicate kid", hdr(`{"alg":"EdDSA","kid":"` + hostKID + `","k\u0069d":"x","typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"unknown header member crit", hdr(`{"alg":"EdDSA","crit":["exp"],"kid":"` + hostKID + `","typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"unencoded payload b64 false", hdr(`{"alg":"EdDSA","b64":false,"kid":"` + hostKID + `","typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"embedded jwk", hdr(`{"alg":"EdDSA","jwk":{"kty":"OKP"},"kid":"` + hostKID + `","typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"another token type signed by the host key", hdr(`{"alg":"EdDSA","kid":"` + hostKID + `","typ":"JWT"}`), security.ErrInvalidSignedHead},
		{"no typ", hdr(`{"alg":"EdDSA","kid":"` + hostKID + `"}`), security.ErrInvalidSignedHead},
		{"no kid", hdr(`{"alg":"EdDSA","typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"kid not a string", hdr(`{"alg":"EdDSA","kid":7,"typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"header is an array", hdr(`["EdDSA"]`), security.ErrInvalidSignedHead},
		{"header is null", hdr(`null`), security.ErrInvalidSignedHead},
		{"trailing data after the header", hdr(goodHeader + `{}`), security.ErrInvalidSignedHead},
		{"invalid UTF-8 in the header", hdr(`{"alg":"EdDSA","kid":"` + hostKID + "\xff" + `","typ":"` + security.TypeSignedHead + `"}`), security.ErrInvalidSignedHead},
		{"duplicate seq", pay(`{"seq":1,"seq":7,"hash":"` + goodHash + `","iat":1772366400}`), security.ErrInvalidSignedHead},
		{"case-variant Seq", pay(`{"seq":7,"Seq":1,"hash":"` + goodHash + `","iat":1772366400}`), security.ErrInvalidSignedHead},
		{"unknown payload member", pay(`{"seq":7,"hash":"` + goodHash + `","iat":1772366400,"log":"other"}`), security.ErrInvalidSignedHead},
		{"missing hash", pay(`{"seq":7,"iat":1772366400}`), security.ErrInvalidSignedHead},
		{"negative seq", pay(`{"seq":-1,"hash":"` + goodHash + `","iat":1772366400}`), security.ErrInvalidSignedHead},
		{"fractional seq", pay(`{"seq":7.0,"hash":"` + goodHash + `","iat":1772366400}`), security.ErrInvalidSignedHead},
		{"exponent seq", pay(`{"seq":7e0,"hash":"` + goodHash + `","iat":1772366400}`), security.ErrInvalidSignedHead},
		{"leading zero seq", pay(`{"seq":07,"hash":"` + goodHash + `","iat":1772366400}`), security.ErrInvalidSignedHead},
		{"seq beyond 2^63", pay(`{"seq":18446744073709551616,"hash":"` + goodHash + `","iat":1772366400}`), security.ErrInvalidSignedHead},
		{"seq as a string", pay(`{"seq":"7","hash":"` + goodHash + `","iat":1772366400}`), security.ErrInvalidSignedHead},
		{"negative iat", pay(`{"seq":7,"hash":"` + goodHash + `","iat":-5}`), security.ErrInvalidSignedHead},
		{"uppercase hash", withHash(strings.ToUpper(goodHash)), security.ErrInvalidSignedHead},
		{"short hash", withHash(goodHash[:62]), security.ErrInvalidSignedHead},
		{"non-hex hash", withHash("zz" + goodHash[2:]), security.ErrInvalidSignedHead},
		{"nested payload value", pay(`{"seq":{"n":7},"hash":"` + goodHash + `","iat":1772366400}`), security.ErrInvalidSignedHead},
		{"trailing data after the payload", pay(goodPayload + ` 1`), security.ErrInvalidSignedHead},
		{"fourth segment", good + ".e30", security.ErrInvalidSignedHead},
		{"five segments (JWE shape)", good + ".e30.e30", security.ErrInvalidSignedHead},
		{"two segments", parts[0] + "." + parts[1], security.ErrInvalidSignedHead},
		{"base64 padding", parts[0] + "=." + parts[1] + "." + parts[2], security.ErrInvalidSignedHead},
		{"line break in the signature", parts[0] + "." + parts[1] + "." + parts[2][:20] + "\n" + parts[2][20:], security.ErrInvalidSignedHead},
		{"standard base64 alphabet", parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+", security.ErrInvalidSignedHead},
		{"non-canonical trailing bits", parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1] + string(parts[2][len(parts[2])-1]+1), security.ErrInvalidSignedHead},
		{"leading space", " " + good, security.ErrInvalidSignedHead},
		{"empty", "", security.ErrInvalidSignedHead},
		{"oversized", token(hostKey, `{"alg":"EdDSA","kid":"`+strings.Repeat("k", security.MaxSignedHeadBytes)+`","typ":"`+security.TypeSignedHead+`"}`, goodPayload), security.ErrInvalidSignedHead},
		{"forged: signed by another key under the host's kid", token(malloryKey, goodHeader, goodPayload), security.ErrSignature},
		{"unknown kid", token(malloryKey, `{"alg":"EdDSA","kid":"did:web:mallory.example#k","typ":"`+security.TypeSignedHead+`"}`, goodPayload), security.ErrSignature},
		{"payload altered after signing", parts[0] + "." + b64(`{"seq":9,"hash":"`+goodHash+`","iat":1772366400}`) + "." + parts[2], security.ErrSignature},
		{"malleated signature (S + L)", parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(malleate(sig)), security.ErrSignature},
		{"truncated signature", parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig[:63]), security.ErrSignature},
	}
}

// TestAttacks lists every attack on the package — boundary bypasses, ML trying to authorise,
// audit log tampering, forged or malformed signed heads, cancellation passed off as a denial —
// one named row each, so that a regression shows as the row that broke.
func TestAttacks(t *testing.T) {
	type row struct {
		name string
		run  func(t *testing.T)
	}
	var rows []row

	// Boundaries: each attempt is refused with its sentinel and rule (and audited).
	for _, a := range bypassAttempts() {
		rows = append(rows, row{"boundary/" + a.name, func(t *testing.T) {
			log, _ := openAudit(t)
			bs := a.boundaries(t, log)
			out, err := bs.Cross(a.ctx(), a.from, a.to, a.action, a.data())
			if out != nil {
				t.Errorf("data crossed: %v", out)
			}
			de := denied(t, err, a.sentinel, a.rule)
			es, err := log.Entries(context.Background(), 1, 10)
			if err != nil || len(es) != 1 {
				t.Fatalf("refusal not audited: %+v %v", es, err)
			}
			if e := es[0]; e.Decision != security.DecisionDeny || e.Rule != de.Rule || e.Reason != de.Reason || e.Action != a.action || e.From != a.from || e.To != a.to {
				t.Errorf("audit entry %+v does not record the refusal %v", e, de)
			}
			if _, err := log.Verify(context.Background()); err != nil {
				t.Fatal(err)
			}
		}})
	}

	// The audit log: each tampering is reported with its kind at its position.
	for _, a := range auditAttacks() {
		rows = append(rows, row{"audit/" + a.name, a.run})
	}

	// Signed heads: each malformed or forged token is refused, and refused for the right reason.
	for _, a := range headAttacks() {
		rows = append(rows, row{"head/" + a.name, func(t *testing.T) {
			sh, err := security.ParseSignedHead(context.Background(), a.token, hostVerifier(t))
			if sh != nil || !errors.Is(err, a.want) {
				t.Fatalf("ParseSignedHead = %v, %v; want %v", sh, err, a.want)
			}
			var she *security.SignedHeadError
			if !errors.As(err, &she) {
				t.Fatalf("%v is not a *SignedHeadError", err)
			}
		}})
	}

	// Cancellation is neither a denial nor a tampering nor a bad signature.
	for _, a := range cancelAttacks() {
		rows = append(rows, row{"cancel/" + a.name, a.run})
	}

	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.name] {
			t.Fatalf("two rows named %q", r.name)
		}
		seen[r.name] = true
		t.Run(r.name, r.run)
	}
}

type bypassAttempt struct {
	name             string
	ctx              func() context.Context
	boundaries       func(t *testing.T, log *security.AuditLog) *security.Boundaries
	from, to, action string
	data             func() map[string]any
	sentinel         error
	rule             string
}

// bypassAttempts are the ways around the boundaries.
func bypassAttempts() []bypassAttempt {
	ok := func() context.Context { return security.NewContext(context.Background(), verified()) }
	unverified := func() context.Context {
		return security.NewContext(context.Background(), &security.Context{Principal: alice})
	}
	expired := func() context.Context {
		sc := verified()
		sc.Credentials[0].ExpiresAt = now.Add(-time.Minute)
		return security.NewContext(context.Background(), sc)
	}
	notYet := func() context.Context {
		sc := verified()
		sc.Credentials[0].IssuedAt = now.Add(time.Minute)
		return security.NewContext(context.Background(), sc)
	}
	othersCredential := func() context.Context {
		sc := verified()
		sc.Credentials[0].Subject = "did:key:z6MkMallory"
		return security.NewContext(context.Background(), sc)
	}
	noIssuer := func() context.Context {
		sc := verified()
		sc.Credentials[0].Issuer = ""
		return security.NewContext(context.Background(), sc)
	}
	notADID := func() context.Context {
		sc := verified()
		sc.Principal, sc.Credentials[0].Subject = "alice", "alice"
		return security.NewContext(context.Background(), sc)
	}
	def := func(t *testing.T, log *security.AuditLog) *security.Boundaries { return defaults(t, log) }
	// open is a boundary from ML that lets unknown fields through: the privilege rule must
	// hold without the schema's help.
	open := func(t *testing.T, log *security.AuditLog) *security.Boundaries {
		t.Helper()
		bs, err := security.New([]security.Boundary{
			{From: security.ML, To: security.Web5, AllowUnknown: true},
			{From: security.Web5, To: security.ML, Scopes: []string{"ml:score"}, AllowUnknown: true,
				Inbound: []security.Policy{{Name: "cap", Expr: "data.amount_sat <= 1000", Message: "over the cap"}}},
		}, security.WithAudit(log), security.WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		return bs
	}
	p := func(mods ...func(map[string]any)) func() map[string]any {
		return func() map[string]any {
			m := payment()
			for _, f := range mods {
				f(m)
			}
			return m
		}
	}
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	del := func(k string) func(map[string]any) { return func(m map[string]any) { delete(m, k) } }
	lit := func(m map[string]any) func() map[string]any { return func() map[string]any { return m } }
	nested := func(depth int) map[string]any {
		m := map[string]any{"x": 1}
		for range depth {
			m = map[string]any{"x": m}
		}
		return map[string]any{"features": m}
	}
	bs := []bypassAttempt{
		{"ML authorises a send", ok, def, "ml", "bitcoin", security.ActionSendPayment, p(set("approved", true)), security.ErrPrivilege, "privilege"},
		{"ML sends an action", ok, def, "ml", "bitcoin", security.ActionSendPayment, p(set("action", "send")), security.ErrPrivilege, "privilege"},
		{"ML authorises across an open boundary", ok, open, "ml", "web5", security.ActionRecordPayment, lit(map[string]any{"approved": true}), security.ErrPrivilege, "privilege"},
		{"ML authorises with a case-variant field", ok, open, "ml", "web5", security.ActionRecordPayment, lit(map[string]any{"Approved": true}), security.ErrPrivilege, "privilege"},
		{"ML authorises with a Unicode-folded field", ok, open, "ml", "web5", security.ActionRecordPayment, lit(map[string]any{"authori\u017fe": true}), security.ErrPrivilege, "privilege"},
		{"ML authorises in a nested field", ok, open, "ml", "web5", security.ActionRecordPayment, lit(map[string]any{"result": map[string]any{"permit": true}}), security.ErrPrivilege, "privilege"},
		{"ML authorises inside a list", ok, open, "ml", "web5", security.ActionRecordPayment, lit(map[string]any{"results": []any{map[string]any{"ALLOW": "yes"}}}), security.ErrPrivilege, "privilege"},
		{"ML authorises inside a list of numbers", ok, open, "ml", "web5", security.ActionRecordPayment, lit(map[string]any{"results": []any{0.5, 1, []any{2, map[string]any{"ALLOW": "yes"}}}}), security.ErrPrivilege, "privilege"},
		{"ML asks for another bitcoin action", ok, def, "ml", "bitcoin", "bitcoin.sign_message", p(), security.ErrActionNotAllowed, "action"},
		{"ML blocks the payment", ok, def, "ml", "bitcoin", security.ActionSendPayment, p(set("block", true)), security.ErrBlocked, "block"},
		{"unverified principal pays", unverified, def, "ml", "bitcoin", security.ActionSendPayment, p(), security.ErrUnverifiedIdentity, "privilege"},
		{"no security context pays", context.Background, def, "ml", "bitcoin", security.ActionSendPayment, p(), security.ErrUnverifiedIdentity, "privilege"},
		{"expired credential pays", expired, def, "ml", "bitcoin", security.ActionSendPayment, p(), security.ErrUnverifiedIdentity, "privilege"},
		{"credential not yet valid pays", notYet, def, "ml", "bitcoin", security.ActionSendPayment, p(), security.ErrUnverifiedIdentity, "privilege"},
		{"someone else's credential pays", othersCredential, def, "ml", "bitcoin", security.ActionSendPayment, p(), security.ErrUnverifiedIdentity, "privilege"},
		{"credential without issuer pays", noIssuer, def, "ml", "bitcoin", security.ActionSendPayment, p(), security.ErrUnverifiedIdentity, "privilege"},
		{"principal that is not a DID pays", notADID, def, "ml", "bitcoin", security.ActionSendPayment, p(), security.ErrUnverifiedIdentity, "privilege"},
		{"oversized payload", ok, def, "ml", "bitcoin", security.ActionSendPayment, p(set("payment_id", strings.Repeat("x", security.DefaultMaxBytes))), security.ErrTooLarge, "size"},
		{"data nested 100 deep", ok, def, "bitcoin", "ml", security.ActionAssessRisk, lit(nested(100)), security.ErrSchema, "encoding"},
		{"PII field to ML", ok, def, "web5", "ml", security.ActionAssessRisk, lit(map[string]any{"amount_sat": 5, "email": "alice@example.com"}), security.ErrFieldNotAllowed, "fields"},
		{"PII smuggled in an allowed field", ok, def, "web5", "ml", security.ActionAssessRisk, lit(map[string]any{"amount_sat": 5, "recipient_address": "alice@example.com"}), security.ErrPersonalData, "personal-data"},
		{"PII as a key", ok, def, "bitcoin", "ml", security.ActionAssessRisk, lit(map[string]any{"features": map[string]any{"alice@example.com": 1}}), security.ErrPersonalData, "personal-data"},
		{"phone number to ML", ok, def, "bitcoin", "ml", security.ActionAssessRisk, lit(map[string]any{"features": map[string]any{"memo": "call +1 415 555 0100"}}), security.ErrPersonalData, "personal-data"},
		{"social security number to ML", ok, def, "bitcoin", "ml", security.ActionAssessRisk, lit(map[string]any{"features": map[string]any{"memo": "ssn 078-05-1120"}}), security.ErrPersonalData, "personal-data"},
		{"card number to ML", ok, def, "bitcoin", "ml", security.ActionAssessRisk, lit(map[string]any{"features": map[string]any{"x": []any{"4111 1111 1111 1111"}}}), security.ErrPersonalData, "personal-data"},
		{"PII among the numbers of a list", ok, def, "bitcoin", "ml", security.ActionAssessRisk, lit(map[string]any{"features": map[string]any{"x": []any{1, 2.5, true, nil, []any{3, "alice@example.com"}}}}), security.ErrPersonalData, "personal-data"},
		{"DID in an allowed field to ML", ok, def, "web5", "ml", security.ActionAssessRisk, lit(map[string]any{"recipient_address": alice}), security.ErrPersonalData, "personal-data"},
		{"wrong type", ok, def, "ml", "bitcoin", security.ActionSendPayment, p(set("amount_sat", "lots")), security.ErrSchema, "schema"},
		{"fractional satoshis", ok, def, "ml", "bitcoin", security.ActionSendPayment, p(set("amount_sat", 1.5)), security.ErrSchema, "schema"},
		{"satoshis beyond int64", ok, def, "ml", "bitcoin", security.ActionSendPayment, p(set("amount_sat", 1e30)), security.ErrSchema, "schema"},
		{"missing field", ok, def, "ml", "bitcoin", security.ActionSendPayment, p(del("to_address")), security.ErrSchema, "schema"},
		{"NaN risk score", ok, def, "ml", "bitcoin", security.ActionSendPayment, p(set("risk_score", nanValue())), security.ErrSchema, "encoding"},
		{"undefined boundary", ok, def, "ml", "nostr", "x", p(), security.ErrUndefinedBoundary, "undefined-boundary"},
		{"Web5 data without provenance check", ok, def, "web5", "bitcoin", security.ActionSendPayment, p(del("risk_score")), security.ErrProvenance, "provenance"},
		{"unencodable data", ok, def, "ml", "web5", security.ActionRecordPayment, lit(map[string]any{"f": func() {}}), security.ErrSchema, "encoding"},
		{"missing scope", ok, open, "web5", "ml", security.ActionAssessRisk, lit(map[string]any{"amount_sat": 5}), security.ErrMissingScope, "scope"},
		{"policy over the cap", func() context.Context {
			sc := verified()
			sc.Scopes = append(sc.Scopes, "ml:score")
			return security.NewContext(context.Background(), sc)
		}, open, "web5", "ml", security.ActionAssessRisk, lit(map[string]any{"amount_sat": 5000}), security.ErrPolicy, "policy:cap"},
	}
	return bs
}

func nanValue() float64 { z := 0.0; return z / z }

type attack struct {
	name string
	run  func(t *testing.T)
}

func auditAttacks() []attack {
	tampered := func(setup func(t *testing.T, log *security.AuditLog, db *sql.DB) []security.Checkpoint, seq uint64, kind security.TamperKind) func(t *testing.T) {
		return func(t *testing.T) {
			log, db := openAudit(t)
			fill(t, log, 10)
			cps := setup(t, log, db)
			expect(t, findings(t, log, cps...), seq, kind)
		}
	}
	signedHead := func(t *testing.T, log *security.AuditLog) *security.SignedHead {
		t.Helper()
		h, err := log.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		sh, err := security.SignHead(context.Background(), h, now, hostSigner(t))
		if err != nil {
			t.Fatal(err)
		}
		// What the verifier holds is the string the publisher stored, parsed again.
		back, err := security.ParseSignedHead(context.Background(), sh.String(), hostVerifier(t))
		if err != nil {
			t.Fatal(err)
		}
		return back
	}
	return []attack{
		{"modification", tampered(func(t *testing.T, _ *security.AuditLog, db *sql.DB) []security.Checkpoint {
			exec(t, db, `UPDATE security_audit SET decision = 'deny' WHERE seq = 4`)
			return nil
		}, 4, security.TamperModified)},
		{"modification and rehash", tampered(func(t *testing.T, log *security.AuditLog, db *sql.DB) []security.Checkpoint {
			es, _ := log.Entries(context.Background(), 4, 1)
			e := es[0]
			e.Decision = security.DecisionDeny
			forged := forgeHash(t, e)
			exec(t, db, `UPDATE security_audit SET decision = 'deny', hash = ? WHERE seq = 4`, forged[:])
			return nil
		}, 5, security.TamperBroken)},
		{"deletion in the middle", tampered(func(t *testing.T, _ *security.AuditLog, db *sql.DB) []security.Checkpoint {
			exec(t, db, `DELETE FROM security_audit WHERE seq IN (5, 6)`)
			return nil
		}, 5, security.TamperDeleted)},
		{"deletion of the first entry", tampered(func(t *testing.T, _ *security.AuditLog, db *sql.DB) []security.Checkpoint {
			exec(t, db, `DELETE FROM security_audit WHERE seq = 1`)
			return nil
		}, 1, security.TamperDeleted)},
		{"deletion and renumbering", tampered(func(t *testing.T, _ *security.AuditLog, db *sql.DB) []security.Checkpoint {
			exec(t, db, `DELETE FROM security_audit WHERE seq = 3`)
			exec(t, db, `UPDATE security_audit SET seq = seq - 1 WHERE seq > 3`)
			exec(t, db, `UPDATE security_audit_head SET seq = 9`)
			return nil
		}, 3, security.TamperBroken)},
		{"reordering", tampered(func(t *testing.T, _ *security.AuditLog, db *sql.DB) []security.Checkpoint {
			exec(t, db, `UPDATE security_audit SET seq = 100 WHERE seq = 3`)
			exec(t, db, `UPDATE security_audit SET seq = 3 WHERE seq = 4`)
			exec(t, db, `UPDATE security_audit SET seq = 4 WHERE seq = 100`)
			return nil
		}, 3, security.TamperReordered)},
		{"truncation", tampered(func(t *testing.T, _ *security.AuditLog, db *sql.DB) []security.Checkpoint {
			exec(t, db, `DELETE FROM security_audit WHERE seq > 8`)
			return nil
		}, 9, security.TamperTruncated)},
		{"truncation with the head row rewound, against a stored head", tampered(func(t *testing.T, log *security.AuditLog, db *sql.DB) []security.Checkpoint {
			h, _ := log.Head(context.Background())
			exec(t, db, `DELETE FROM security_audit WHERE seq > 8`)
			exec(t, db, `UPDATE security_audit_head SET seq = 8, hash = (SELECT hash FROM security_audit WHERE seq = 8)`)
			return []security.Checkpoint{h}
		}, 9, security.TamperTruncated)},
		{"truncation below the signed head", tampered(func(t *testing.T, log *security.AuditLog, db *sql.DB) []security.Checkpoint {
			sh := signedHead(t, log)
			exec(t, db, `DELETE FROM security_audit WHERE seq > 8`)
			exec(t, db, `UPDATE security_audit_head SET seq = 8, hash = (SELECT hash FROM security_audit WHERE seq = 8)`)
			return []security.Checkpoint{sh}
		}, 9, security.TamperTruncated)},
		{"insertion behind the log's back", tampered(func(t *testing.T, _ *security.AuditLog, db *sql.DB) []security.Checkpoint {
			exec(t, db, `INSERT INTO security_audit SELECT 11, time, kind, from_p, to_p, action, principal, decision, rule, reason, data_hash, hash, hash FROM security_audit WHERE seq = 10`)
			return nil
		}, 11, security.TamperInserted)},
		{"head row deleted", tampered(func(t *testing.T, _ *security.AuditLog, db *sql.DB) []security.Checkpoint {
			exec(t, db, `DELETE FROM security_audit_head`)
			return nil
		}, 1, security.TamperModified)},
		{"tail rewrite after the last signed checkpoint", func(t *testing.T) {
			log, db := openAudit(t)
			fill(t, log, 10)
			sh := signedHead(t, log)
			replaceTail(t, log, db, 6)
			if got := findings(t, log); got != nil {
				t.Fatalf("the rewrite is consistent: the chain alone cannot see it, yet Verify found %v", got)
			}
			expect(t, findings(t, log, sh), 10, security.TamperModified)
		}},
		{"tail rewrite between two signed checkpoints", func(t *testing.T) {
			log, db := openAudit(t)
			fill(t, log, 5)
			first := signedHead(t, log)
			fill(t, log, 5)
			second := signedHead(t, log)
			replaceTail(t, log, db, 8)
			got := findings(t, log, first, second)
			expect(t, got, 10, security.TamperModified)
			if len(got) != 1 || !strings.Contains(got[0].Detail, "entries 6 to 10") {
				t.Fatalf("the finding should narrow the rewrite to entries 6 to 10: %v", got)
			}
		}},
		{"tail rewrite and extension after the signed head", func(t *testing.T) {
			log, db := openAudit(t)
			fill(t, log, 10)
			sh := signedHead(t, log)
			replaceTail(t, log, db, 3)
			fill(t, log, 4) // the forged log runs past the signed head
			expect(t, findings(t, log, sh), 10, security.TamperModified)
		}},
		{"forged head signed by another key", func(t *testing.T) {
			log, db := openAudit(t)
			fill(t, log, 10)
			replaceTail(t, log, db, 6)
			h, _ := log.Head(context.Background())
			forger, err := security.NewEd25519Signer(malloryKey, hostKID)
			if err != nil {
				t.Fatal(err)
			}
			forged, err := security.SignHead(context.Background(), h, now, forger)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := security.ParseSignedHead(context.Background(), forged.String(), hostVerifier(t)); !errors.Is(err, security.ErrSignature) {
				t.Fatalf("a head signed by another key was accepted: %v", err)
			}
		}},
		{"replayed older head proves only up to itself", func(t *testing.T) {
			log, db := openAudit(t)
			fill(t, log, 5)
			old := signedHead(t, log)
			fill(t, log, 5)
			newest := signedHead(t, log)
			replaceTail(t, log, db, 7)
			// The older head still matches: the log is intact up to entry 5, and that is all it proves.
			rep, err := log.Verify(context.Background(), old)
			if err != nil || rep.Checkpoint != old.Head() {
				t.Fatalf("Verify(old head) = %+v, %v", rep, err)
			}
			expect(t, findings(t, log, newest), 10, security.TamperModified)
		}},
	}
}

// cancelAttacks pass cancellation off as something else: a denial, a tampered log, a bad
// signature. Each must come back as the context's error, and only that.
func cancelAttacks() []attack {
	isCancel := func(t *testing.T, err error, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("err = %v, want %v", err, want)
		}
		for _, s := range []error{security.ErrDenied, security.ErrAudit, security.ErrTampered, security.ErrSignature, security.ErrCheckpoint} {
			if errors.Is(err, s) {
				t.Fatalf("cancellation reported as %v: %v", s, err)
			}
		}
	}
	// crossing cancels ctx (before Cross, or inside the provenance check) and checks the error
	// and how many entries (refusals) the audit log holds afterwards.
	crossing := func(check security.ProvenanceFunc, cancelFirst bool, want error, entries int) func(t *testing.T) {
		return func(t *testing.T) {
			log, _ := openAudit(t)
			var ctx context.Context
			var cancel context.CancelFunc
			if want == context.DeadlineExceeded {
				ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			} else {
				ctx, cancel = context.WithCancel(context.Background())
			}
			defer cancel()
			ctx = security.NewContext(ctx, verified())
			bs := defaults(t, log, security.WithProvenance("web5.signature", func(ctx context.Context, c security.Crossing) error {
				cancel()
				return check(ctx, c)
			}))
			if cancelFirst {
				cancel()
			}
			out, err := bs.Cross(ctx, "web5", "bitcoin", security.ActionSendPayment, without(payment(), "risk_score"))
			if out != nil {
				t.Fatalf("data crossed: %v", out)
			}
			isCancel(t, err, want)
			es, err := log.Entries(context.Background(), 1, 10)
			if err != nil || len(es) != entries {
				t.Fatalf("audit log holds %d entries, want %d: %+v %v", len(es), entries, es, err)
			}
			for _, e := range es {
				if e.Decision != security.DecisionDeny || strings.Contains(e.Reason, "context") {
					t.Fatalf("audit entry %+v", e)
				}
			}
		}
	}
	ok := func(context.Context, security.Crossing) error { return nil }
	return []attack{
		{"context cancelled before the crossing", crossing(ok, true, context.Canceled, 0)},
		{"deadline passed before the crossing", crossing(ok, true, context.DeadlineExceeded, 0)},
		{"context cancelled before the crossing is audited", crossing(ok, false, context.Canceled, 0)},
		{"context cancelled during the provenance check", crossing(func(ctx context.Context, _ security.Crossing) error { return ctx.Err() }, false, context.Canceled, 0)},
		// The refusal is still recorded: cancelling must not hide an attempt from the audit.
		{"context cancelled while a refusal is audited", crossing(func(context.Context, security.Crossing) error {
			return errors.New("attachment signature does not verify")
		}, false, context.Canceled, 1)},
		{"Verify with a cancelled context", func(t *testing.T) {
			log, _ := openAudit(t)
			fill(t, log, 3)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			rep, err := log.Verify(ctx)
			if rep != nil {
				t.Fatalf("report %+v from a cancelled Verify", rep)
			}
			isCancel(t, err, context.Canceled)
		}},
		{"ParseSignedHead with a cancelled context", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := security.ParseSignedHead(ctx, token(hostKey, goodHeader, goodPayload), hostVerifier(t))
			isCancel(t, err, context.Canceled)
		}},
		{"Checkpoint with a cancelled context", func(t *testing.T) {
			log, _ := openAudit(t, security.WithCheckpointSigner(hostSigner(t)))
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := log.Checkpoint(ctx)
			isCancel(t, err, context.Canceled)
		}},
	}
}
