package main

import (
	"context"
	"fmt"
	"os"
	"strings"
)

func Example_messageVerify() {
	// Bitcoin Core's signmessage test vector, verified as a legacy BIP-322 signature.
	run(context.Background(), []string{"message", "verify",
		"--address", "15CRxFdyRpGZLW9w8HnHvVduizdL5jKNbs",
		"--message", "Trust no one",
		"--signature", "IPojfrX2dfPnH26UegfbGQQLrdK844DlHq5157/P6h57WyuS/Qsl+h/WSVGDF4MUi4rWSswW38oimDYfNNUBUOk="}, nil, os.Stdout)
	// Output: {"result":"valid","format":"legacy","reason":""}
}

func Example_messageSign() {
	// The key comes from standard input (or --wif-file PATH, or --wif-env VAR), never from
	// the command line.
	run(context.Background(), []string{"message", "sign",
		"--wif", "-",
		"--address", "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l",
		"--message", "Hello World"}, strings.NewReader("L3VFeEujGtevx9w18HD1fhRbCH67Az2dpCymeRE1SoPK6XQtaN2k\n"), os.Stdout)
	// Output: {"signature":"smpAkgwRQIhAOzyynlqt93lOKJr+wmmxIens//zPzl9tqIOua93wO6MAiBi5n5EyAcPScOjf1lAqIUIQtr3zKNeavYabHyR8eGhowEhAsfxIAMZZEKUPYWI4BruhAQjzFT8FSFSajuFwrDL1Yhy"}
}

// Score two 120-output transactions with the pure-Go backend: fresh coins split into equal round
// amounts by a two-day-old identity, and an exchange-style payout batch (varied amounts, older
// coins) by a verified merchant. Unnamed features take their schema defaults.
func Example_scoreFeatures() {
	for _, features := range []string{
		`{"n_inputs": 2, "n_outputs": 120, "out_total_btc": 3.2, "out_min_btc": 0.0266, "out_std_btc": 0.0004,
		  "largest_output_frac": 0.0085, "out_round_count": 120, "inputs_known": 1, "fee_rate_sat_vb": 22,
		  "ages_known": 1, "in_age_min_blocks": 2, "in_age_mean_blocks": 4, "identity_known": 1, "did_age_days": 2}`,
		`{"n_inputs": 2, "n_outputs": 120, "out_total_btc": 3.2, "out_min_btc": 0.0004, "out_std_btc": 0.03,
		  "largest_output_frac": 0.2, "out_round_count": 30, "inputs_known": 1, "fee_rate_sat_vb": 12,
		  "ages_known": 1, "in_age_min_blocks": 40, "in_age_mean_blocks": 120, "reuse_known": 1,
		  "identity_known": 1, "did_age_days": 900, "kyc_verified": 1, "address_linked": 1, "credentials": 12, "prior_payments": 4000}`,
	} {
		run(context.Background(), []string{"score", "features", "--backend", "go", "--factors", "1", features}, nil, os.Stdout)
	}
	// Output:
	// {"model":"fraud@1","score":0.987758,"threshold":0.7,"blocked":true,"factors":[{"feature":"in_age_mean_blocks","value":4,"contribution":2.02461}],"backend":"go"}
	// {"model":"fraud@1","score":0.004322,"threshold":0.7,"blocked":false,"factors":[{"feature":"out_min_btc","value":0.0004,"contribution":-1.12204}],"backend":"go"}
}

func Example_didResolve() {
	run(context.Background(), []string{"did", "resolve", "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"}, nil, os.Stdout)
	// Output: {"@context":"https://w3id.org/did-resolution/v1","didResolutionMetadata":{},"didDocument":{"@context":["https://www.w3.org/ns/did/v1"],"id":"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY","verificationMethod":[{"id":"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY","type":"JsonWebKey","controller":"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY","publicKeyJwk":{"kty":"OKP","crv":"Ed25519","x":"DzpSEyU0w1Myn3lA_piHAI6OrFAnZuEsTwMUPCTwMc8","alg":"EdDSA"}},{"id":"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6LScWydrAnPeypq3tz2yMpjJ28kYzosVxP1R6taV5m33eQP","type":"JsonWebKey","controller":"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY","publicKeyJwk":{"kty":"OKP","crv":"X25519","x":"DIBshOtoheWEP3Tlyi37O8ITm5aw0HYgVGPnkHEOM3A"}}],"authentication":["did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"],"assertionMethod":["did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"],"keyAgreement":["did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6LScWydrAnPeypq3tz2yMpjJ28kYzosVxP1R6taV5m33eQP"],"capabilityInvocation":["did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"],"capabilityDelegation":["did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"]},"didDocumentMetadata":{}}
}

func Example_vcVerify() {
	run(context.Background(), []string{"vc", "verify", "doodoo"}, nil, os.Stdout)
	// Output: {"verified":false,"credential":null,"error":"vc: invalid token: jwt: malformed: jose: malformed token: token: not three dot-separated parts"}
}

func Example_addressDecode() {
	run(context.Background(), []string{"address", "decode", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}, nil, os.Stdout)
	// Output: {"address":"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4","network":"mainnet","networks":["mainnet"],"type":"p2wpkh","witness_version":0,"program":"751e76e8199196d454941c45d1b3a323f1433bd6","script":"0014751e76e8199196d454941c45d1b3a323f1433bd6","script_asm":"0 751e76e8199196d454941c45d1b3a323f1433bd6"}
}

// A DID that does not resolve is an error: a stable code, a message that says what to do, the
// W3C resolution result as its detail, and exit status 1.
func Example_errors() {
	code := run(context.Background(), []string{"did", "resolve", "did:dht:1wiaaaoagzceggsnwfzmx5cweog5msg4u536mby8sqy3mkp3wyko"}, nil, os.Stdout)
	fmt.Println("exit", code)
	code = run(context.Background(), []string{"psbt", "decode"}, nil, os.Stdout)
	fmt.Println("exit", code)
	// Output:
	// {"error":{"code":"method_not_supported","message":"did: methodNotSupported: did:dht:1wiaaaoagzceggsnwfzmx5cweog5msg4…: method \"dht\"; did:dht is resolved through a gateway: pass --gateway URL or set ANYA_DHT_GATEWAY","detail":{"@context":"https://w3id.org/did-resolution/v1","didResolutionMetadata":{"error":"methodNotSupported"},"didDocument":null,"didDocumentMetadata":{}}}}
	// exit 1
	// {"error":{"code":"usage","message":"psbt decode: want one PSBT (or @FILE, or - for standard input), got 0 arguments; usage: anya psbt decode PSBT [--network N] (anya psbt decode --help for more)"}}
	// exit 2
}
