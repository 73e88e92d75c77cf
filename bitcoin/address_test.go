package bitcoin

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
)

func testKey(t testing.TB, seed byte) *btcec.PrivateKey {
	t.Helper()
	b := make([]byte, 32)
	for i := range b {
		b[i] = seed + byte(i)
	}
	k, _ := btcec.PrivKeyFromBytes(b)
	return k
}

// TestAddressesAllNetworks builds every address type on every network, checks the
// encoding against btcutil's, parses it back, and checks that other networks reject it
// with ErrWrongNetwork unless they share the encoding.
func TestAddressesAllNetworks(t *testing.T) {
	pub := testKey(t, 1).PubKey()
	ms, err := NewSortedMultisig(2, []*btcec.PublicKey{testKey(t, 2).PubKey(), testKey(t, 3).PubKey(), pub}, Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	ws := ms.WitnessScript()
	for _, net := range Networks() {
		params := net.Params()
		cases := []struct {
			name string
			make func() (Address, error)
			ref  func() (btcutil.Address, error)
			typ  AddressType
		}{
			{"p2pkh", func() (Address, error) { return NewP2PKH(pub, net) },
				func() (btcutil.Address, error) {
					return btcutil.NewAddressPubKeyHash(btcutil.Hash160(pub.SerializeCompressed()), params)
				}, P2PKH},
			{"p2sh-p2wpkh", func() (Address, error) { return NewP2SHP2WPKH(pub, net) },
				func() (btcutil.Address, error) {
					return btcutil.NewAddressScriptHash(p2wpkhScript(btcutil.Hash160(pub.SerializeCompressed())), params)
				}, P2SH},
			{"p2wpkh", func() (Address, error) { return NewP2WPKH(pub, net) },
				func() (btcutil.Address, error) {
					return btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(pub.SerializeCompressed()), params)
				}, P2WPKH},
			{"p2wsh", func() (Address, error) { return NewP2WSH(ws, net) },
				func() (btcutil.Address, error) {
					return btcutil.NewAddressWitnessScriptHash(p2wshScript(ws)[2:], params)
				}, P2WSH},
			{"p2tr", func() (Address, error) { return NewP2TR(pub, nil, net) },
				func() (btcutil.Address, error) {
					a, err := NewP2TR(pub, nil, net)
					if err != nil {
						return nil, err
					}
					return btcutil.NewAddressTaproot(a.Program(), params)
				}, P2TR},
		}
		for _, c := range cases {
			a, err := c.make()
			if err != nil {
				t.Fatalf("%s/%s: %v", net, c.name, err)
			}
			ref, err := c.ref()
			if err != nil {
				t.Fatal(err)
			}
			if b, err := a.BtcutilAddress(); err != nil || b.EncodeAddress() != a.String() || !b.IsForNet(params) {
				t.Errorf("%s/%s: btcutil form: %v", net, c.name, err)
			}
			if a.String() != ref.EncodeAddress() {
				t.Errorf("%s/%s: %s, btcutil says %s", net, c.name, a, ref.EncodeAddress())
			}
			if a.Type() != c.typ || a.Network() != net {
				t.Errorf("%s/%s: type %s network %s", net, c.name, a.Type(), a.Network())
			}
			back, err := ParseAddress(a.String(), net)
			if err != nil || !back.Equal(a) {
				t.Errorf("%s/%s: parse back: %v", net, c.name, err)
			}
			fromScript, err := AddressFromScript(a.PkScript(), net)
			if err != nil || !fromScript.Equal(a) {
				t.Errorf("%s/%s: from script: %v", net, c.name, err)
			}
			for _, other := range Networks() {
				_, err := ParseAddress(a.String(), other)
				shared := other == net || sameEncoding(net, other, c.typ)
				switch {
				case shared && err != nil:
					t.Errorf("%s/%s parsed for %s: %v", net, c.name, other, err)
				case !shared && !errors.Is(err, ErrWrongNetwork):
					t.Errorf("%s/%s parsed for %s: %v, want ErrWrongNetwork", net, c.name, other, err)
				}
			}
		}
	}
}

// sameEncoding reports whether two networks encode addresses of type typ identically.
func sameEncoding(a, b Network, typ AddressType) bool {
	if a == Mainnet || b == Mainnet || a == Simnet || b == Simnet {
		return false // simnet has its own base58 versions and bech32 prefix
	}
	if typ == P2PKH || typ == P2SH {
		return true // testnet, signet and regtest share base58 versions
	}
	return a != Regtest && b != Regtest // bech32: tb for testnet and signet, bcrt for regtest
}

func TestParseAddressRejects(t *testing.T) {
	for _, s := range []string{
		"",
		"1",
		"bc1",
		"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", // bad base58 checksum
		"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNL",  // truncated
		// BIP-173 and BIP-350 invalid addresses
		"tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",
		"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
		"tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
		"BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
		"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
		"tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",
		"bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
		"BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
		"bc1pw5dgrnzv",
		"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
		"BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
		"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",
		"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
		"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",
		"bc1gmk9yu",
		"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", // last character changed
	} {
		a, err := ParseAddress(s, Mainnet)
		if err == nil {
			t.Errorf("%q parsed as %s", s, a)
			continue
		}
		var ae *AddressError
		if !errors.As(err, &ae) {
			t.Errorf("%q: %v is not an *AddressError", s, err)
		}
	}
	if _, err := ParseAddress("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", 0); !errors.Is(err, ErrInvalidNetwork) {
		t.Errorf("zero network: %v", err)
	}
}

// BIP-173/350 valid addresses decode to the published scripts.
func TestSegwitAddressVectors(t *testing.T) {
	for _, c := range []struct{ addr, script string }{
		{"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"},
		{"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"},
		{"bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6"},
		{"BC1SW50QGDZ25J", "6002751e"},
		{"bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"},
		{"tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"},
	} {
		a, err := DecodeAddress(c.addr)
		if err != nil {
			t.Errorf("%s: %v", c.addr, err)
			continue
		}
		if got := hex.EncodeToString(a.PkScript()); got != c.script {
			t.Errorf("%s: script %s, want %s", c.addr, got, c.script)
		}
	}
}

type bip8486 struct {
	BIP84 struct {
		Rootpriv     string `json:"rootpriv"`
		Account0Xprv string `json:"account0_xprv"`
		Addresses    []struct {
			Path, Privkey, Pubkey, Address string
		} `json:"addresses"`
	} `json:"bip84"`
	BIP86 struct {
		Rootpriv     string `json:"rootpriv"`
		Rootpub      string `json:"rootpub"`
		Account0Xprv string `json:"account0_xprv"`
		Account0Xpub string `json:"account0_xpub"`
		Addresses    []struct {
			Path         string `json:"path"`
			Xprv         string `json:"xprv"`
			Xpub         string `json:"xpub"`
			InternalKey  string `json:"internal_key"`
			OutputKey    string `json:"output_key"`
			ScriptPubKey string `json:"scriptPubKey"`
			Address      string `json:"address"`
		} `json:"addresses"`
	} `json:"bip86"`
}

func TestBIP84Vectors(t *testing.T) {
	var v bip8486
	readVector(t, "bip-0084_bip-0086_vectors.json", &v)
	root, err := ParseHDKey(v.BIP84.Rootpriv, Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := root.Derive("m/84'/0'/0'")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := acct.ExtendedPrivateKey(); got != v.BIP84.Account0Xprv {
		t.Errorf("account xprv %s", got)
	}
	for i, a := range v.BIP84.Addresses {
		steps, _, _ := ParsePath(a.Path)
		addr, key, err := root.DeriveAddress(BIP84, 0, steps[3], steps[4])
		if err != nil {
			t.Fatal(err)
		}
		if addr.String() != a.Address {
			t.Errorf("%d: address %s, want %s", i, addr, a.Address)
		}
		if got := hex.EncodeToString(key.PublicKey().SerializeCompressed()); got != a.Pubkey {
			t.Errorf("%d: pubkey %s", i, got)
		}
		priv, _ := key.PrivateKey()
		wif, _ := btcutil.NewWIF(priv, Mainnet.Params(), true)
		if wif.String() != a.Privkey {
			t.Errorf("%d: privkey %s", i, wif)
		}
		if BIP84.Path(Mainnet, 0, steps[3], steps[4]) != a.Path {
			t.Errorf("%d: path %s", i, BIP84.Path(Mainnet, 0, steps[3], steps[4]))
		}
	}
	// A zprv is a mainnet key: it does not parse for testnet.
	if _, err := ParseHDKey(v.BIP84.Rootpriv, Testnet); !errors.Is(err, ErrWrongNetwork) {
		t.Errorf("zprv for testnet: %v", err)
	}
}

func TestBIP86Vectors(t *testing.T) {
	var v bip8486
	readVector(t, "bip-0084_bip-0086_vectors.json", &v)
	root, err := ParseHDKey(v.BIP86.Rootpriv, Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	if root.ExtendedPublicKey() != v.BIP86.Rootpub || root.String() != v.BIP86.Rootpub {
		t.Errorf("root xpub %s", root.ExtendedPublicKey())
	}
	acct, _ := root.Derive("m/86'/0'/0'")
	if got, _ := acct.ExtendedPrivateKey(); got != v.BIP86.Account0Xprv {
		t.Errorf("account xprv %s", got)
	}
	if acct.ExtendedPublicKey() != v.BIP86.Account0Xpub {
		t.Errorf("account xpub %s", acct.ExtendedPublicKey())
	}
	// Public derivation from the account xpub gives the same addresses.
	acctPub, err := ParseHDKey(v.BIP86.Account0Xpub, Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range v.BIP86.Addresses {
		steps, _, _ := ParsePath(a.Path)
		addr, key, err := root.DeriveAddress(BIP86, 0, steps[3], steps[4])
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := key.ExtendedPrivateKey(); got != a.Xprv || key.ExtendedPublicKey() != a.Xpub {
			t.Errorf("%d: keys %s", i, got)
		}
		if got := hex.EncodeToString(xOnly(key.PublicKey())); got != a.InternalKey {
			t.Errorf("%d: internal key %s", i, got)
		}
		if got := hex.EncodeToString(addr.Program()); got != a.OutputKey {
			t.Errorf("%d: output key %s", i, got)
		}
		if got := hex.EncodeToString(addr.PkScript()); got != a.ScriptPubKey {
			t.Errorf("%d: script %s", i, got)
		}
		if addr.String() != a.Address {
			t.Errorf("%d: address %s", i, addr)
		}
		pubChild, err := acctPub.Derive(a.Path[len("m/86'/0'/0'/"):])
		if err != nil {
			t.Fatal(err)
		}
		if pa, _ := pubChild.Address(BIP86); !pa.Equal(addr) {
			t.Errorf("%d: public derivation gives %s", i, pa)
		}
		if pubChild.IsPrivate() {
			t.Errorf("%d: child of an xpub is private", i)
		}
		if _, err := pubChild.PrivateKey(); !errors.Is(err, ErrNoPrivateKey) {
			t.Errorf("%d: private key of public key: %v", i, err)
		}
	}
	if _, err := acctPub.Derive("0'/0"); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("hardened from public: %v", err)
	}
	if _, err := acctPub.Derive("m/0"); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("absolute from depth 3: %v", err)
	}
}

func TestParsePath(t *testing.T) {
	for _, bad := range []string{"", "m/", "m//1", "x/1", "m/1''", "m/-1", "m/2147483648", "m/01", "1/a"} {
		if _, _, err := ParsePath(bad); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	steps, abs, err := ParsePath("m/86h/1'/0'/1/7")
	if err != nil || !abs || len(steps) != 5 || steps[0] != 86+HardenedOffset || steps[4] != 7 {
		t.Errorf("parse: %v %v %v", steps, abs, err)
	}
	if steps, abs, err := ParsePath("m"); err != nil || !abs || len(steps) != 0 {
		t.Errorf("m: %v %v %v", steps, abs, err)
	}
}

func TestHDKeyNeverPrintsPrivate(t *testing.T) {
	k, err := NewMasterKey(make([]byte, 32), Regtest)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := k.ExtendedPrivateKey()
	for _, s := range []string{k.String(), k.ExtendedPublicKey()} {
		if s == priv || s[:4] != "tpub" {
			t.Errorf("printed %s", s)
		}
	}
}
