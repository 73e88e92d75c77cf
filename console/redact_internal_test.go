package console

import (
	"encoding/base64"
	"strings"
	"testing"
)

const (
	testDID     = "did:dht:i9xkp8ddcbcg8jwq54ox699wuzxyifsqx4jru45zodqu453ksz6y"
	testAddress = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
	testLegacy  = "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"
	testTxid    = "397e6f90c1b11eea590d9c840b579dd0f67d14be48fdd7ada74c7c9ad5d193ac"
	testCID     = "bafyreigsw4674petxjy3r5zrcyl6x3ojtejcusypgjdnq3rsfxacmcsnc4"
)

// TestRedact: each way an identifier may hide in what the console shows, and what it leaves
// alone.
func TestRedact(t *testing.T) {
	r := redactor{key: []byte("0123456789abcdef")}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name, in string
		hidden   []string // must not be in the output
		kept     []string // must be
	}{
		{"a DID", testDID, []string{testDID}, []string{Pseudonym(r.key, testDID)}},
		{"a DID with a fragment", testDID + "#0", []string{"i9xkp8ddcbcg"}, []string{"did#"}},
		{"a DID in a sentence", "attachment signed by " + testDID + ", not by did:key:z6Mkabc", []string{"i9xkp8ddcbcg", "z6Mkabc"}, []string{"attachment signed by did#"}},
		{"a bech32 address", "pays " + testAddress, []string{testAddress}, []string{Pseudonym(r.key, testAddress)}},
		{"an upper-case bech32 address", strings.ToUpper(testAddress), []string{strings.ToUpper(testAddress)}, []string{"addr#"}},
		{"a base58 address", testLegacy + " spent", []string{testLegacy}, []string{"addr#", " spent"}},
		{"a DID in base64url", b64(`{"kid":"` + testDID + `#0"}`), []string{"eyJ"}, []string{"encoded data holding an identifier"}},
		{"a DID in standard base64", base64.StdEncoding.EncodeToString([]byte("from " + testDID)), []string{"ZnJvbS"}, []string{"encoded data"}},
		{"a DID in a JWS", b64(`{"alg":"EdDSA","kid":"`+testDID+`#0"}`) + "." + b64(`{}`) + ".c2ln", []string{"eyJ"}, []string{"encoded data"}},
		{"an address in a JWT payload", b64(`{"alg":"EdDSA"}`) + "." + b64(`{"addr":"`+testAddress+`"}`) + ".c2ln", []string{"eyJ"}, []string{"encoded data"}},
		{"a DID base64 twice", b64(b64("x " + testDID)), []string{testDID}, []string{"encoded data"}},
		{"a transaction ID", testTxid, nil, []string{testTxid}},
		{"a record ID", testCID, nil, []string{testCID}},
		{"a payment ID", "order-42", nil, []string{"order-42"}},
		{"base64 without identifiers", b64(`{"alg":"EdDSA","typ":"JWT"}`), nil, []string{b64(`{"alg":"EdDSA","typ":"JWT"}`)}},
		{"a step name", "verified_payment", nil, []string{"verified_payment"}},
	} {
		got := r.text(tc.in)
		for _, h := range tc.hidden {
			if strings.Contains(got, h) {
				t.Errorf("%s: %q shows %q", tc.name, got, h)
			}
		}
		for _, k := range tc.kept {
			if !strings.Contains(got, k) {
				t.Errorf("%s: %q lacks %q", tc.name, got, k)
			}
		}
	}

	// Structured values: keys and values, at any depth.
	v := r.value(map[string]any{"sender_did": testDID, testAddress: []any{map[string]any{"to": testAddress}}, "n": 3.0}, 0)
	if s := r.json(v); strings.Contains(s, testDID) || strings.Contains(s, testAddress) || !strings.Contains(s, `"n": 3`) {
		t.Errorf("value %s", s)
	}

	// A records-store topic's tenant token is an unkeyed hash of the DID: it becomes a keyed one.
	if got := r.topic("web5.dwn.hzjs5puakixfrobfvzyi6nwq.records.written"); strings.Contains(got, "hzjs5puak") ||
		!strings.HasPrefix(got, "web5.dwn.tenant#") || !strings.HasSuffix(got, ".records.written") {
		t.Errorf("topic %q", got)
	}
	if got := r.topic("bitcoin.block.connected"); got != "bitcoin.block.connected" {
		t.Errorf("topic %q", got)
	}
}

// FuzzRedact: redacting never panics, never shows a DID, and is stable.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{testDID, "x " + testDID + " y", testAddress, testLegacy, testTxid, testCID,
		base64.StdEncoding.EncodeToString([]byte(testDID)), "did:did:a:b", "did:a:did:b:c", "web5.dwn.a.b", ""} {
		f.Add(s)
	}
	r := redactor{key: []byte("0123456789abcdef")}
	f.Fuzz(func(t *testing.T, s string) {
		got := r.text(s)
		if m := didPattern.FindString(got); m != "" {
			t.Errorf("text(%q) = %q shows %q", s, got, m)
		}
		if again := r.text(s); again != got {
			t.Errorf("text(%q) is not stable: %q then %q", s, got, again)
		}
		_ = r.topic(s)
	})
}
