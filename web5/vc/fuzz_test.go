package vc

import (
	"encoding/json"
	"testing"

	"github.com/anya-org/anya-go/web5/internal/vectors"
)

func FuzzDecode(f *testing.F) {
	for _, path := range []string{"testdata/web5-spec/vc_jwt/decode.json", "testdata/web5-spec/vc_jwt/verify.json"} {
		file := vectors.Load(f, path)
		for _, v := range file.Vectors {
			var s string
			if json.Unmarshal(v.Input, &s) == nil {
				f.Add(s)
			}
		}
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := Decode(tok)
		if err != nil {
			return
		}
		// A decoded credential is valid and survives a JSON round trip.
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseCredential(b); err != nil {
			t.Fatalf("decoded credential does not re-parse: %v\n%s", err, b)
		}
	})
}

func FuzzParseCredential(f *testing.F) {
	file := vectors.Load(f, "testdata/web5-spec/credentials/create.json")
	for _, v := range file.Vectors {
		var in struct {
			Credential json.RawMessage `json:"credential"`
		}
		if json.Unmarshal(v.Input, &in) == nil {
			f.Add([]byte(in.Credential))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCredential(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := ParseCredential(b)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, b)
		}
		b2, _ := json.Marshal(c2)
		if string(b) != string(b2) {
			t.Fatalf("unstable:\n%s\n%s", b, b2)
		}
	})
}
