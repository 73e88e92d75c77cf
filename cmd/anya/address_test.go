package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// BIP-173's P2WPKH example: the key G and its mainnet address.
const (
	keyG      = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
	p2wpkhOfG = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
)

func TestAddressDecode(t *testing.T) {
	for _, c := range []struct {
		addr, net, typ, script, asm string
		networks                    []string
	}{
		{p2wpkhOfG, "mainnet", "p2wpkh", "0014751e76e8199196d454941c45d1b3a323f1433bd6", "0 751e76e8199196d454941c45d1b3a323f1433bd6", []string{"mainnet"}},
		{"tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "testnet", "p2wpkh", "0014751e76e8199196d454941c45d1b3a323f1433bd6", "", []string{"testnet", "signet"}},
		{"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "regtest", "p2wpkh", "0014751e76e8199196d454941c45d1b3a323f1433bd6", "", []string{"regtest"}},
		// BIP-86's first receiving address.
		{"bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr", "mainnet", "p2tr",
			"5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c", "1 a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c", []string{"mainnet"}},
		// The genesis block's P2PKH address.
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "mainnet", "p2pkh", "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac",
			"OP_DUP OP_HASH160 62e907b15cbf27d5425399ebf6f0fb50ebb88f18 OP_EQUALVERIFY OP_CHECKSIG", []string{"mainnet"}},
	} {
		doc, code := anya(t, "address", "decode", c.addr)
		if code != exitOK || doc["network"] != c.net || doc["type"] != c.typ || doc["script"] != c.script || fmt.Sprint(doc["networks"]) != fmt.Sprint(toAny(c.networks)) {
			t.Errorf("%s: %d %v", c.addr, code, doc)
		}
		if c.asm != "" && doc["script_asm"] != c.asm {
			t.Errorf("%s: asm %v", c.addr, doc["script_asm"])
		}
		// Encoding the script gives the address back.
		back, code := anya(t, "address", "encode", "--script", c.script, "--network", c.net)
		if code != exitOK || back["address"] != c.addr {
			t.Errorf("encode %s: %d %v", c.script, code, back)
		}
	}
	// Read as signet, a testnet address is a signet one.
	doc, _ := anya(t, "address", "decode", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "--network", "signet")
	if doc["network"] != "signet" {
		t.Errorf("--network signet: %v", doc)
	}
	for addr, want := range map[string]string{
		"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5":             "invalid_address", // bad checksum
		"bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3": "invalid_address",
	} {
		if doc, code := anya(t, "address", "decode", addr); code != exitError || errorCode(t, doc) != want {
			t.Errorf("%s: %d %v", addr, code, doc)
		}
	}
	if doc, code := anya(t, "address", "decode", p2wpkhOfG, "--network", "testnet"); code != exitError || errorCode(t, doc) != "wrong_network" {
		t.Errorf("mainnet address read as testnet: %v", doc)
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func TestAddressEncode(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--pubkey", keyG}, p2wpkhOfG},
		{[]string{"--pubkey", keyG, "--type", "p2pkh"}, "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH"},
		// BIP-86: m/86'/0'/0'/0/0's internal key, x-only.
		{[]string{"--pubkey", "cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115", "--type", "p2tr"}, "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr"},
		// BIP-67's first vector: the 2-of-2 script, as P2SH (the BIP's address) and P2WSH.
		{[]string{"--redeem-script", bip67Script}, "39bgKC7RFbpoCRbtD5KEdkYKtNyhpsNa3Z"},
		{[]string{"--witness-script", "00", "--network", "regtest"}, "bcrt1qdc6qh88lkdaf3899gnntk7q293ufq8flkvmnsa59zx3sv9a05qwsqw736l"},
	} {
		doc, code := anya(t, append([]string{"address", "encode"}, c.args...)...)
		if code != exitOK || doc["address"] != c.want {
			t.Errorf("%v: %d %v", c.args, code, doc)
		}
	}
	for _, c := range []struct {
		args []string
		code string
	}{
		{nil, "usage"},
		{[]string{"--pubkey", keyG, "--script", "00"}, "usage"},
		{[]string{"--pubkey", keyG, "--type", "p2xx"}, "usage"},
		{[]string{"--pubkey", "zz"}, "invalid_hex"},
		{[]string{"--pubkey", "02" + strings.Repeat("ff", 32)}, "invalid_key"},
		{[]string{"--script", "6a"}, "invalid_address"}, // OP_RETURN has no address
		{[]string{"--script", "00", "--network", "moon"}, "invalid_network"},
		{[]string{"--script", strings.Repeat("00", maxScript)}, "input_too_large"},
	} {
		doc, code := anya(t, append([]string{"address", "encode"}, c.args...)...)
		if code == exitOK || errorCode(t, doc) != c.code {
			t.Errorf("%v: %d %v, want %s", c.args, code, doc, c.code)
		}
	}
}

// BIP-67's first test vector: two keys, sorted.
const (
	bip67Key1   = "02ff12471208c14bd580709cb2358d98975247d8765f92bc25eab3b2763ed605f8"
	bip67Key2   = "02fe6f0a5a297eb38c391581c4413e084773ea23954d93f7753db7dc0adc188b2f"
	bip67Script = "522102fe6f0a5a297eb38c391581c4413e084773ea23954d93f7753db7dc0adc188b2f2102ff12471208c14bd580709cb2358d98975247d8765f92bc25eab3b2763ed605f852ae"
)

func TestMultisigCreate(t *testing.T) {
	doc, code := anya(t, "multisig", "create", "--threshold", "2", "--pubkey", bip67Key1, "--pubkey", bip67Key2)
	if code != exitOK || doc["witness_script"] != bip67Script || doc["kind"] != "sorted-p2wsh" {
		t.Fatalf("%d %v", code, doc)
	}
	// The P2WSH address is the witness script's.
	a := doc["address"].(map[string]any)
	back, _ := anya(t, "address", "encode", "--witness-script", bip67Script)
	if a["address"] != back["address"] || a["type"] != "p2wsh" {
		t.Fatalf("address %v, encode %v", a, back)
	}
	if keys := doc["keys"].([]any); keys[0] != bip67Key2 || keys[1] != bip67Key1 {
		t.Fatalf("keys not in BIP-67 order: %v", keys)
	}
	// Taproot: a leaf with OP_CHECKSIGADD, the unspendable internal key unless MuSig2 is asked.
	tr, code := anya(t, "multisig", "create", "--threshold", "2", "--pubkey", bip67Key1, "--pubkey", bip67Key2, "--pubkey", keyG,
		"--kind", "taproot", "--network", "regtest")
	if code != exitOK || !strings.Contains(tr["leaf_script_asm"].(string), "OP_CHECKSIGADD") || tr["control_block"] == "" ||
		tr["address"].(map[string]any)["type"] != "p2tr" || tr["address"].(map[string]any)["network"] != "regtest" {
		t.Fatalf("taproot: %d %v", code, tr)
	}
	tr2, _ := anya(t, "multisig", "create", "--threshold", "2", "--pubkey", bip67Key1, "--pubkey", bip67Key2, "--pubkey", keyG,
		"--kind", "taproot", "--network", "regtest", "--musig2-keypath")
	if tr2["internal_key"] == tr["internal_key"] || tr2["address"].(map[string]any)["address"] == tr["address"].(map[string]any)["address"] {
		t.Fatalf("the MuSig2 key path changes nothing: %v", tr2)
	}
	mu, code := anya(t, "multisig", "create", "--pubkey", bip67Key1, "--pubkey", bip67Key2, "--kind", "musig2")
	if code != exitOK || mu["threshold"] != jsonNum(2) || mu["kind"] != "musig2-keypath" || mu["leaf_script"] != nil {
		t.Fatalf("musig2: %d %v", code, mu)
	}
	for _, c := range []struct {
		args []string
		code string
	}{
		{[]string{"--threshold", "2"}, "usage"},
		{[]string{"--pubkey", bip67Key1}, "usage"},
		{[]string{"--threshold", "0", "--pubkey", bip67Key1}, "invalid_multisig"},
		{[]string{"--threshold", "1", "--pubkey", bip67Key1, "--pubkey", bip67Key1}, "invalid_multisig"},
		{[]string{"--threshold", "1", "--pubkey", bip67Key1, "--kind", "bare"}, "usage"},
		{[]string{"--threshold", "1", "--pubkey", bip67Key1, "--pubkey", bip67Key2, "--kind", "musig2"}, "usage"},
		{[]string{"--threshold", "1", "--pubkey", "nothex"}, "invalid_hex"},
	} {
		doc, code := anya(t, append([]string{"multisig", "create"}, c.args...)...)
		if code == exitOK || errorCode(t, doc) != c.code {
			t.Errorf("%v: %d %v, want %s", c.args, code, doc, c.code)
		}
	}
}

func jsonNum(n int) json.Number { return json.Number(fmt.Sprint(n)) }
