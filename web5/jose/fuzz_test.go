package jose

import (
	"encoding/json"
	"testing"

	"github.com/anya-org/anya-go/web5/internal/jsonoracle"
)

func FuzzParseJWS(f *testing.F) {
	f.Add("eyJhbGciOiJFZERTQSJ9.e30.AAAA")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("eyJhbGciOiJFZERTQSIsImNyaXQiOlsiYjY0Il19..AA")
	f.Add("..")
	f.Add("a.b.c.d")
	f.Add("eyJhbGciOiJFZERTQSIsImtpZCI6ImEiLCJLSUQiOiJiIn0.e30.AAAA") // kid and KID
	f.Add("eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSIsImtpZCI6ImRpZDprZXk6ejZNa3MyMjNwUVd5TTc5ZGVkTEtYdkJLQ3RKUUJWQzdXdDFzeXVtOHlxZmV1THd6I3o2TWtzMjIzcFFXeU03OWRlZExLWHZCS0N0SlFCVkM3V3Qxc3l1bTh5cWZldUx3eiJ9.eyJ2YyI6e319.KiUUJ77TKjIIDmeeqh34m-xiIPozNna58qI68a5oVlEENJQS3C3xvSyoJVtGmJBcvtmaVD7VB6V9sMFZxBC6BQ")
	pub := JWK{KeyType: KeyTypeOKP, Curve: Ed25519, X: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
	f.Fuzz(func(t *testing.T, tok string) {
		j, err := ParseJWS(tok)
		if err != nil {
			if j != nil {
				t.Fatal("result with error")
			}
			return
		}
		if j.Header.Algorithm == "" {
			t.Fatal("parsed a header without alg")
		}
		// One reading: no name twice in any letter case, and encoding/json's reading of
		// kid agrees with the parser's.
		if name, prev, dup := jsonoracle.FoldDuplicate(j.RawHeader()); dup {
			t.Fatalf("header with %q and %q parsed", prev, name)
		}
		if kid, ok := jsonoracle.Member(j.RawHeader(), "kid"); ok && kid != j.Header.KeyID {
			t.Fatalf("encoding/json reads kid %v, the parser %q", kid, j.Header.KeyID)
		}
		_ = j.Verify(pub)
	})
}

func FuzzParseJWT(f *testing.F) {
	f.Add("eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ4IiwiZXhwIjoxfQ.AAAA")
	f.Add("eyJhbGciOiJFZERTQSJ9.eyJhdWQiOlsiYSIsImIiXX0.AAAA")
	f.Add("eyJhbGciOiJFZERTQSJ9.W10.AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		j, err := ParseJWT(tok)
		if err != nil {
			return
		}
		_ = j.Claims.Validate()
		if _, err := json.Marshal(j.Claims); err != nil {
			t.Fatalf("claims do not marshal back: %v", err)
		}
	})
}

func FuzzParseJWK(f *testing.F) {
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`))
	f.Add([]byte(`{"kty":"EC","crv":"secp256k1","x":"npaD6WyM4AZIxwPmieND_gdnYuROitnyDfskXwpv-J0","y":"y5_uOFRRNOCWAJPD-Ly1ENJd908lWJ0-0KGnTwxWzNM"}`))
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","d":"AAAA"}`))
	f.Add([]byte(`{"kty":"EC","crv":"P-384","x":"lInTxl8fjLKp_UCrxI0WDklahi-7-_6JbtiHjiRvMvhedhKVdHBfi2HCY8t_QJyc","y":"y6N1IC-2mXxHreETBW7K3mBcw0qGr3CWHCs-yl09yCQRLcyfGv7XhqAngHOu51Zv"}`))
	f.Add([]byte(`{"kty":"EC","crv":"P-521","x":"ASUHPMyichQ0QbHZ9ofNx_l4y7luncn5feKLo3OpJ2nSbZoC7mffolj5uy7s6KSKXFmnNWxGJ42IOrjZ47qqwqyS","y":"AW9ziIC4ZQQVSNmLlp59yYKrjRY0_VqO-GOIYQ9tYpPraBKUloEId6cI_vynCzlZWZtWpgOM3HPhYEgawQ703RjC"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseJWK(data)
		if err != nil {
			return
		}
		if _, err := k.Thumbprint(); err != nil {
			t.Fatalf("valid key without thumbprint: %v", err)
		}
		if _, err := k.PublicKeyBytes(); err != nil {
			t.Fatalf("valid key without public bytes: %v", err)
		}
	})
}
