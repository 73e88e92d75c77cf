// Package did implements decentralized identifiers (DID Core 1.0): parsing DIDs and DID
// URLs, the DID document model, resolution through method resolvers the host chooses,
// dereferencing, bearer DIDs that sign with a key manager, and portable DIDs.
//
// # Identifiers
//
// [Parse] and [ParseURL] follow the DID Core grammar (method, method-specific id, then path,
// query and fragment; ";name=value" parameters as Web5 SDKs write them). Malformed input
// yields a *[ParseError] matching [ErrInvalidDID].
//
// # Documents
//
// A [Document] holds verification methods ([TypeJsonWebKey] with a publicKeyJwk; Multikey
// and other publicKeyMultibase types, and the legacy publicKeyBase58 types, are read too),
// the five verification relationships and services. [Document.Validate] checks the data model; methods embedded in a
// relationship are normalized into verificationMethod on decode.
//
// # Resolution
//
// A [Resolver] is built from [MethodResolver] values ([NewResolver] with [WithMethods]);
// the method packages (didkey, didjwk, didweb, diddht, didpkh) provide them. Results are cached (a bounded
// in-memory [Cache] by default, honouring each result's TTL and nextUpdate metadata), and
// every failure is a *[ResolutionError] whose Code is the W3C error code (notFound,
// invalidDid, methodNotSupported, representationNotSupported, ...). [Result] marshals to the
// W3C resolution result shape. [Resolver.Dereference] follows fragments and ?service=
// queries.
//
// # Signing as a DID
//
// A [BearerDID] binds a document to a jose.KeyManager; its Signer puts the verification
// method ID in the JWS kid. [Resolver.VerifyJWS], [Resolver.VerifyJWT] and
// [Resolver.Verify] do the reverse: resolve the kid, require the method to be listed under
// the purpose (assertionMethod by default) and controlled by the kid's DID and, for JWTs,
// to belong to the issuer's DID. [PortableDID] is the JSON export and import form, with
// [Import] and [BearerDID.Export].
//
// # Who signed
//
// The identity behind a signature is the Controller of the verification method these
// functions return — the method whose key verified the signature — and nothing else: not a
// second reading of the header or payload. The JWS header is read once, by package jose,
// which refuses repeated or case-variant member names, so the kid that selected the key is
// the kid every caller sees.
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// Per-call options — ResolveOption, VerifyOption, SignerOption — have the same shape. A zero
// Resolver or BearerDID is not usable: its methods return a *NotConstructedError naming the
// constructor. A zero MemoryCache is ready to use, and a zero SharedCache stores nothing.
package did
