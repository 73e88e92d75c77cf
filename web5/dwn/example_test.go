package dwn_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

// Alice writes a note into her own tenant and queries it back.
func Example() {
	ctx := context.Background()
	alice, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	resolver, _ := did.NewResolver(did.WithMethods(didkey.New()))
	node, _ := dwn.New(resolver)
	defer node.Close()

	tenant := alice.String()
	write, _ := dwn.NewWrite(ctx, alice, tenant, dwn.Write{
		Schema: "https://schema.org/Note", DataFormat: "text/plain", Data: []byte("buy milk"),
	})
	if _, err := node.Process(ctx, tenant, write); err != nil {
		fmt.Println(err)
		return
	}

	query, _ := dwn.NewQuery(ctx, alice, tenant, dwn.Query{Filter: dwn.Filter{Schema: "https://schema.org/Note"}})
	reply, err := node.Process(ctx, tenant, query)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range reply.Records {
		fmt.Println(r.ID == write.RecordID(), r.DataFormat, string(r.Data))
	}
	// Output: true text/plain buy milk
}

// A protocol lets other DIDs write into a tenant under rules; anything else is refused.
func ExampleProtocol() {
	ctx := context.Background()
	alice, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	bob, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	resolver, _ := did.NewResolver(did.WithMethods(didkey.New()))
	node, _ := dwn.New(resolver)
	defer node.Close()
	tenant := alice.String()

	def, _ := dwn.ParseProtocol([]byte(`{
		"protocol": "https://example.com/inbox",
		"published": true,
		"types": {"letter": {"dataFormats": ["text/plain"]}},
		"structure": {"letter": {"$actions": [{"who": "anyone", "can": ["create"]}]}}
	}`))
	install, _ := dwn.NewProtocolsConfigure(ctx, alice, tenant, def)
	_, err := node.Process(ctx, tenant, install)
	fmt.Println("installed:", err == nil)

	letter, _ := dwn.NewWrite(ctx, bob, tenant, dwn.Write{
		Protocol: "https://example.com/inbox", ProtocolPath: "letter", DataFormat: "text/plain",
		Recipient: tenant, Data: []byte("hi Alice"),
	})
	_, err = node.Process(ctx, tenant, letter)
	fmt.Println("bob writes a letter:", err == nil)

	note, _ := dwn.NewWrite(ctx, bob, tenant, dwn.Write{DataFormat: "text/plain", Data: []byte("not a letter")})
	_, err = node.Process(ctx, tenant, note)
	fmt.Println("bob writes outside the protocol:", errors.Is(err, dwn.ErrForbidden))
	// Output:
	// installed: true
	// bob writes a letter: true
	// bob writes outside the protocol: true
}

// A batch of writes is stored in one step, or not at all: here Bob's write into Alice's tenant
// (no rule or grant lets him) refuses the whole batch, and the batch without it is stored.
func ExampleNode_ProcessMany() {
	ctx := context.Background()
	alice, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	bob, _ := didkey.Create(ctx, jose.NewMemoryKeyManager(), jose.Ed25519)
	resolver, _ := did.NewResolver(did.WithMethods(didkey.New()))
	node, _ := dwn.New(resolver)
	defer node.Close()
	tenant := alice.String()

	var batch []dwn.Envelope
	for _, utxo := range []string{"txid-1:0", "txid-2:1"} {
		m, _ := dwn.NewWrite(ctx, alice, tenant, dwn.Write{DataFormat: "text/plain", Data: []byte(utxo)})
		batch = append(batch, dwn.Envelope{Tenant: tenant, Message: m})
	}
	intruder, _ := dwn.NewWrite(ctx, bob, tenant, dwn.Write{DataFormat: "text/plain", Data: []byte("bob's")})

	_, err := node.ProcessMany(ctx, append(batch, dwn.Envelope{Tenant: tenant, Message: intruder}))
	var refused *dwn.BatchError
	fmt.Println("refused:", errors.As(err, &refused), refused.Index, errors.Is(err, dwn.ErrForbidden))

	replies, err := node.ProcessMany(ctx, batch)
	fmt.Println("stored:", err == nil, len(replies), string(replies[1].Record.Data))
	// Output:
	// refused: true 2 true
	// stored: true 2 txid-2:1
}
