package didpkh_test

import (
	"fmt"

	"github.com/anya-org/anya-go/web5/did/didpkh"
)

// Name a Bitcoin address as a DID.
func ExampleFromAddress() {
	d, _ := didpkh.FromAddress(didpkh.Mainnet, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")
	fmt.Println(d)
	chain, addr, _ := didpkh.Account(d)
	fmt.Println(chain == didpkh.Mainnet, addr)
	// Output:
	// did:pkh:bip122:000000000019d6689c085ae165831e93:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq
	// true bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq
}
