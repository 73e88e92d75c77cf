// Package pex implements DIF Presentation Exchange v2: presentation definitions (what a
// verifier asks for), presentation submissions (which credential answers what), credential
// selection, submission creation, and evaluation of presentations.
//
// # Definitions
//
// [ParseDefinition] and [Definition.Validate] check a definition: ids present and unique
// (descriptor ids, and field ids across the whole definition), name and purpose not empty
// when present, every field path a JSONPath expression starting at "$", every filter a
// JSON Schema (compiled once, remote references refused, format treated as an annotation),
// submission requirements naming existing groups with sound counts.
//
// # Matching credentials
//
// Credentials are JWT-secured (VC-JWT with a vc claim, format jwt_vc; or vc+jwt). Field paths
// are evaluated against the JWT claim set and, when that finds nothing, against the
// credential inside it, so both "$.vc.credentialSubject.name" and "$.credentialSubject.name"
// work. A field is met when some selected value passes its filter; optional fields need
// not be. limit_disclosure "required" cannot be met by JWTs; subject_is_issuer is honoured;
// format restrictions (and their alg lists) apply. Without submission requirements every
// input descriptor must be met; with them, the all and pick rules (count, min, from,
// from_nested) decide.
//
// [SelectCredentials] picks the credentials that satisfy a definition, [CreateSubmission]
// writes the submission for a presentation of them, [CreatePresentation] does both and
// builds the presentation, and [Evaluate] checks a presentation.
// None of them verifies signatures: that is package vc's job.
//
// # Conventions
//
// Options: every constructor takes functional options of one shape, `func(*config)`; options
// never fail on their own — the constructor validates the whole configuration once and returns
// an *OptionError naming the option. Each option's documentation states its default. Time
// comes from WithClock(func() time.Time) and logs go to WithLogger(*slog.Logger), silent by
// default.
//
// The package has no options and no constructors with state: it parses, validates and
// evaluates; CreatePresentation passes vc.PresentationOption values through. A nil Definition
// is an invalid one.
package pex
