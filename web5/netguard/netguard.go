package netguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// Defaults of New.
const (
	// DefaultTimeout bounds a request, body included, when the client has no timeout.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxRedirects is how many redirects a request may follow.
	DefaultMaxRedirects = 3
	// DefaultMaxBodySize bounds the body Fetch reads: 1 MiB.
	DefaultMaxBodySize = 1 << 20
)

var (
	// ErrForbiddenAddress reports a connection to an address that is not globally
	// reachable (loopback, private, link-local, ...; see Check).
	ErrForbiddenAddress = errors.New("netguard: address not allowed")
	// ErrRedirect reports a redirect the client refuses: too many, or from https to http.
	ErrRedirect = errors.New("netguard: redirect refused")
	// ErrTooLarge reports a response body larger than the client's limit.
	ErrTooLarge = errors.New("netguard: response too large")
	// ErrScheme reports a URL that is not http or https.
	ErrScheme = errors.New("netguard: unsupported URL scheme")
	// ErrTimeout reports a request that took longer than the client's timeout.
	ErrTimeout = errors.New("netguard: request timed out")
	// ErrInvalidOption reports an invalid option of New.
	ErrInvalidOption = errors.New("netguard: invalid option")
)

// AddressError reports a refused destination address. It matches ErrForbiddenAddress.
type AddressError struct {
	Addr   netip.Addr
	Reason string
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("%v: %s is %s", ErrForbiddenAddress, e.Addr, e.Reason)
}

// Is matches ErrForbiddenAddress.
func (e *AddressError) Is(target error) bool { return target == ErrForbiddenAddress }

// RedirectError reports a refused redirect. It matches ErrRedirect.
type RedirectError struct {
	URL    string
	Reason string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("%v to %s: %s", ErrRedirect, e.URL, e.Reason)
}

// Is matches ErrRedirect.
func (e *RedirectError) Is(target error) bool { return target == ErrRedirect }

// SizeError reports a response body over Limit bytes. It matches ErrTooLarge.
type SizeError struct {
	URL   string
	Limit int64
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%v: %s: more than %d bytes", ErrTooLarge, e.URL, e.Limit)
}

// Is matches ErrTooLarge.
func (e *SizeError) Is(target error) bool { return target == ErrTooLarge }

// OptionError reports an invalid option of New. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("%v: %s(%v): %s", ErrInvalidOption, e.Option, e.Value, e.Reason)
}

// Is matches ErrInvalidOption.
func (e *OptionError) Is(target error) bool { return target == ErrInvalidOption }

// Option configures New.
type Option func(*config)

type config struct {
	client       *http.Client
	allowAll     bool
	allowed      []netip.Prefix
	timeout      time.Duration
	timeoutSet   bool
	maxRedirects int
	maxBody      int64
}

// WithHTTPClient starts from c (see the package documentation for how the guard applies to
// it). Defaults to a new client on a clone of http.DefaultTransport.
func WithHTTPClient(c *http.Client) Option { return func(cfg *config) { cfg.client = c } }

// WithAllowPrivateNetworks allows every destination address, for tests on loopback and
// private deployments. Defaults to refusing addresses that are not globally reachable.
func WithAllowPrivateNetworks() Option { return func(cfg *config) { cfg.allowAll = true } }

// WithAllowedNetworks allows the given prefixes (a private deployment's network) while
// refusing the other non-global addresses. Defaults to none.
func WithAllowedNetworks(prefixes ...netip.Prefix) Option {
	return func(cfg *config) { cfg.allowed = append(cfg.allowed, prefixes...) }
}

// WithTimeout bounds each request, reading the body included. Defaults to the injected
// client's Timeout, or DefaultTimeout when it has none.
func WithTimeout(d time.Duration) Option {
	return func(cfg *config) { cfg.timeout, cfg.timeoutSet = d, true }
}

// WithMaxRedirects bounds the redirects a request follows (0: none). Defaults to
// DefaultMaxRedirects.
func WithMaxRedirects(n int) Option { return func(cfg *config) { cfg.maxRedirects = n } }

// WithMaxBodySize bounds the body Fetch reads. Defaults to DefaultMaxBodySize.
func WithMaxBodySize(n int64) Option { return func(cfg *config) { cfg.maxBody = n } }

// Client is an HTTP client that refuses non-global destinations (unless allowed), bounds
// redirects and time, and reads bounded bodies. It is safe for concurrent use. The zero
// value is ready to use: it is the client New returns with no options.
type Client struct {
	once    sync.Once
	http    *http.Client
	maxBody int64
}

// init makes a zero Client the default one.
func (c *Client) init() {
	c.once.Do(func() {
		if c.http == nil {
			d, err := New()
			if err != nil {
				panic("netguard: the defaults are invalid: " + err.Error())
			}
			c.http, c.maxBody = d.http, d.maxBody
		}
	})
}

// New returns a client. Invalid options are reported as *OptionError.
func New(opts ...Option) (*Client, error) {
	cfg := config{maxRedirects: DefaultMaxRedirects, maxBody: DefaultMaxBodySize}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.timeoutSet && cfg.timeout <= 0:
		return nil, &OptionError{Option: "WithTimeout", Value: cfg.timeout, Reason: "must be positive"}
	case cfg.maxRedirects < 0:
		return nil, &OptionError{Option: "WithMaxRedirects", Value: cfg.maxRedirects, Reason: "negative"}
	case cfg.maxBody <= 0:
		return nil, &OptionError{Option: "WithMaxBodySize", Value: cfg.maxBody, Reason: "must be positive"}
	}
	for _, p := range cfg.allowed {
		if !p.IsValid() {
			return nil, &OptionError{Option: "WithAllowedNetworks", Value: p, Reason: "invalid prefix"}
		}
	}
	var c http.Client
	if cfg.client != nil {
		c = *cfg.client
	}
	switch {
	case cfg.timeoutSet:
		c.Timeout = cfg.timeout
	case c.Timeout == 0:
		c.Timeout = DefaultTimeout
	}
	if !cfg.allowAll {
		t, err := guardedTransport(c.Transport, cfg.allowed)
		if err != nil {
			return nil, err
		}
		c.Transport = t
	}
	next, max := c.CheckRedirect, cfg.maxRedirects
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > max {
			return &RedirectError{URL: req.URL.Redacted(), Reason: fmt.Sprintf("more than %d redirects", max)}
		}
		if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return &RedirectError{URL: req.URL.Redacted(), Reason: "from https to " + req.URL.Scheme}
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &Client{http: &c, maxBody: cfg.maxBody}, nil
}

func guardedTransport(rt http.RoundTripper, allowed []netip.Prefix) (*http.Transport, error) {
	var t *http.Transport
	switch x := rt.(type) {
	case nil:
		t = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		//lint:ignore SA1019 a deprecated DialTLS would bypass the guard as well
		if x.DialTLSContext != nil || x.DialTLS != nil {
			return nil, &OptionError{Option: "WithHTTPClient", Value: fmt.Sprintf("%T", rt), Reason: "its transport dials TLS itself, past the guard; use WithAllowPrivateNetworks if it enforces its own policy"}
		}
		t = x.Clone()
	default:
		return nil, &OptionError{Option: "WithHTTPClient", Value: fmt.Sprintf("%T", rt), Reason: "the guard can only check the addresses of an *http.Transport; use WithAllowPrivateNetworks if this transport enforces its own policy"}
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: control(allowed)}
	t.DialContext = d.DialContext // takes priority over a deprecated Dial
	t.Proxy = nil
	return t, nil
}

// control returns a net.Dialer Control function refusing non-global addresses outside
// allowed. It sees the resolved address of every connection attempt.
func control(allowed []netip.Prefix) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &AddressError{Reason: fmt.Sprintf("not an IP address (%q)", address)}
		}
		a := ap.Addr().WithZone("")
		for _, p := range allowed {
			if p.Contains(a) || p.Contains(a.Unmap()) {
				return nil
			}
		}
		return Check(a)
	}
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	v4compat  = netip.MustParsePrefix("::/96")
)

// special holds the non-global ranges netip.Addr has no predicate for (RFC 6890 and the
// IANA special-purpose registries).
var special = []struct {
	p      netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "in 0.0.0.0/8 (this network)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (CGNAT, 100.64.0.0/10)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved for IETF protocol assignments (192.0.0.0/24)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "reserved for documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved for benchmarking (198.18.0.0/15)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "reserved for documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "reserved for documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (240.0.0.0/4, broadcast included)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64 (64:ff9b:1::/48)"},
	{netip.MustParsePrefix("100::/64"), "the IPv6 discard prefix"},
	{netip.MustParsePrefix("2001:db8::/32"), "reserved for documentation"},
	{netip.MustParsePrefix("fec0::/10"), "site-local (fec0::/10)"},
}

// Check reports whether a is a globally reachable unicast address, returning an
// *AddressError naming the range otherwise. IPv6 addresses that embed an IPv4 address
// (IPv4-mapped, IPv4-compatible, 6to4, NAT64) are judged by the embedded address.
func Check(a netip.Addr) error {
	a = a.WithZone("")
	if !a.IsValid() {
		return &AddressError{Addr: a, Reason: "not an IP address"}
	}
	if a.Is4In6() {
		if err := Check(a.Unmap()); err != nil {
			return &AddressError{Addr: a, Reason: "an IPv4-mapped " + err.(*AddressError).Reason}
		}
		return nil
	}
	switch {
	case a.IsUnspecified():
		return &AddressError{Addr: a, Reason: "unspecified"}
	case a.IsLoopback():
		return &AddressError{Addr: a, Reason: "loopback"}
	case a.IsPrivate():
		return &AddressError{Addr: a, Reason: "private"}
	case a.IsLinkLocalUnicast():
		return &AddressError{Addr: a, Reason: "link-local"}
	case a.IsMulticast():
		return &AddressError{Addr: a, Reason: "multicast"}
	}
	for _, s := range special {
		if s.p.Contains(a) {
			return &AddressError{Addr: a, Reason: s.reason}
		}
	}
	if a.Is6() {
		b := a.As16()
		var embedded netip.Addr
		switch {
		case v4compat.Contains(a):
			return &AddressError{Addr: a, Reason: "IPv4-compatible (::/96, deprecated)"}
		case nat64.Contains(a):
			embedded = netip.AddrFrom4([4]byte(b[12:16]))
		case sixToFour.Contains(a):
			embedded = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if embedded.IsValid() {
			if err := Check(embedded); err != nil {
				return &AddressError{Addr: a, Reason: "an IPv6 form of an address that is " + err.(*AddressError).Reason}
			}
		}
	}
	return nil
}

// HTTPClient returns the guarded *http.Client, for callers that stream bodies themselves
// (they must bound what they read).
func (c *Client) HTTPClient() *http.Client {
	c.init()
	return c.http
}

// Response is a fetched response with its whole (bounded) body.
type Response struct {
	StatusCode int
	Status     string
	Header     http.Header
	Body       []byte
}

// Get fetches rawURL (http or https only) with the given Accept header.
func (c *Client) Get(ctx context.Context, rawURL, accept string) (*Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q", ErrScheme, clip(rawURL))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return c.Fetch(req)
}

// Fetch sends req and reads the whole body, at most the client's body limit (a larger one
// is a *SizeError). A refused destination or redirect is an error matching
// ErrForbiddenAddress or ErrRedirect; a done context yields ctx.Err().
func (c *Client) Fetch(req *http.Request) (*Response, error) {
	c.init()
	if req == nil || req.URL == nil {
		return nil, fmt.Errorf("%w: no request URL", ErrScheme)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%w: %q", ErrScheme, req.URL.Scheme)
	}
	ctx := req.Context()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fetchErr(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, fetchErr(ctx, err)
	}
	if int64(len(body)) > c.maxBody {
		return nil, &SizeError{URL: req.URL.Redacted(), Limit: c.maxBody}
	}
	return &Response{StatusCode: resp.StatusCode, Status: resp.Status, Header: resp.Header, Body: body}, nil
}

// fetchErr returns ctx.Err() when the caller's context ended, marks the client's own
// timeout with ErrTimeout, and returns other errors as they are.
func fetchErr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	}
	return err
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
