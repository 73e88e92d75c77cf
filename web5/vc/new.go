package vc

import (
	"crypto/rand"
	"fmt"
	"time"
)

// Option configures the credential New builds.
type Option func(*newConfig)

type newConfig struct {
	v2       bool
	types    []string
	id       string
	contexts []any
	from     time.Time
	until    time.Time
	status   []Status
	schemas  []Schema
}

// WithVersion chooses the data model: V2 makes a 2.0 credential (validFrom/validUntil,
// secured as vc+jwt). Defaults to V1.
func WithVersion(v Version) Option { return func(c *newConfig) { c.v2 = v == V2 } }

// WithType adds credential types after VerifiableCredential. Defaults to none.
func WithType(types ...string) Option {
	return func(c *newConfig) { c.types = append(c.types, types...) }
}

// WithID sets the credential id. Defaults to a random urn:uuid.
func WithID(id string) Option { return func(c *newConfig) { c.id = id } }

// WithContext adds @context entries after the base context. Defaults to none.
func WithContext(contexts ...string) Option {
	return func(c *newConfig) {
		for _, x := range contexts {
			c.contexts = append(c.contexts, x)
		}
	}
}

// ValidFrom sets issuanceDate (1.1) or validFrom (2.0). Defaults to now (time.Now, in UTC,
// truncated to the second).
func ValidFrom(t time.Time) Option { return func(c *newConfig) { c.from = t } }

// ValidUntil sets expirationDate (1.1) or validUntil (2.0). Defaults to none.
func ValidUntil(t time.Time) Option { return func(c *newConfig) { c.until = t } }

// WithStatus adds a credentialStatus entry (see NewStatusEntry). Defaults to none.
func WithStatus(s Status) Option { return func(c *newConfig) { c.status = append(c.status, s) } }

// WithSchema adds a credentialSchema entry. Defaults to none.
func WithSchema(id, typ string) Option {
	return func(c *newConfig) { c.schemas = append(c.schemas, Schema{ID: id, Type: typ}) }
}

// New returns a validated credential issued by issuer (a URI, usually a DID) with one
// subject whose claims are subject (its "id", if any, names the subject). Its issuance date
// is now unless ValidFrom says otherwise: New takes no clock.
func New(issuer string, subject Subject, opts ...Option) (*Credential, error) {
	var cfg newConfig
	for i, o := range opts {
		if o == nil {
			return nil, &OptionError{Option: "Option", Value: i, Reason: "nil option"}
		}
		o(&cfg)
	}
	if cfg.id == "" {
		cfg.id = NewUUID()
	}
	if cfg.from.IsZero() {
		cfg.from = time.Now().UTC().Truncate(time.Second)
	}
	c := &Credential{
		ID:                cfg.id,
		Type:              append([]string{TypeCredential}, cfg.types...),
		Issuer:            Issuer{ID: issuer},
		CredentialSubject: []Subject{subject},
		CredentialStatus:  cfg.status,
		CredentialSchema:  cfg.schemas,
	}
	if cfg.v2 {
		c.Context = append([]any{ContextV2}, cfg.contexts...)
		c.ValidFrom, c.ValidUntil = cfg.from, cfg.until
	} else {
		c.Context = append([]any{ContextV1}, cfg.contexts...)
		c.IssuanceDate, c.ExpirationDate = cfg.from, cfg.until
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// NewUUID returns a random (version 4) UUID URN.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
