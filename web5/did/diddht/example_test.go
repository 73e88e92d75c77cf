package diddht_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/jose"
)

// Create a did:dht, publish it to an in-process gateway and resolve it back.
func Example() {
	ctx := context.Background()
	gateway, _ := diddht.NewGateway()
	srv := httptest.NewServer(gateway)
	defer srv.Close()
	client, _ := diddht.NewClient(srv.URL, diddht.WithHTTPClient(srv.Client()))

	alice, _ := diddht.Create(ctx, jose.NewMemoryKeyManager(),
		diddht.WithKey(jose.Secp256k1, "sig", did.AssertionMethod),
		diddht.WithService("dwn", "DecentralizedWebNode", "https://dwn.example.com"),
		diddht.WithTypes(1))
	if err := client.Publish(ctx, alice); err != nil {
		fmt.Println(err)
		return
	}

	resolver, _ := did.NewResolver(did.WithMethods(client))
	res, _ := resolver.Resolve(ctx, alice.String())
	for _, vm := range res.Document.VerificationMethod {
		fmt.Println(vm.ID[len(alice.String()):], vm.PublicKeyJwk.Curve)
	}
	fmt.Println(res.Document.Service[0].Endpoints(), res.DocumentMetadata.Types)
	// Output:
	// #0 Ed25519
	// #sig secp256k1
	// [https://dwn.example.com] [1]
}

// The DNS records of the specification's vector 1.
func ExamplePacket_Records() {
	identity := jose.JWK{KeyType: "OKP", Curve: jose.Ed25519, X: "YCcHYL2sYNPDlKaALcEmll2HHyT968M4UWbr-9CFGWE"}
	doc, _ := diddht.NewDocument(identity)
	recs, _ := (&diddht.Packet{Document: doc}).Records()
	for _, r := range recs {
		fmt.Println(r.Name, r.Type, r.TTL, r.Data[0])
	}
	// Output:
	// _did.cyuoqaf7itop8ohww4yn5ojg13qaq83r9zihgqntc5i9zwrfdfoo. TXT 7200 v=0;vm=k0;auth=k0;asm=k0;inv=k0;del=k0
	// _k0._did. TXT 7200 t=0;k=YCcHYL2sYNPDlKaALcEmll2HHyT968M4UWbr-9CFGWE
}
