package didkey

import (
	"errors"
	"testing"

	"github.com/anya-org/anya-go/web5/did"
)

// FuzzExpand feeds arbitrary method-specific ids to the document creation algorithm: it
// refuses them with a resolution error or builds a valid document whose key encodes back
// to the same DID, and whose derived key agreement key (for Ed25519) is a valid X25519 key.
func FuzzExpand(f *testing.F) {
	for _, id := range []string{
		"z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY",
		"zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
		"zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
		"z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9",
		"z2J9gaYxrKVpdoG9A4gRnmpnRCcxU6agDtFVVBVdn1JedouoZN7SzcyREXXzWgt3gGiwpoHq7K68X4m32D8HgzG8wv3sY5j7",
		"z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F",
		"z3tE9wVuJwDuJe4JdNGiSJgHjzxcN81hYjpub3YRabQca8HuDNYafHADL2iwhJZkW6wgcf",
		"z", "zz", "abc",
	} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		d := did.DID{Method: Method, ID: id}
		doc, err := Expand(d)
		if err != nil {
			var re *did.ResolutionError
			if !errors.As(err, &re) {
				t.Fatalf("%q: %v is not a resolution error", id, err)
			}
			return
		}
		if err := doc.Validate(); err != nil {
			t.Fatalf("%q: invalid document: %v", id, err)
		}
		back, err := FromPublicKey(*doc.VerificationMethod[0].PublicKeyJwk)
		if err != nil || back != d {
			t.Fatalf("%q: the key encodes to %s (%v)", id, back, err)
		}
		for _, vm := range doc.VerificationMethod {
			if err := vm.PublicKeyJwk.Validate(); err != nil {
				t.Fatalf("%q: method %s: %v", id, vm.ID, err)
			}
		}
	})
}
