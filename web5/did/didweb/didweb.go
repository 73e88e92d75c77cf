package didweb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/netguard"
)

// Method is the method name.
const Method = "web"

// Defaults of New.
const (
	// DefaultTimeout bounds a resolution (the whole request, body included) unless
	// WithTimeout or an injected client's Timeout says otherwise.
	DefaultTimeout = netguard.DefaultTimeout
	// DefaultMaxDocumentSize bounds the size of a fetched document: 1 MiB.
	DefaultMaxDocumentSize = 1 << 20
	// MaxRedirects is how many redirects a resolution follows (never from https to http).
	MaxRedirects = netguard.DefaultMaxRedirects
)

// Resolver resolves did:web DIDs over HTTPS. Build one with New: a zero Resolver's Resolve
// returns a *did.NotConstructedError.
type Resolver struct {
	client   *netguard.Client
	loopback bool
}

var _ did.MethodResolver = (*Resolver)(nil)

type config struct {
	client       *http.Client
	loopback     bool
	maxSize      int64
	allowPrivate bool
	allowed      []netip.Prefix
	timeout      time.Duration
	timeoutSet   bool
	clientSet    bool
}

// Option configures New.
type Option func(*config)

// WithHTTPClient sets the HTTP client requests start from. The guard against the host's
// own network still applies: the client's transport (an *http.Transport) is cloned with a
// dialer that refuses non-global addresses, and its proxy is not used; a client with any
// other kind of transport is refused unless WithAllowPrivateNetworks is given too (the
// caller then answers for where it connects). Defaults to a client on a clone of
// http.DefaultTransport.
func WithHTTPClient(c *http.Client) Option {
	return func(cfg *config) { cfg.client, cfg.clientSet = c, true }
}

// WithLoopbackHTTP allows plain HTTP for loopback hosts (localhost, 127.0.0.0/8, ::1).
// Loopback is only reachable with WithAllowPrivateNetworks as well. Defaults to HTTPS
// everywhere.
func WithLoopbackHTTP() Option { return func(cfg *config) { cfg.loopback = true } }

// WithMaxDocumentSize bounds the size of a fetched document. Defaults to DefaultMaxDocumentSize.
func WithMaxDocumentSize(n int64) Option { return func(cfg *config) { cfg.maxSize = n } }

// WithAllowPrivateNetworks lets resolution connect to loopback, private, link-local and
// other non-global addresses, for tests and private deployments. A did:web is chosen by
// whoever wrote it and would otherwise reach into the host's own network (see package
// netguard). Defaults to refusing them.
func WithAllowPrivateNetworks() Option { return func(cfg *config) { cfg.allowPrivate = true } }

// WithAllowedNetworks allows the given non-global prefixes only (a private deployment's
// network), keeping the others refused. Defaults to none.
func WithAllowedNetworks(prefixes ...netip.Prefix) Option {
	return func(cfg *config) { cfg.allowed = append(cfg.allowed, prefixes...) }
}

// WithTimeout bounds each resolution, reading the document included. Defaults to the
// injected client's Timeout, or DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(cfg *config) { cfg.timeout, cfg.timeoutSet = d, true }
}

// New returns a did:web resolver. Invalid options are reported as *did.OptionError.
func New(opts ...Option) (*Resolver, error) {
	cfg := config{maxSize: DefaultMaxDocumentSize}
	for i, o := range opts {
		if o == nil {
			return nil, &did.OptionError{Option: "Option", Value: i, Reason: "nil option"}
		}
		o(&cfg)
	}
	switch {
	case cfg.maxSize <= 0:
		return nil, &did.OptionError{Option: "WithMaxDocumentSize", Value: cfg.maxSize, Reason: "must be positive"}
	case cfg.timeoutSet && cfg.timeout <= 0:
		return nil, &did.OptionError{Option: "WithTimeout", Value: cfg.timeout, Reason: "must be positive"}
	case cfg.clientSet && cfg.client == nil:
		return nil, &did.OptionError{Option: "WithHTTPClient", Reason: "nil client"}
	}
	gopts := []netguard.Option{netguard.WithMaxBodySize(cfg.maxSize), netguard.WithMaxRedirects(MaxRedirects), netguard.WithAllowedNetworks(cfg.allowed...)}
	if cfg.client != nil {
		gopts = append(gopts, netguard.WithHTTPClient(cfg.client))
	}
	if cfg.allowPrivate {
		gopts = append(gopts, netguard.WithAllowPrivateNetworks())
	}
	if cfg.timeoutSet {
		gopts = append(gopts, netguard.WithTimeout(cfg.timeout))
	}
	client, err := netguard.New(gopts...)
	if err != nil {
		var oe *netguard.OptionError
		if errors.As(err, &oe) {
			return nil, &did.OptionError{Option: oe.Option, Value: oe.Value, Reason: oe.Reason}
		}
		return nil, err
	}
	return &Resolver{client: client, loopback: cfg.loopback}, nil
}

// Method returns "web".
func (r *Resolver) Method() string { return Method }

// DocumentURL returns the HTTPS URL of a did:web document.
func DocumentURL(d did.DID) (string, error) {
	u, err := documentURL(d, false)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

func documentURL(d did.DID, loopbackHTTP bool) (*url.URL, error) {
	if d.Method != Method {
		return nil, did.NewError(did.CodeMethodNotSupported, d.String(), errors.New("not a did:web"))
	}
	parts := strings.Split(d.ID, ":")
	host, err := url.PathUnescape(parts[0])
	if err != nil || host == "" {
		return nil, did.NewError(did.CodeInvalidDID, d.String(), errors.New("bad host"))
	}
	h, port, err := net.SplitHostPort(host)
	if err != nil {
		h, port = host, ""
		if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
			h = h[1 : len(h)-1] // an IPv6 literal without a port
		}
	}
	if !validHost(h) {
		return nil, did.NewError(did.CodeInvalidDID, d.String(), fmt.Errorf("%q is not a host name", host))
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return nil, did.NewError(did.CodeInvalidDID, d.String(), fmt.Errorf("bad port %q", port))
		}
	}
	segs := make([]string, 0, len(parts))
	for _, p := range parts[1:] {
		s, err := url.PathUnescape(p)
		if err != nil || s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\?#") {
			return nil, did.NewError(did.CodeInvalidDID, d.String(), fmt.Errorf("bad path segment %q", p))
		}
		segs = append(segs, s)
	}
	u := &url.URL{Scheme: "https", Host: host}
	if loopbackHTTP && isLoopback(h) {
		u.Scheme = "http"
	}
	if len(segs) == 0 {
		u.Path = "/.well-known/did.json"
	} else {
		u.Path = "/" + strings.Join(segs, "/") + "/did.json"
	}
	return u, nil
}

func validHost(h string) bool {
	if ip := net.ParseIP(h); ip != nil {
		return true
	}
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func isLoopback(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Resolve fetches and checks the document of a did:web.
func (r *Resolver) Resolve(ctx context.Context, d did.DID) (*did.Result, error) {
	if r == nil || r.client == nil {
		return nil, did.NewError(did.CodeInternalError, d.String(), &did.NotConstructedError{Type: "didweb.Resolver", Constructor: "didweb.New"})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u, err := documentURL(d, r.loopback)
	if err != nil {
		return nil, err
	}
	resp, err := r.client.Get(ctx, u.String(), did.MediaTypeDIDJSON+", application/json")
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil, did.NewError(did.CodeNotFound, d.String(), err)
		}
		return nil, did.NewError(did.CodeInternalError, d.String(), err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, did.NewError(did.CodeNotFound, d.String(), fmt.Errorf("%s: %s", u, resp.Status))
	case resp.StatusCode != http.StatusOK:
		return nil, did.NewError(did.CodeInternalError, d.String(), fmt.Errorf("%s: %s", u, resp.Status))
	}
	body := resp.Body
	var doc did.Document
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, did.NewError(did.CodeInternalError, d.String(), fmt.Errorf("document is not JSON: %w", err))
	}
	if doc.ID != d.String() {
		return nil, did.NewError(did.CodeInternalError, d.String(), fmt.Errorf("document id %q is not the DID", doc.ID))
	}
	if err := doc.Validate(); err != nil {
		return nil, did.NewError(did.CodeInternalError, d.String(), err)
	}
	return &did.Result{Document: &doc, TTL: cacheTTL(resp.Header.Get("Cache-Control"))}, nil
}

// cacheTTL reads max-age from Cache-Control; no-store and no-cache mean not cacheable.
func cacheTTL(cc string) time.Duration {
	for _, d := range strings.Split(cc, ",") {
		d = strings.TrimSpace(strings.ToLower(d))
		switch {
		case d == "no-store" || d == "no-cache":
			return -1
		case strings.HasPrefix(d, "max-age="):
			if n, err := strconv.Atoi(strings.TrimPrefix(d, "max-age=")); err == nil {
				if n <= 0 {
					return -1
				}
				return time.Duration(n) * time.Second
			}
		}
	}
	return 0
}
