// Package vc implements W3C Verifiable Credentials — Data Model 1.1 and 2.0 — secured as
// JWTs, verifiable presentations, data-model validation, credentialSchema checks (JSON
// Schema) and status list revocation checks (Bitstring Status List and StatusList2021).
//
// # Credentials
//
// [Credential] holds either version; the first @context decides which. [ParseCredential]
// and [Credential.Validate] apply the data model's rules (contexts, id and issuer URIs,
// types, dates, subjects, status and schema entries) and report a *[ValidationError] naming
// the property at fault. [New] builds a credential with sensible defaults. Types (of
// credentials and presentations alike) must be terms or absolute URIs — non-empty, without
// whitespace or control characters — and each may appear once; this is checked on issue
// ([New], [Credential.Sign], [NewPresentation]) and on every verification.
//
// # Securing
//
// [Credential.Sign] secures a 1.1 credential as a VC-JWT (typ JWT, the credential in a vc
// claim, iss/sub/jti/nbf/exp mirroring it) and a 2.0 credential as VC-JOSE-COSE (typ
// vc+jwt, the credential as the payload). A [Verifier] checks either: the header's kid must
// name a key of the issuer's DID listed under assertionMethod, the algorithm must fit that
// key, the JWT claims must agree with the credential, and the validity period must cover
// now. The issuer is trusted only as the controller of the verification method that
// verified the signature (did.Resolver.Verify); the header and payload are read once, and
// a member name repeated in them, exactly or in another letter case, is refused
// (jose.ErrDuplicateMember). [Decode] does the structural part without trusting the token.
//
// # Presentations
//
// [Presentation] and [Verifier.VerifyPresentation] do the same for presentations (JWT with
// a vp claim for 1.1; vp+jwt with enveloped credentials for 2.0), binding the signature
// to the holder, checking aud and nonce, and verifying every credential inside.
//
// # Status and schemas
//
// [WithStatusCheck] makes a verifier fetch status list credentials (verified like any
// other credential, and required to come from the same issuer) and refuse revoked or
// suspended credentials with a *[StatusError]. [StatusList] and [NewStatusListCredential]
// issue lists. [WithSchemaCheck] validates credentials against their JSON Schemas, loaded
// through a [SchemaLoader] and compiled once.
//
// The URLs of status lists and schemas are written by the credential's issuer, so the
// fetchers the package provides, [HTTPStatusLists] and [HTTPSchemas], are package netguard
// clients: they refuse loopback, private, link-local and other non-global addresses (when
// dialling, after DNS, and on every redirect), bound redirects, time ([DefaultFetchTimeout])
// and size ([MaxFetchSize]). netguard.WithAllowPrivateNetworks lifts the address check for
// tests and private deployments.
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// Each constructor has its own option type, named after what it builds: Option for New (a
// credential), PresentationOption for NewPresentation, VerifierOption for NewVerifier;
// SignOption and PresentationCheck are the per-call options of Sign and VerifyPresentation.
// Only a Verifier reads a clock (WithClock); New and Sign take the time they stamp as a value
// (ValidFrom, WithIssuedAt), now by default. The package logs nothing. A zero Verifier is not
// usable: its methods return a *NotConstructedError naming NewVerifier.
package vc
