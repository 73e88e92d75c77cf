package main

import (
	"context"
	"os"
)

func Example_messageVerify() {
	// Bitcoin Core's signmessage test vector, verified as a legacy BIP-322 signature.
	run(context.Background(), []string{"message", "verify",
		"--address", "15CRxFdyRpGZLW9w8HnHvVduizdL5jKNbs",
		"--message", "Trust no one",
		"--signature", "IPojfrX2dfPnH26UegfbGQQLrdK844DlHq5157/P6h57WyuS/Qsl+h/WSVGDF4MUi4rWSswW38oimDYfNNUBUOk="}, os.Stdout)
	// Output: {"result":"valid","format":"legacy","reason":""}
}

func Example_messageSign() {
	run(context.Background(), []string{"message", "sign",
		"--wif", "L3VFeEujGtevx9w18HD1fhRbCH67Az2dpCymeRE1SoPK6XQtaN2k",
		"--address", "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l",
		"--message", "Hello World"}, os.Stdout)
	// Output: {"signature":"smpAkgwRQIhAOzyynlqt93lOKJr+wmmxIens//zPzl9tqIOua93wO6MAiBi5n5EyAcPScOjf1lAqIUIQtr3zKNeavYabHyR8eGhowEhAsfxIAMZZEKUPYWI4BruhAQjzFT8FSFSajuFwrDL1Yhy"}
}

func Example_didResolve() {
	run(context.Background(), []string{"did", "resolve", "did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"}, os.Stdout)
	// Output: {"@context":"https://w3id.org/did-resolution/v1","didResolutionMetadata":{},"didDocument":{"@context":["https://www.w3.org/ns/did/v1"],"id":"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY","verificationMethod":[{"id":"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY","type":"JsonWebKey","controller":"did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY","publicKeyJwk":{"kty":"OKP","crv":"Ed25519","x":"DzpSEyU0w1Myn3lA_piHAI6OrFAnZuEsTwMUPCTwMc8","alg":"EdDSA"}}],"authentication":["did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"],"assertionMethod":["did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"],"capabilityInvocation":["did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"],"capabilityDelegation":["did:key:z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY#z6MkfUhjsZUJkzioGDULpcqxXFSNs6McMJo31txYnEaqn9dY"]},"didDocumentMetadata":{}}
}

func Example_vcVerify() {
	run(context.Background(), []string{"vc", "verify", "doodoo"}, os.Stdout)
	// Output: {"verified":false,"credential":null,"error":"vc: invalid token: jwt: malformed: jose: malformed token: token: not three dot-separated parts"}
}
