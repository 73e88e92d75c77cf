package multikey_test

import (
	"fmt"

	"github.com/anya-org/anya-go/web5/internal/multikey"
)

func ExampleJWK() {
	k, _ := multikey.JWK("z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY")
	fmt.Println(k.Curve, k.X)
	back, _ := multikey.FromJWK(k)
	fmt.Println(back)
	// Output:
	// Ed25519 DzpSEyU0w1Myn3lA_piHAI6OrFAnZuEsTwMUPCTwMc8
	// z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY
}
