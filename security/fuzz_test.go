package security_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/security"
)

// FuzzParseBoundaries reads arbitrary configuration: refusals are *ConfigErrors, and what parses
// either compiles or is refused by New with a *ConfigError.
func FuzzParseBoundaries(f *testing.F) {
	def, _ := json.Marshal(security.DefaultBoundaries())
	f.Add(def)
	f.Add([]byte(`[{"from":"ml","to":"web5","inbound":[{"name":"p","expr":"data.x > 1 && 'a' in scopes"}]}]`))
	f.Add([]byte(`[{"from":"ml","to":"bitcoin","actions":["a"],"payment_actions":["a"],"fields":{"x":{"type":"integer","required":true}}}]`))
	f.Add([]byte(`[{"from":"ml","to":"web5","outbound":[{"name":"p","expr":"data.items.all(i, i.exists(j, j == i))"}]}]`))
	f.Add([]byte(`[{}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		bs, err := security.ParseBoundaries(data)
		if err != nil {
			if !errors.Is(err, security.ErrInvalidConfig) {
				t.Fatalf("ParseBoundaries: %v is not a *ConfigError", err)
			}
			return
		}
		_, err = security.New(bs, security.WithRedactionKey(redactionKey))
		if err != nil && !errors.Is(err, security.ErrInvalidConfig) {
			t.Fatalf("New: %v is not a *ConfigError", err)
		}
	})
}

// FuzzCross sends arbitrary JSON objects across every default boundary: nothing panics, refusals
// are *DeniedErrors, the sender's DID only ever crosses as a pseudonym, and nothing from ML
// carries an authorisation.
func FuzzCross(f *testing.F) {
	for _, s := range []string{
		`{"amount_sat":1,"recipient_address":"bcrt1q","verification_score":0.5,"sender_did":"did:key:z"}`,
		`{"payment_id":"p","from_address":"a","to_address":"b","amount_sat":5,"risk_score":0.1}`,
		`{"payment_id":"p","from_address":"a","to_address":"b","amount_sat":5,"risk_score":0.1,"approved":true}`,
		`{"features":{"memo":["x@y.io"]}}`, `{"features":{"n":[1,2,{"k":"+44 20 7946 0958"}]}}`, `{}`,
	} {
		f.Add([]byte(s), uint8(0))
	}
	bs, err := security.New(security.DefaultBoundaries(), security.WithRedactionKey(redactionKey),
		security.WithClock(func() time.Time { return now }),
		security.WithProvenance("web5.signature", func(context.Context, security.Crossing) error { return nil }))
	if err != nil {
		f.Fatal(err)
	}
	pairs := security.DefaultBoundaries()
	ctx := security.NewContext(context.Background(), verified())
	f.Fuzz(func(t *testing.T, raw []byte, which uint8) {
		var data map[string]any
		if json.Unmarshal(raw, &data) != nil {
			return
		}
		b := pairs[int(which)%len(pairs)]
		out, err := bs.Cross(ctx, string(b.From), string(b.To), b.Actions[0], data)
		if err != nil {
			var de *security.DeniedError
			if !errors.As(err, &de) {
				t.Fatalf("refusal %v is not a *DeniedError", err)
			}
			return
		}
		if v, ok := out["sender_did"]; ok {
			if str, _ := v.(string); len(str) < 12 || str[:12] != "hmac-sha256:" {
				t.Fatalf("sender_did crossed in clear: %v", v)
			}
		}
		if b.From == security.ML {
			for _, k := range []string{"approved", "authorize", "action"} {
				if _, ok := out[k]; ok {
					t.Fatalf("an authorisation crossed from ML: %v", out)
				}
			}
		}
	})
}

// FuzzParseSignedHead reads arbitrary tokens with a verifier that accepts every signature, so
// that the parser's strictness is what stands: refusals are *SignedHeadErrors; what parses was
// verified under the alg and kid it reports, and a second, lenient reader (encoding/json, which
// matches names case-insensitively and keeps the last duplicate) reads the same alg, kid, type
// and head — there is no parser differential to exploit. Canonical tokens signed by the host key
// come back byte for byte when re-signed.
func FuzzParseSignedHead(f *testing.F) {
	f.Add(token(hostKey, goodHeader, goodPayload))
	for _, a := range headAttacks() {
		f.Add(a.token)
	}
	f.Add(b64(`{"alg":"EdDSA","kid":"k","typ":"`+security.TypeSignedHead+`"}`) + "." + b64(`{"seq":0,"hash":"`+goodHash+`","iat":0}`) + ".AA")
	f.Fuzz(func(t *testing.T, s string) {
		var seenAlg, seenKid string
		acceptAll := security.VerifierFunc(func(_ context.Context, alg, kid string, _, sig []byte) error {
			seenAlg, seenKid = alg, kid
			return nil
		})
		sh, err := security.ParseSignedHead(context.Background(), s, acceptAll)
		if err != nil {
			var she *security.SignedHeadError
			if !errors.As(err, &she) || !(errors.Is(err, security.ErrInvalidSignedHead) || errors.Is(err, security.ErrSignature)) {
				t.Fatalf("refusal %v is not a *SignedHeadError", err)
			}
			return
		}
		if sh.Algorithm() != seenAlg || sh.KeyID() != seenKid || sh.String() != s {
			t.Fatalf("verified alg %q kid %q, returned %q %q", seenAlg, seenKid, sh.Algorithm(), sh.KeyID())
		}
		parts := strings.Split(s, ".")
		hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
		pay, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var h struct{ Alg, Kid, Typ string }
		var p struct {
			Seq  uint64
			Hash string
			Iat  int64
		}
		if json.Unmarshal(hdr, &h) != nil || json.Unmarshal(pay, &p) != nil {
			t.Fatalf("encoding/json cannot read what parsed: %q %q", hdr, pay)
		}
		head := sh.Head()
		if h.Alg != sh.Algorithm() || h.Kid != sh.KeyID() || h.Typ != security.TypeSignedHead ||
			p.Seq != head.Seq || p.Hash != hex.EncodeToString(head.Hash[:]) || p.Iat != sh.IssuedAt().Unix() {
			t.Fatalf("a lenient reader sees %+v %+v, the parser %+v", h, p, sh)
		}
		canonical := fmt.Sprintf(`{"seq":%d,"hash":"%x","iat":%d}`, head.Seq, head.Hash, sh.IssuedAt().Unix())
		if string(hdr) == goodHeader && string(pay) == canonical {
			if _, err := security.ParseSignedHead(context.Background(), s, hostVerifier(t)); err == nil {
				again, err := security.SignHead(context.Background(), head, sh.IssuedAt(), hostSigner(t))
				if err != nil || again.String() != s {
					t.Fatalf("re-signed %v (%v), parsed %s", again, err, s)
				}
			}
		}
	})
}

// FuzzParseHead reads arbitrary head strings: refusals wrap ErrInvalidHead, and what parses
// formats back to the same string.
func FuzzParseHead(f *testing.F) {
	f.Add("7:" + goodHash)
	f.Add("0:" + strings.Repeat("0", 64))
	f.Add("-1:" + goodHash)
	f.Add("9223372036854775808:" + goodHash)
	f.Fuzz(func(t *testing.T, s string) {
		h, err := security.ParseHead(s)
		if err != nil {
			if !errors.Is(err, security.ErrInvalidHead) {
				t.Fatalf("refusal %v does not wrap ErrInvalidHead", err)
			}
			return
		}
		if h.String() != s {
			t.Fatalf("ParseHead(%q).String() = %q", s, h.String())
		}
	})
}
