package keystore

import "time"

// Option configures a store: an SQL store (Open) or a Memory store (NewMemory). The package has
// one option type: WithClock configures both and WithKDF an SQL store. A constructor given an
// option that does not configure what it makes returns an *OptionError saying it "does not
// apply" and constructs nothing.
type Option func(*config)

// The kinds of store an option configures.
const (
	kindSQL    = "SQL"
	kindMemory = "Memory"
)

type config struct {
	kind   string       // what is being constructed: kindSQL or kindMemory
	misuse *OptionError // the first option that does not apply to it
	kdf    KDF
	now    func() time.Time
}

// WithKDF sets the Argon2id cost of a passphrase-derived key when Open creates a store (an
// existing store keeps the cost in its header). It must be at least MinKDF. It configures an
// SQL store. Defaults to DefaultKDF.
func WithKDF(k KDF) Option {
	return func(c *config) {
		if c.kind != kindSQL {
			if c.misuse == nil {
				c.misuse = &OptionError{Option: "WithKDF", Value: k, Reason: "does not apply to " + c.kind + " (it configures an SQL store)"}
			}
			return
		}
		c.kdf = k
	}
}

// WithClock sets the clock that dates entries. It configures both stores. Defaults to
// time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// newConfig applies the defaults, then opts in order (nil options are skipped), then validates
// the result once.
func newConfig(kind string, opts []Option) (config, error) {
	c := config{kind: kind, kdf: DefaultKDF, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	switch {
	case c.misuse != nil:
		return config{}, c.misuse
	case c.now == nil:
		return config{}, &OptionError{Option: "WithClock", Reason: "must not be nil"}
	}
	if err := c.kdf.check(maxKDF); err != nil {
		return config{}, &OptionError{Option: "WithKDF", Value: c.kdf, Reason: err.Error()}
	}
	return c, nil
}
