package didpkh

import (
	"context"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didtest"
)

func regtestAddress(t *testing.T) string {
	t.Helper()
	a, err := btcutil.NewAddressWitnessPubKeyHash(make([]byte, 20), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

func TestChains(t *testing.T) {
	for c, want := range map[Chain]string{
		Mainnet:  "000000000019d6689c085ae165831e93",
		Testnet3: "000000000933ea01ad0ee984209779ba",
		Regtest:  "0f9188f13cb7b2c71f2a335e3a4fc328",
		Simnet:   "683e86bd5c6d110d91b94b97137ba6bf",
	} {
		if string(c) != want {
			t.Errorf("chain %s, want %s", c, want)
		}
	}
}

func TestConformance(t *testing.T) {
	rt, err := FromAddress(Regtest, regtestAddress(t))
	if err != nil {
		t.Fatal(err)
	}
	didtest.Run(t, didtest.Harness{
		Method: New(),
		Existing: []string{
			"did:pkh:bip122:000000000019d6689c085ae165831e93:128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p6",
			"did:pkh:bip122:000000000019d6689c085ae165831e93:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
			"did:pkh:bip122:000000000019d6689c085ae165831e93:bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
			"did:pkh:bip122:000000000933ea01ad0ee984209779ba:tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
			rt.String(),
		},
		Invalid: []string{
			"did:pkh:bip122:000000000019d6689c085ae165831e93:tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", // testnet address on mainnet
			"did:pkh:bip122:000000000019d6689c085ae165831e93:128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p7",         // bad checksum
			"did:pkh:bip122:000000000019d6689c085ae165831e94:128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p6",         // unknown chain
			"did:pkh:bip122:000000000019d6689c085ae165831e93",                                            // no address
			"did:pkh:bip122:000000000019d6689c085ae165831e93:BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", // not the canonical form
		},
	})
}

func TestDocumentAndAccount(t *testing.T) {
	d := did.MustParse("did:pkh:bip122:000000000019d6689c085ae165831e93:128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p6")
	res, err := New().Resolve(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	vm := res.Document.VerificationMethod[0]
	if vm.ID != d.String()+"#blockchainAccountId" || vm.BlockchainAccountID != "bip122:000000000019d6689c085ae165831e93:128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p6" ||
		!res.Document.Authorizes(vm.ID, did.AssertionMethod) {
		t.Fatalf("%+v", vm)
	}
	c, addr, err := Account(d)
	if err != nil || c != Mainnet || addr != "128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p6" {
		t.Fatalf("%s %s %v", c, addr, err)
	}
	if _, err := New().Resolve(context.Background(), did.MustParse("did:pkh:eip155:1:0xb9c5714089478a327f09197987f16f9e5d936e8a")); !errors.Is(err, did.ErrMethodNotSupported) {
		t.Fatalf("eip155: %v", err)
	}
	if _, err := FromAddress(Mainnet, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"); err == nil {
		t.Fatal("testnet address accepted for mainnet")
	}
}
