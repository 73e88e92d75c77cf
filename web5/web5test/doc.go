// Package web5test is a test kit for code built on the Web5 packages, in the spirit of
// net/http/httptest: fixed identities that are the same in every run, and an in-memory
// network to resolve them.
//
// # Fixed DIDs
//
// [Alice] (did:key, Ed25519), [Bob] (did:jwk, secp256k1), [Issuer] (did:key, Ed25519) and
// [Carol] (did:dht with a secp256k1 assertion key and a DWN service) derive their keys from
// fixed seeds; each call returns a fresh bearer DID with its own key manager. They are
//
//	Alice  did:key:z6MkrFUB8cnQV6DU6ESLKHJYefs2JR3dxPEiEJCgHm6hYHDZ
//	Issuer did:key:z6MkwPnLSk7agaHZCFCvhgwiikMz7p7KePR5p4RSKLBdHNRC
//	Carol  did:dht:9aw7s3pzrfr3i6to6ak98zk1sbi1am9ejcta7suz9rtrsyyaw7qy
//
// # Network
//
// [NewNetwork] gives an in-memory network: did:key, did:jwk and did:pkh resolve as usual,
// did:dht through an in-process gateway (no sockets, no goroutines), and [Network.Serve]
// serves documents of any other method (did:web, did:example, ...) from memory.
// [Network.Resolver] and [Network.Verifier] build a resolver and a credential verifier
// for it. [Method] is the in-memory method resolver on its own.
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// The kit has no options: Network.Verifier passes vc.VerifierOption values through. A zero
// Method is an empty resolver and a zero Network has no did:dht gateway; NewMethod and
// NewNetwork build usable ones.
package web5test
