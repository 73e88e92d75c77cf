package security_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/bus/bustest"
	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/security"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const alice = "did:key:z6MkAlice"

func verified() *security.Context {
	return &security.Context{Principal: alice, Scopes: []string{"payments:send"}, Origin: "test",
		Credentials: []security.Credential{{ID: "urn:vc:1", Types: []string{"VerifiableCredential", "AddressOwnership"},
			Issuer: "did:web:issuer.example", Subject: alice, IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour),
			Claims: map[string]any{"address": "bcrt1qsender"}}}}
}

func openAudit(t *testing.T, opts ...security.Option) (*security.AuditLog, *sql.DB) {
	t.Helper()
	db, err := sqlitex.Open(context.Background(), filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	opts = append([]security.Option{security.WithClock(func() time.Time { return now })}, opts...)
	log, err := security.NewAuditLog(context.Background(), db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	return log, db
}

var redactionKey = []byte("0123456789abcdef0123456789abcdef")

func defaults(t *testing.T, log *security.AuditLog, opts ...security.Option) *security.Boundaries {
	t.Helper()
	opts = append([]security.Option{security.WithAudit(log), security.WithRedactionKey(redactionKey),
		security.WithClock(func() time.Time { return now })}, opts...)
	bs, err := security.New(security.DefaultBoundaries(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func payment() map[string]any {
	return map[string]any{"payment_id": "pay-1", "from_address": "bcrt1qsender", "to_address": "bcrt1qrecipient",
		"amount_sat": 50_000, "risk_score": 0.2}
}

func TestContext(t *testing.T) {
	for s, want := range map[string]bool{
		alice: true, "did:web:example.com": true, "did:key:": false, "did::x": false, "did:KEY:x": false,
		"did:key:a b": false, "key:z6Mk": false, "": false,
	} {
		if got := security.IsDID(s); got != want {
			t.Errorf("IsDID(%q) = %v", s, got)
		}
	}
	sc := verified()
	if !sc.IdentityVerified(now) {
		t.Fatal("verified context not verified")
	}
	if sc.IdentityVerified(now.Add(2 * time.Hour)) {
		t.Error("expired credential still verifies")
	}
	if sc.IdentityVerified(now.Add(-2 * time.Hour)) {
		t.Error("credential verifies before it was issued")
	}
	other := verified()
	other.Credentials[0].Subject = "did:key:z6MkMallory"
	if other.IdentityVerified(now) {
		t.Error("a credential for someone else verifies the principal")
	}
	var none *security.Context
	if none.IdentityVerified(now) || none.HasScope("x") {
		t.Error("nil context has authority")
	}
	ctx := security.NewContext(context.Background(), sc)
	if got, ok := security.FromContext(ctx); !ok || got != sc {
		t.Error("FromContext lost the context")
	}
	if _, ok := security.FromContext(context.Background()); ok {
		t.Error("FromContext found a context in an empty one")
	}
}

func denied(t *testing.T, err error, sentinel error, rule string) *security.DeniedError {
	t.Helper()
	var de *security.DeniedError
	if !errors.As(err, &de) || !errors.Is(err, security.ErrDenied) || !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want a *DeniedError wrapping %v", err, sentinel)
	}
	if !strings.HasPrefix(de.Rule, rule) {
		t.Fatalf("rule %q, want %q", de.Rule, rule)
	}
	return de
}

func with(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }
func without(m map[string]any, k string) map[string]any     { delete(m, k); return m }

func TestAllowedCrossingIsRedactedAndAudited(t *testing.T) {
	log, _ := openAudit(t)
	b, _ := bus.New()
	defer b.Close()
	rec := bustest.Record[security.Decision](t, b, "security.crossing.*")
	bs := defaults(t, log, security.WithBus(b))
	ctx := security.NewContext(context.Background(), verified())
	in := map[string]any{"amount_sat": 50_000, "recipient_address": "bcrt1qrecipient", "verification_score": 0.9, "sender_did": alice}
	out, err := bs.Cross(ctx, "web5", "ml", security.ActionAssessRisk, in)
	if err != nil {
		t.Fatal(err)
	}
	pseudo, _ := out["sender_did"].(string)
	if !strings.HasPrefix(pseudo, "hmac-sha256:") || strings.Contains(pseudo, "Alice") {
		t.Fatalf("sender_did crossed as %q", out["sender_did"])
	}
	if in["sender_did"] != alice {
		t.Fatal("Cross changed its caller's data")
	}
	if out["amount_sat"] != int64(50_000) || out["verification_score"] != 0.9 {
		t.Fatalf("out %v", out)
	}
	again, _ := bs.Cross(ctx, "web5", "ml", security.ActionAssessRisk, in)
	if again["sender_did"] != pseudo {
		t.Fatal("the pseudonym is not stable")
	}
	// The payment path: verified identity, ML risk data, a payment action.
	if _, err := bs.Cross(ctx, "ml", "bitcoin", security.ActionSendPayment, payment()); err != nil {
		t.Fatal(err)
	}
	entries, _ := log.Entries(context.Background(), 1, 10)
	if len(entries) != 3 || entries[0].Decision != security.DecisionAllow || entries[0].Principal != alice || !strings.HasPrefix(entries[0].DataHash, "sha256:") {
		t.Fatalf("audit %+v", entries)
	}
	for _, e := range entries {
		if strings.Contains(e.Reason+e.DataHash, "Alice") {
			t.Fatal("the audit log holds personal data")
		}
	}
	ds := rec.WaitFor(t, 3)
	if !ds[2].Payload.Allowed || ds[2].Payload.To != security.Bitcoin || ds[2].Topic != security.TopicCrossingAllowed {
		t.Fatalf("decision %+v", ds[2])
	}
	// Same protocol is not a crossing.
	same := map[string]any{"x": 1}
	if out, err := bs.Cross(ctx, "ml", "ml", "x", same); err != nil || out["x"] != 1 {
		t.Fatalf("same-protocol: %v %v", out, err)
	}
}

func TestPoliciesInCEL(t *testing.T) {
	cfg := []byte(`[
	  {"from": "ml", "to": "bitcoin", "actions": ["bitcoin.send_payment"], "payment_actions": ["bitcoin.send_payment"],
	   "fields": {"amount_sat": {"type": "integer", "required": true}, "risk_score": {"type": "number"}},
	   "outbound": [{"name": "risk-bounded", "expr": "data.risk_score < 0.7", "message": "risk too high"}],
	   "inbound": [
	     {"name": "cap", "expr": "data.amount_sat <= 1000000 || 'payments:large' in scopes", "message": "amount over the cap"},
	     {"name": "scope", "expr": "'payments:send' in scopes && verified"},
	     {"name": "issuer", "expr": "credentials.exists(c, c.issuer == 'did:web:issuer.example' && c.valid)"}
	   ]},
	  {"from": "web5", "to": "ml", "allow_unknown": true,
	   "outbound": [{"name": "burn", "expr": "data.items.map(x, data.items.map(y, x * y)).size() > 0"}]}
	]`)
	bounds, err := security.ParseBoundaries(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := openAudit(t)
	bs, err := security.New(bounds, security.WithAudit(log), security.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := security.NewContext(context.Background(), verified())
	if _, err := bs.Cross(ctx, "ml", "bitcoin", security.ActionSendPayment, map[string]any{"amount_sat": 1000, "risk_score": 0.1}); err != nil {
		t.Fatal(err)
	}
	de := denied(t, second(bs.Cross(ctx, "ml", "bitcoin", security.ActionSendPayment, map[string]any{"amount_sat": 1000, "risk_score": 0.9})), security.ErrPolicy, "policy:risk-bounded")
	if de.Reason != "risk too high" {
		t.Errorf("reason %q", de.Reason)
	}
	denied(t, second(bs.Cross(ctx, "ml", "bitcoin", security.ActionSendPayment, map[string]any{"amount_sat": 5_000_000, "risk_score": 0.1})), security.ErrPolicy, "policy:cap")
	noScope := verified()
	noScope.Scopes = nil
	denied(t, second(bs.Cross(security.NewContext(context.Background(), noScope), "ml", "bitcoin", security.ActionSendPayment, map[string]any{"amount_sat": 1, "risk_score": 0.1})), security.ErrPolicy, "policy:scope")
	otherIssuer := verified()
	otherIssuer.Credentials[0].Issuer = "did:web:mallory.example"
	denied(t, second(bs.Cross(security.NewContext(context.Background(), otherIssuer), "ml", "bitcoin", security.ActionSendPayment, map[string]any{"amount_sat": 1, "risk_score": 0.1})), security.ErrPolicy, "policy:issuer")
	// Missing data makes the policy fail to evaluate: denied, not allowed.
	denied(t, second(bs.Cross(ctx, "ml", "bitcoin", security.ActionSendPayment, map[string]any{"amount_sat": 1})), security.ErrPolicy, "policy:risk-bounded")
	// The cost limit stops an expensive policy: denied.
	items := make([]any, 300)
	for i := range items {
		items[i] = i
	}
	de = denied(t, second(bs.Cross(ctx, "web5", "ml", "x", map[string]any{"items": items})), security.ErrPolicy, "policy:burn")
	if !strings.Contains(de.Reason, "cost limit") {
		t.Errorf("reason %q", de.Reason)
	}
	if _, err := bs.Cross(ctx, "web5", "ml", "x", map[string]any{"items": []any{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := log.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestProvenance(t *testing.T) {
	log, _ := openAudit(t)
	var seen security.Crossing
	bs := defaults(t, log, security.WithProvenance("web5.signature", func(ctx context.Context, c security.Crossing) error {
		seen = c
		att, _ := c.Data["attachment"].(map[string]any)
		if att["signature"] != "valid" {
			return errors.New("attachment signature does not verify")
		}
		return nil
	}))
	ctx := security.NewContext(context.Background(), verified())
	data := without(payment(), "risk_score")
	data["attachment"] = map[string]any{"record": "r1", "signature": "forged"}
	de := denied(t, second(bs.Cross(ctx, "web5", "bitcoin", security.ActionSendPayment, data)), security.ErrProvenance, "provenance")
	if !strings.Contains(de.Reason, "does not verify") || seen.From != security.Web5 || seen.Action != security.ActionSendPayment {
		t.Fatalf("%v %+v", de, seen)
	}
	data["attachment"] = map[string]any{"record": "r1", "signature": "valid"}
	if _, err := bs.Cross(ctx, "web5", "bitcoin", security.ActionSendPayment, data); err != nil {
		t.Fatal(err)
	}
}

func TestUnauditableCrossingIsRefused(t *testing.T) {
	log, _ := openAudit(t)
	bs := defaults(t, log)
	_ = log.Close()
	ctx := security.NewContext(context.Background(), verified())
	denied(t, second(bs.Cross(ctx, "ml", "bitcoin", security.ActionSendPayment, payment())), security.ErrAudit, "audit")
	de := denied(t, second(bs.Cross(ctx, "ml", "bitcoin", security.ActionSendPayment, with(payment(), "approved", true))), security.ErrPrivilege, "privilege")
	if !strings.Contains(de.Reason, "could not be audited") {
		t.Errorf("reason %q", de.Reason)
	}
}

func TestConfigurationErrors(t *testing.T) {
	bad := map[string]string{
		"unknown key":            `[{"from": "ml", "to": "web5", "colour": 1}]`,
		"same protocol":          `[{"from": "ml", "to": "ml"}]`,
		"into bitcoin, any act":  `[{"from": "ml", "to": "bitcoin"}]`,
		"payment action unknown": `[{"from": "ml", "to": "bitcoin", "actions": ["a"], "payment_actions": ["b"]}]`,
		"bad type":               `[{"from": "ml", "to": "web5", "fields": {"x": {"type": "date"}}}]`,
		"bad redaction":          `[{"from": "ml", "to": "web5", "fields": {"x": {"type": "string", "redact": "blur"}}}]`,
		"required and removed":   `[{"from": "ml", "to": "web5", "fields": {"x": {"type": "string", "required": true, "redact": "remove"}}}]`,
		"nameless policy":        `[{"from": "ml", "to": "web5", "inbound": [{"expr": "true"}]}]`,
		"trailing data":          `[] []`,
		"not a list":             `{"from": "ml"}`,
	}
	for name, src := range bad {
		if _, err := security.ParseBoundaries([]byte(src)); !errors.Is(err, security.ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	newErr := map[string][]security.Boundary{
		"twice":        {{From: "ml", To: "web5"}, {From: "ml", To: "web5"}},
		"cel syntax":   {{From: "ml", To: "web5", Inbound: []security.Policy{{Name: "p", Expr: "data.x >"}}}},
		"cel type":     {{From: "ml", To: "web5", Inbound: []security.Policy{{Name: "p", Expr: "data.x + 1"}}}},
		"cel unknown":  {{From: "ml", To: "web5", Outbound: []security.Policy{{Name: "p", Expr: "secret == 1"}}}},
		"hash w/o key": {{From: "ml", To: "web5", Fields: map[string]security.Field{"x": {Type: "string", Redact: "hash"}}}},
	}
	for name, bs := range newErr {
		if _, err := security.New(bs); !errors.Is(err, security.ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, o := range []security.Option{security.WithAudit(nil), security.WithBus(nil), security.WithLogger(nil), security.WithClock(nil),
		security.WithProvenance("", nil), security.WithRedactionKey([]byte("short")), security.WithCostLimit(0)} {
		if _, err := security.New(nil, o); !errors.Is(err, security.ErrInvalidOption) {
			t.Errorf("option: %v", err)
		}
	}
	if _, err := security.ParseBoundaries([]byte(strings.Repeat(" ", security.MaxConfigBytes+1))); !errors.Is(err, security.ErrInvalidConfig) {
		t.Error("oversized configuration accepted")
	}
}
