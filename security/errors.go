package security

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrDenied is wrapped by every *DeniedError: data was refused at a boundary.
	ErrDenied = errors.New("security: crossing denied")
	// ErrUndefinedBoundary: no boundary is defined for the protocol pair (deny by default).
	ErrUndefinedBoundary = errors.New("security: undefined boundary")
	// ErrTooLarge: the data is larger than the boundary allows.
	ErrTooLarge = errors.New("security: payload too large")
	// ErrSchema: a field has the wrong type or a required field is missing.
	ErrSchema = errors.New("security: schema violation")
	// ErrFieldNotAllowed: a field the boundary does not list.
	ErrFieldNotAllowed = errors.New("security: field not allowed")
	// ErrPersonalData: a value that looks like personal data (e-mail, phone, card or social
	// security number, DID) would reach a side that must not see it.
	ErrPersonalData = errors.New("security: personal data")
	// ErrProvenance: the data's provenance or signature check failed or is not registered.
	ErrProvenance = errors.New("security: provenance check failed")
	// ErrPolicy: a CEL policy was false or could not be evaluated.
	ErrPolicy = errors.New("security: policy denied")
	// ErrActionNotAllowed: the boundary does not let data cross for this action.
	ErrActionNotAllowed = errors.New("security: action not allowed")
	// ErrMissingScope: the security context lacks a scope the boundary requires.
	ErrMissingScope = errors.New("security: missing scope")
	// ErrUnverifiedIdentity: a payment action without a verified identity in the context.
	ErrUnverifiedIdentity = errors.New("security: identity not verified")
	// ErrPrivilege: data that claims a privilege its source cannot have (an ML result
	// authorising a payment).
	ErrPrivilege = errors.New("security: privilege violation")
	// ErrBlocked: the source asked to block the action (an ML result blocking a payment).
	ErrBlocked = errors.New("security: blocked by source")
	// ErrAudit: the crossing could not be audited, so it was refused.
	ErrAudit = errors.New("security: audit failed")
	// ErrTampered is wrapped by every *TamperError the audit verifier reports.
	ErrTampered = errors.New("security: audit log tampered")
	// ErrInvalidConfig is wrapped by the *ConfigError for a malformed boundary definition.
	ErrInvalidConfig = errors.New("security: invalid boundary configuration")
	// ErrInvalidOption is wrapped by the *OptionError for an invalid option value.
	ErrInvalidOption = errors.New("security: invalid option")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero Boundaries, AuditLog,
	// Ed25519Signer or Ed25519Verifier.
	ErrNotConstructed = errors.New("security: not constructed")
	// ErrAuditConflict is wrapped by an AuditStore's Append when the position is taken: another
	// writer appended first. The AuditLog reads the new head and appends after it.
	ErrAuditConflict = errors.New("security: audit position taken")
	// ErrClosed is returned by an AuditLog after Close.
	ErrClosed = errors.New("security: audit log closed")
	// ErrInvalidHead: a head's string form ("<seq>:<hex hash>") is malformed.
	ErrInvalidHead = errors.New("security: invalid head")
	// ErrInvalidSignedHead is wrapped by the *SignedHeadError for a signed head that is not a
	// well-formed compact JWS of TypeSignedHead: bad encoding, duplicate or case-variant members,
	// unknown members, alg none, trailing data, values out of range.
	ErrInvalidSignedHead = errors.New("security: invalid signed head")
	// ErrSignature is wrapped by the *SignedHeadError for a signed head whose signature the
	// verifier refused: another key, an unknown kid, an algorithm the key does not use, altered
	// content.
	ErrSignature = errors.New("security: signed head signature does not verify")
	// ErrNoSigner: a checkpoint was asked of an AuditLog without WithCheckpointSigner.
	ErrNoSigner = errors.New("security: audit log has no checkpoint signer")
	// ErrCheckpoint wraps a failure to sign or publish a checkpoint.
	ErrCheckpoint = errors.New("security: checkpoint failed")
	// ErrInvalidKey: a signing or verification key of the wrong size, or an empty key ID.
	ErrInvalidKey = errors.New("security: invalid key")
)

// DeniedError says which boundary refused data, by which rule, and why.
type DeniedError struct {
	From, To Protocol
	Action   string
	Rule     string // the rule that refused: "schema", "policy:<name>", "privilege", ...
	Reason   string
	Err      error // the sentinel: ErrSchema, ErrPolicy, ...
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("security: %s → %s (%s) denied by %s: %s", e.From, e.To, e.Action, e.Rule, e.Reason)
}

// Unwrap returns ErrDenied and the specific sentinel.
func (e *DeniedError) Unwrap() []error { return []error{ErrDenied, e.Err} }

// ConfigError is a problem in a boundary definition.
type ConfigError struct {
	Boundary string // "web5→ml"
	Field    string
	Reason   string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("security: invalid boundary configuration")
	if e.Boundary != "" {
		b.WriteString(" " + e.Boundary)
	}
	if e.Field != "" {
		b.WriteString(" " + e.Field)
	}
	b.WriteString(": " + e.Reason)
	return b.String()
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// OptionError names an option (or an argument, such as NewAuditLog's "db") whose value is out
// of range, or an option given to the constructor it does not configure (see Option). New,
// NewAuditLog and OpenAuditLog return it, wrapping ErrInvalidOption; nothing is constructed.
type OptionError struct {
	Option string // "WithCheckpointEvery"
	Value  any    // the offending value
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("security: invalid option %s(%v): %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the methods of a zero Boundaries, AuditLog, Ed25519Signer
// or Ed25519Verifier: it names the function that makes a usable one. It matches
// ErrNotConstructed.
type NotConstructedError struct {
	Type        string // the zero value's type, e.g. "AuditLog"
	Constructor string // the function that creates a usable one, e.g. "OpenAuditLog"
}

func (e *NotConstructedError) Error() string {
	return "security: a zero " + e.Type + " is not usable: create it with security." + e.Constructor
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }

// TamperKind classifies what the audit verifier found.
type TamperKind string

// Kinds of tampering.
const (
	TamperModified  TamperKind = "modified"  // an entry's content no longer matches its hash, or was rewritten and rehashed
	TamperDeleted   TamperKind = "deleted"   // entries are missing from the chain
	TamperReordered TamperKind = "reordered" // an entry sits at another position than the one it was chained at
	TamperTruncated TamperKind = "truncated" // the newest entries are gone
	TamperInserted  TamperKind = "inserted"  // entries were added after the recorded head
	// TamperBroken: an entry is not chained to the one before it although positions are
	// contiguous — entries were deleted and the rest renumbered, or the previous entry was
	// rewritten and rehashed; the chain alone cannot tell which.
	TamperBroken TamperKind = "broken"
)

// TamperError is one finding of AuditLog.Verify.
type TamperError struct {
	Seq    uint64 // where: the entry's position
	Kind   TamperKind
	Detail string
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("security: audit log tampered at entry %d: %s: %s", e.Seq, e.Kind, e.Detail)
}

// Unwrap returns ErrTampered.
func (e *TamperError) Unwrap() error { return ErrTampered }

// SignedHeadError says why a signed head was refused. It wraps ErrInvalidSignedHead (the token is
// malformed) or ErrSignature (it is well formed but the verifier refused its signature).
type SignedHeadError struct {
	Reason string
	Err    error // ErrInvalidSignedHead or ErrSignature
	Cause  error // the verifier's error, if any
}

func (e *SignedHeadError) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%v: %s: %v", e.Err, e.Reason, e.Cause)
	}
	return fmt.Sprintf("%v: %s", e.Err, e.Reason)
}

// Unwrap returns the sentinel and the verifier's error.
func (e *SignedHeadError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}
