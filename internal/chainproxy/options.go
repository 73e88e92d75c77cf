package chainproxy

import (
	"net/http"
	"strings"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
)

// Sentinels of the package: the bitcoin package's, so that errors.Is works with either name.
var (
	// ErrInvalidOption is [bitcoin.ErrInvalidOption], matched by the [*bitcoin.OptionError]
	// Dial and NewServer return for an invalid option.
	ErrInvalidOption = bitcoin.ErrInvalidOption
	// ErrNotConstructed is [bitcoin.ErrNotConstructed], matched by the
	// [*bitcoin.NotConstructedError] of a zero [Client] or [Server].
	ErrNotConstructed = bitcoin.ErrNotConstructed
)

// Option configures [Dial] ([WithHTTPClient]) or [NewServer] ([WithBeforeBroadcast],
// [WithAfterBroadcast]). An option given to the other constructor is an
// [*bitcoin.OptionError], as is a nil HTTP client.
type Option func(*config)

// What an option configures.
const (
	forDial   = "Dial"
	forServer = "NewServer"
)

type config struct {
	fn      string
	invalid *bitcoin.OptionError // the first option out of range or for the other constructor

	http   *http.Client
	before func(tx *wire.MsgTx) error
	after  func(tx *wire.MsgTx, err error)
}

func (c *config) reject(option string, value any, reason string) {
	if c.invalid == nil {
		c.invalid = &bitcoin.OptionError{Option: "chainproxy." + option, Value: value, Reason: reason}
	}
}

// accepts reports whether option configures the constructor being run.
func (c *config) accepts(option string, value any, fns ...string) bool {
	for _, fn := range fns {
		if fn == c.fn {
			return true
		}
	}
	c.reject(option, value, "does not apply to "+c.fn+" (it configures "+strings.Join(fns, ", ")+")")
	return false
}

func newConfig(fn string, opts []Option) (config, error) {
	c := config{fn: fn, http: &http.Client{}}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.invalid != nil {
		return config{}, c.invalid
	}
	return c, nil
}

// WithHTTPClient sets the client that requests go through (an httptest server's Client, say).
// It configures [Dial]. Defaults to a new http.Client.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) {
		if !c.accepts("WithHTTPClient", hc, forDial) {
			return
		}
		if hc == nil {
			c.reject("WithHTTPClient", nil, "nil client")
			return
		}
		c.http = hc
	}
}

// WithBeforeBroadcast calls hook with each transaction a client asks to broadcast, before
// the chain sees it. An error refuses the broadcast without the chain seeing it, as if the
// node could not be reached. It configures [NewServer]. Defaults to none.
func WithBeforeBroadcast(hook func(tx *wire.MsgTx) error) Option {
	return func(c *config) {
		if c.accepts("WithBeforeBroadcast", hook != nil, forServer) {
			c.before = hook
		}
	}
}

// WithAfterBroadcast calls hook after the chain answered a broadcast, before the client is
// answered. It configures [NewServer]. Defaults to none.
func WithAfterBroadcast(hook func(tx *wire.MsgTx, err error)) Option {
	return func(c *config) {
		if c.accepts("WithAfterBroadcast", hook != nil, forServer) {
			c.after = hook
		}
	}
}
