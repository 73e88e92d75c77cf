package dwn

import (
	"errors"
	"fmt"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
	"github.com/anya-org/anya-go/web5/jose"
)

var (
	// ErrInvalidMessage reports a message that is malformed or breaks the message rules.
	ErrInvalidMessage = errors.New("dwn: invalid message")
	// ErrUnauthenticated reports a message that is unsigned, or whose signature does not
	// verify against its author's DID document.
	ErrUnauthenticated = errors.New("dwn: not authenticated")
	// ErrForbidden reports an authenticated author who may not do what the message asks in
	// the tenant: no protocol rule, grant or ownership allows it.
	ErrForbidden = errors.New("dwn: forbidden")
	// ErrGrantExpired reports a permission grant used at or after its expiry.
	ErrGrantExpired = errors.New("dwn: permission grant expired")
	// ErrGrantRevoked reports a permission grant its grantor has revoked.
	ErrGrantRevoked = errors.New("dwn: permission grant revoked")
	// ErrNotFound reports a record, protocol or grant the tenant does not hold.
	ErrNotFound = errors.New("dwn: not found")
	// ErrConflict reports a message that is not newer than the state it would replace: a
	// replay, an out-of-date update, or a write to a deleted record. Stores also return it
	// when a conditional put finds another version in place.
	ErrConflict = errors.New("dwn: conflict")
	// ErrStale reports a read or query message older than the node's freshness window.
	ErrStale = errors.New("dwn: message too old")
	// ErrInvalidProtocol reports a protocol definition that breaks the definition rules.
	ErrInvalidProtocol = errors.New("dwn: invalid protocol definition")
	// ErrInvalidOption is wrapped by the *OptionError of an invalid option or constructor
	// argument.
	ErrInvalidOption = errors.New("dwn: invalid option")
	// ErrNotConstructed is wrapped by the *NotConstructedError of a zero Node or SQLiteStore.
	ErrNotConstructed = errors.New("dwn: not constructed")
	// ErrClosed reports a call on a closed node or store.
	ErrClosed = errors.New("dwn: closed")
	// ErrBatchUnsupported reports a Node.ProcessMany on a node whose store cannot write a
	// batch in one atomic step (it does not implement RecordBatcher).
	ErrBatchUnsupported = errors.New("dwn: the store cannot write a batch atomically")
)

// MessageError reports a malformed message. Field names the part at fault (a descriptor
// property, "authorization", "encodedData", ...). It matches ErrInvalidMessage and unwraps
// to its cause when there is one (a *jose.DuplicateMemberError for a member name that
// repeats, exactly or in another letter case; a jose error for a malformed signature).
type MessageError struct {
	Field  string
	Reason string
	Err    error
}

func (e *MessageError) Error() string {
	s := fmt.Sprintf("dwn: invalid message: %s: %s", e.Field, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches ErrInvalidMessage.
func (e *MessageError) Is(target error) bool { return target == ErrInvalidMessage }

func (e *MessageError) Unwrap() error { return e.Err }

// invalidJSON reports JSON the strict reader refused in field: a repeated or case-variant
// member name becomes a *jose.DuplicateMemberError cause.
func invalidJSON(field string, err error) error {
	var de *fastjson.DuplicateKeyError
	if errors.As(err, &de) {
		return &MessageError{Field: field, Reason: "a member name repeats", Err: &jose.DuplicateMemberError{Object: field, Name: de.Name, Previous: de.Previous}}
	}
	var je *jose.DuplicateMemberError
	if errors.As(err, &je) {
		return &MessageError{Field: field, Reason: "a member name repeats", Err: je}
	}
	return &MessageError{Field: field, Reason: err.Error()}
}

func invalid(field, format string, args ...any) error {
	return &MessageError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// AuthError reports a message whose signature is missing or does not verify. It matches
// ErrUnauthenticated and unwraps to its cause (a did or jose error).
type AuthError struct {
	Reason string
	Err    error
}

func (e *AuthError) Error() string {
	s := "dwn: not authenticated: " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches ErrUnauthenticated.
func (e *AuthError) Is(target error) bool { return target == ErrUnauthenticated }

func (e *AuthError) Unwrap() error { return e.Err }

// ForbiddenError reports an author who may not perform an action in a tenant. It matches
// ErrForbidden and unwraps to its cause (ErrGrantExpired, ErrGrantRevoked, ...) when there
// is one.
type ForbiddenError struct {
	Author string
	Tenant string
	Action string // "Records.Write", "Records.Read", ...
	Reason string
	Err    error
}

func (e *ForbiddenError) Error() string {
	s := fmt.Sprintf("dwn: forbidden: %s by %s in tenant %s: %s", e.Action, e.Author, e.Tenant, e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches ErrForbidden.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

func (e *ForbiddenError) Unwrap() error { return e.Err }

// ConflictError reports a message that loses against the state in place. It matches
// ErrConflict.
type ConflictError struct {
	ID     string // the record ID or protocol URI
	Reason string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("dwn: conflict: %s: %s", e.ID, e.Reason)
}

// Is matches ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ProtocolError reports a protocol definition that breaks the rules. Path names the place
// in the definition ("types.post", "structure.post/comment.$actions[0].of", ...). It matches
// ErrInvalidProtocol.
type ProtocolError struct {
	Path   string
	Reason string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("dwn: invalid protocol definition: %s: %s", e.Path, e.Reason)
}

// Is matches ErrInvalidProtocol.
func (e *ProtocolError) Is(target error) bool { return target == ErrInvalidProtocol }

// OptionError reports an invalid option or constructor argument (Option names it:
// "WithMaxDataSize", "resolver"), found at construction; nothing is constructed. It matches
// ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any // the rejected value
	Reason string
}

func (e *OptionError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("%v: %s: %s", ErrInvalidOption, e.Option, e.Reason)
	}
	return fmt.Sprintf("%v: %s(%v): %s", ErrInvalidOption, e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// NotConstructedError is returned by the methods of a zero Node or SQLiteStore: it names the
// constructor. It matches ErrNotConstructed.
type NotConstructedError struct {
	Type        string // e.g. "dwn.Node"
	Constructor string // e.g. "dwn.New"
}

func (e *NotConstructedError) Error() string {
	return fmt.Sprintf("%v: a zero %s is not usable: create it with %s", ErrNotConstructed, e.Type, e.Constructor)
}

// Unwrap returns ErrNotConstructed.
func (e *NotConstructedError) Unwrap() error { return ErrNotConstructed }
