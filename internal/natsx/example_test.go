package natsx_test

import (
	"fmt"
	"time"

	"github.com/anya-org/anya-go/internal/natsx"
)

func ExampleEscapeKey() {
	for _, k := range []string{"bitcoin/utxo", "web5/did:dht:x", "a.b", "="} {
		fmt.Println(natsx.EscapeKey(k))
	}
	fmt.Println(natsx.RoundTTL(1500 * time.Millisecond))
	// Output:
	// bitcoin/utxo
	// web5/did=3Adht=3Ax
	// a=2Eb
	// =3D
	// 2s
}
