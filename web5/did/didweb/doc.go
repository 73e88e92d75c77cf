// Package didweb implements the did:web method: the document lives at a well-known HTTPS
// URL derived from the DID.
//
//	did:web:example.com                  → https://example.com/.well-known/did.json
//	did:web:example.com%3A3000:user:alice → https://example.com:3000/user/alice/did.json
//
// # Creation
//
// [NewDID] builds the DID of a host (with an optional port, percent-encoded) and path.
// [NewDocument] builds its document from public keys ([WithPublicKey]) and services;
// [Create] generates the keys in a jose.KeyManager ([WithKey]; one Ed25519 key by default)
// and returns the bearer DID. Signing keys are listed under authentication,
// assertionMethod, capabilityInvocation and capabilityDelegation, X25519 keys under
// keyAgreement, unless the options say otherwise.
//
// A [Handler] serves documents where their DIDs say they live — /.well-known/did.json, or
// /path/to/did.json for a DID with a path — on the host the DID names, as
// application/did+json, to GET and HEAD requests only. The server in front of it must
// answer on that host over HTTPS, which is what resolvers connect to.
//
// # Transport
//
// Requests go over HTTPS through a package netguard client (starting from the
// *http.Client given with [WithHTTPClient], if any). [WithLoopbackHTTP] allows plain HTTP
// to loopback hosts only, for tests and local setups. Path segments that would escape the
// path ("..", encoded slashes) are rejected. The response must be a JSON DID document whose
// id is the DID; its Cache-Control max-age becomes the cache TTL.
//
// # The host's own network
//
// A did:web is chosen by whoever wrote it, so resolving it must not reach into the
// resolving host's network (server-side request forgery). By default the resolver refuses
// to connect to loopback, private (RFC 1918, RFC 4193), link-local (the cloud metadata
// service at 169.254.169.254 included), CGNAT, multicast, unspecified and reserved
// addresses and their IPv4-mapped forms. The check is made when each connection is
// dialled, on the resolved address — so a host name that resolves to such an address, or
// is re-bound to one after a first lookup, is refused — and again for every redirect
// (at most [MaxRedirects], never from https to http). A resolution is bounded in time
// ([DefaultTimeout]) and size ([DefaultMaxDocumentSize]). [WithAllowPrivateNetworks] (or
// [WithAllowedNetworks] for chosen prefixes) lifts the check, for tests and private
// deployments. An injected client is guarded the same way (see [WithHTTPClient]).
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// Invalid options are reported with package did's OptionError. CreateOption, for NewDocument
// and Create, has the same shape. A zero Resolver is not usable: Resolve returns a
// *did.NotConstructedError naming New. A zero Handler is ready to use and serves nothing until
// documents are put into it.
package didweb
