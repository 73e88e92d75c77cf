package bridge_test

import (
	"context"
	"fmt"

	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

// A user installs the bridges' protocol and grants the host access; the host then keeps a
// record in the user's store without the user's keys.
func Example() {
	ctx := context.Background()
	host, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	user, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	resolver, _ := did.NewResolver(did.WithMethods(didkey.New()))
	node, _ := dwn.New(resolver)
	defer node.Close()

	grants, err := bridge.Setup(ctx, node, user, host.String(), 0, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	var book bridge.GrantBook
	book.Add(user.String(), grants)
	records, _ := bridge.NewRecords(node, host, bridge.WithGrants(book.Lookup))

	rec, err := records.Create(ctx, user.String(), bridge.PathTx, map[string]string{"txid": "ab12"})
	if err != nil {
		fmt.Println(err)
		return
	}
	list, _ := records.Query(ctx, user.String(), bridge.PathTx, dwn.Filter{})
	fmt.Println(len(list), list[0].ID == rec.ID, list[0].Author == host.String(), string(list[0].Data))
	// Output: 1 true true {"txid":"ab12"}
}
