package netguard_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/anya-org/anya-go/web5/netguard"
)

// A URL taken from a DID document points at the cloud metadata service: refused before a
// connection is made.
func Example() {
	c, err := netguard.New()
	if err != nil {
		panic(err)
	}
	_, err = c.Get(context.Background(), "http://169.254.169.254/latest/meta-data/", "")
	fmt.Println(errors.Is(err, netguard.ErrForbiddenAddress))
	// Output: true
}
