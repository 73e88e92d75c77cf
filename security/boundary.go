package security

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Protocol names one side of a boundary.
type Protocol string

// The SDK's protocols.
const (
	Bitcoin Protocol = "bitcoin"
	Web5    Protocol = "web5"
	ML      Protocol = "ml"
)

// Type is a field's type in a boundary schema.
type Type string

// Field types. Numbers are float64 or int64 (or any Go integer); objects map[string]any; lists []any
// or the typed numeric tables []float32, []float64, [][]float32 and [][]float64.
const (
	TypeString  Type = "string"
	TypeNumber  Type = "number"
	TypeInteger Type = "integer"
	TypeBoolean Type = "boolean"
	TypeObject  Type = "object"
	TypeList    Type = "list"
	TypeAny     Type = "any"
)

// Redaction is what happens to a field before data crosses.
type Redaction string

// Redactions.
const (
	RedactNone   Redaction = ""
	RedactRemove Redaction = "remove" // the field is dropped
	RedactHash   Redaction = "hash"   // the value becomes "hmac-sha256:<hex>" under the redaction key: a stable pseudonym
)

// Field is one allowed field of a boundary's data.
type Field struct {
	Type     Type      `json:"type"`
	Required bool      `json:"required,omitempty"`
	Redact   Redaction `json:"redact,omitempty"`
}

// Policy is a CEL expression that must be true for data to cross. It sees data (the payload, a
// map), principal, verified (whether the context's identity is verified), scopes, origin,
// credentials (list of maps with id, types, issuer, subject, claims), from, to and action.
// An evaluation error denies, like false.
type Policy struct {
	Name    string `json:"name"`
	Expr    string `json:"expr"`
	Message string `json:"message,omitempty"` // the reason given when it denies
}

// Boundary is what may cross from one protocol to another, and how. Checks run in this order:
// size, outbound policies, action and scopes, privileges, schema, redaction, personal data,
// provenance, inbound policies. The first that fails denies the crossing.
type Boundary struct {
	From Protocol `json:"from"`
	To   Protocol `json:"to"`
	// Actions lists what the receiving side may do with the data (operation names such as
	// "bitcoin.send_payment"); empty allows any action, except into Bitcoin, where it must be set.
	Actions []string `json:"actions,omitempty"`
	// PaymentActions are the Actions that move money: they need a verified identity in the
	// security context (Context.IdentityVerified), whatever the data says.
	PaymentActions []string `json:"payment_actions,omitempty"`
	// Scopes the security context must hold.
	Scopes []string `json:"scopes,omitempty"`
	// MaxBytes bounds the canonical JSON encoding of the data (keys in order; see Cross).
	// Defaults to DefaultMaxBytes.
	MaxBytes int `json:"max_bytes,omitempty"`
	// Fields lists the allowed fields; data with other fields is refused unless AllowUnknown.
	Fields       map[string]Field `json:"fields,omitempty"`
	AllowUnknown bool             `json:"allow_unknown,omitempty"`
	// DetectPII refuses string values (after redaction, at any depth) that look like personal data.
	DetectPII bool `json:"detect_pii,omitempty"`
	// Provenance names a check registered with WithProvenance that must accept the data (for
	// example that Web5 data attached to a transaction carries a valid signature). A name with
	// no registered check denies every crossing.
	Provenance string `json:"provenance,omitempty"`
	// Outbound policies see the data as it leaves From; Inbound ones as it reaches To, redacted.
	Outbound []Policy `json:"outbound,omitempty"`
	Inbound  []Policy `json:"inbound,omitempty"`
}

// DefaultMaxBytes bounds a crossing's data when a boundary sets no MaxBytes.
const DefaultMaxBytes = 64 << 10

// MaxConfigBytes bounds the text ParseBoundaries reads.
const MaxConfigBytes = 1 << 20

func (b *Boundary) name() string { return string(b.From) + "→" + string(b.To) }

func validType(t Type) bool {
	switch t {
	case TypeString, TypeNumber, TypeInteger, TypeBoolean, TypeObject, TypeList, TypeAny:
		return true
	}
	return false
}

// check validates a boundary definition (policies are compiled by New).
func (b *Boundary) check() error {
	n := b.name()
	switch {
	case b.From == "" || b.To == "":
		return &ConfigError{Boundary: n, Reason: "from and to are required"}
	case b.From == b.To:
		return &ConfigError{Boundary: n, Reason: "a boundary joins two different protocols"}
	case b.MaxBytes < 0:
		return &ConfigError{Boundary: n, Field: "max_bytes", Reason: "negative"}
	case b.To == Bitcoin && len(b.Actions) == 0:
		return &ConfigError{Boundary: n, Field: "actions", Reason: "a boundary into bitcoin must list its actions"}
	}
	for _, a := range b.PaymentActions {
		if len(b.Actions) > 0 && !slices.Contains(b.Actions, a) {
			return &ConfigError{Boundary: n, Field: "payment_actions", Reason: fmt.Sprintf("%q is not among the actions", a)}
		}
	}
	for k, f := range b.Fields {
		if k == "" {
			return &ConfigError{Boundary: n, Field: "fields", Reason: "empty field name"}
		}
		if !validType(f.Type) {
			return &ConfigError{Boundary: n, Field: "fields." + k, Reason: fmt.Sprintf("unknown type %q", f.Type)}
		}
		switch f.Redact {
		case RedactNone, RedactRemove, RedactHash:
		default:
			return &ConfigError{Boundary: n, Field: "fields." + k, Reason: fmt.Sprintf("unknown redaction %q", f.Redact)}
		}
		if f.Required && f.Redact == RedactRemove {
			return &ConfigError{Boundary: n, Field: "fields." + k, Reason: "a required field cannot be removed"}
		}
	}
	for _, ps := range [][]Policy{b.Outbound, b.Inbound} {
		for _, p := range ps {
			if p.Name == "" || p.Expr == "" {
				return &ConfigError{Boundary: n, Field: "policies", Reason: "a policy needs a name and an expression"}
			}
		}
	}
	return nil
}

// ParseBoundaries reads boundary definitions from JSON: an array of objects with the fields of
// Boundary. Unknown keys, trailing data and malformed definitions are refused with a
// *ConfigError; CEL policies are compiled (and their errors reported) by New.
func ParseBoundaries(data []byte) ([]Boundary, error) {
	if len(data) > MaxConfigBytes {
		return nil, &ConfigError{Reason: fmt.Sprintf("%d bytes, more than %d", len(data), MaxConfigBytes)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var bs []Boundary
	if err := dec.Decode(&bs); err != nil {
		return nil, &ConfigError{Reason: err.Error()}
	}
	if dec.More() {
		return nil, &ConfigError{Reason: "unexpected data after the definitions"}
	}
	for i := range bs {
		if err := bs[i].check(); err != nil {
			return nil, err
		}
	}
	return bs, nil
}

// Names of the SDK's payment actions, used by DefaultBoundaries.
const (
	ActionVerifyIdentity = "web5.verify_identity"
	ActionAssessRisk     = "ml.assess_risk"
	ActionSendPayment    = "bitcoin.send_payment"
	ActionRecordPayment  = "web5.record_payment"
)

// DefaultBoundaries returns the SDK's boundaries for the six protocol pairs, fitted to the
// verified-payment workflow:
//
//   - web5→ml: only amount_sat, recipient_address, verification_score and sender_did (hashed to a
//     pseudonym) reach the model; values that look like personal data are refused.
//   - bitcoin→ml: chain data for scoring (amount_sat, address, txid, features); no personal data.
//   - ml→bitcoin: payment parameters and risk_score (plus a block flag) for bitcoin.send_payment,
//     a payment action: it needs a verified identity, and ML data can never authorise it.
//   - web5→bitcoin: payment parameters with attached Web5 data for bitcoin.send_payment; the
//     data's signature must pass the provenance check named "web5.signature".
//   - bitcoin→web5 and ml→web5: the payment record (did, payment_id, txid, to_address,
//     amount_sat, risk_score) for web5.record_payment and identity checks.
//
// Using them with New needs WithRedactionKey (for the hashed DID) and, for web5→bitcoin,
// WithProvenance("web5.signature", ...).
func DefaultBoundaries() []Boundary {
	record := map[string]Field{
		"did": {Type: TypeString}, "payment_id": {Type: TypeString}, "txid": {Type: TypeString},
		"to_address": {Type: TypeString}, "amount_sat": {Type: TypeInteger}, "risk_score": {Type: TypeNumber},
		"address": {Type: TypeString}, "credential": {Type: TypeString},
	}
	payment := map[string]Field{
		"payment_id": {Type: TypeString, Required: true}, "from_address": {Type: TypeString, Required: true},
		"to_address": {Type: TypeString, Required: true}, "amount_sat": {Type: TypeInteger, Required: true},
	}
	mlPayment := clone(payment)
	mlPayment["risk_score"] = Field{Type: TypeNumber, Required: true}
	mlPayment["block"] = Field{Type: TypeBoolean}
	web5Payment := clone(payment)
	web5Payment["attachment"] = Field{Type: TypeObject}
	return []Boundary{
		{From: Web5, To: ML, Actions: []string{ActionAssessRisk}, DetectPII: true,
			Fields: map[string]Field{
				"amount_sat": {Type: TypeInteger}, "recipient_address": {Type: TypeString},
				"verification_score": {Type: TypeNumber}, "sender_did": {Type: TypeString, Redact: RedactHash},
			}},
		{From: Bitcoin, To: ML, Actions: []string{ActionAssessRisk}, DetectPII: true,
			Fields: map[string]Field{
				"amount_sat": {Type: TypeInteger}, "address": {Type: TypeString}, "recipient_address": {Type: TypeString},
				"txid": {Type: TypeString}, "features": {Type: TypeObject}, "verification_score": {Type: TypeNumber},
			}},
		{From: ML, To: Bitcoin, Actions: []string{ActionSendPayment}, PaymentActions: []string{ActionSendPayment},
			Fields: mlPayment},
		{From: Web5, To: Bitcoin, Actions: []string{ActionSendPayment}, PaymentActions: []string{ActionSendPayment},
			Fields: web5Payment, Provenance: "web5.signature"},
		{From: Bitcoin, To: Web5, Actions: []string{ActionRecordPayment, ActionVerifyIdentity}, Fields: clone(record)},
		{From: ML, To: Web5, Actions: []string{ActionRecordPayment}, Fields: clone(record)},
	}
}

func clone(m map[string]Field) map[string]Field {
	out := make(map[string]Field, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
