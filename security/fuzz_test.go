package security_test

import (
	"context"
	"encoding/json"
	"errors"
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
