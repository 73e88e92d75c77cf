package diddht

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/netguard"
)

// DefaultTimeout bounds a gateway request when no *http.Client is given.
const DefaultTimeout = 10 * time.Second

// Client publishes and resolves did:dht documents through a gateway's DHT API. It is a
// did.MethodResolver and safe for concurrent use. Build one with NewClient: the methods of
// a zero Client that need a gateway return a *did.NotConstructedError.
type Client struct {
	gateway *url.URL
	http    *http.Client
	guarded *http.Client // for gateways named by documents; nil unless following them
	now     func() time.Time
	log     *slog.Logger
}

var _ did.MethodResolver = (*Client)(nil)

// What an option configures.
const (
	forClient  = "Client"
	forGateway = "Gateway"
)

// config is the configuration of NewClient and NewGateway. The package has one option
// type: WithClock and WithLogger configure both, the others one of them.
type config struct {
	kind   string           // what is being constructed: forClient or forGateway
	misuse *did.OptionError // the first option of the other kind

	now func() time.Time
	log *slog.Logger

	// Client
	http    *http.Client
	httpSet bool
	follow  bool

	// Gateway
	maxRecords int
	history    int
}

// accepts reports whether an option configuring kind applies to what is being built; the
// first one that does not is recorded.
func (c *config) accepts(kind, option string, value any) bool {
	if c.kind == kind {
		return true
	}
	if c.misuse == nil {
		c.misuse = &did.OptionError{Option: option, Value: value, Reason: "configures a " + kind + ", not a " + c.kind}
	}
	return false
}

// apply applies opts over the defaults and checks what every constructor checks.
func apply(kind string, opts []Option) (config, error) {
	cfg := config{kind: kind, now: time.Now, log: slog.New(slog.DiscardHandler), maxRecords: DefaultMaxRecords, history: DefaultHistory}
	for i, o := range opts {
		if o == nil {
			return cfg, &did.OptionError{Option: "Option", Value: i, Reason: "nil option"}
		}
		o(&cfg)
	}
	switch {
	case cfg.misuse != nil:
		return cfg, cfg.misuse
	case cfg.now == nil:
		return cfg, &did.OptionError{Option: "WithClock", Reason: "nil clock"}
	case cfg.log == nil:
		return cfg, &did.OptionError{Option: "WithLogger", Reason: "nil logger"}
	case cfg.httpSet && cfg.http == nil:
		return cfg, &did.OptionError{Option: "WithHTTPClient", Reason: "nil client"}
	case cfg.maxRecords <= 0:
		return cfg, &did.OptionError{Option: "WithMaxRecords", Value: cfg.maxRecords, Reason: "must be positive"}
	case cfg.history <= 0:
		return cfg, &did.OptionError{Option: "WithHistory", Value: cfg.history, Reason: "must be positive"}
	}
	return cfg, nil
}

// Option configures NewClient and NewGateway. Each option says which it configures; given
// to the other constructor it is an *did.OptionError.
type Option func(*config)

// WithClock sets the clock: a Client's sequence numbers (Unix seconds) and the time a
// Gateway rejects far-future sequence numbers against. It configures both. Defaults to
// time.Now.
func WithClock(now func() time.Time) Option { return func(cfg *config) { cfg.now = now } }

// WithLogger sets the logger: a Client logs authoritative gateways that fail, a Gateway
// refused writes. It configures both. Defaults to discarding logs.
func WithLogger(l *slog.Logger) Option { return func(cfg *config) { cfg.log = l } }

// WithHTTPClient sets the HTTP client a Client talks to its gateway with. It configures a
// Client. Defaults to a client with DefaultTimeout.
func WithHTTPClient(c *http.Client) Option {
	return func(cfg *config) {
		if cfg.accepts(forClient, "WithHTTPClient", nil) {
			cfg.http, cfg.httpSet = c, true
		}
	}
}

// WithAuthoritativeGateways makes Resolve also ask the gateways a document names in its NS
// records (over HTTPS) and keep the version with the highest sequence number, as the
// specification's Read step 5 describes. Those hosts are chosen by the document's author,
// so the requests go through a package netguard client: a document cannot point the
// resolver into the host's own network (loopback, private, link-local and other
// non-global addresses are refused when dialling, and on every redirect). The guarded
// client is built from the WithHTTPClient client when that has an *http.Transport, else
// from a default one; the gateway given to NewClient is the host's choice and is not
// guarded. It configures a Client. Defaults to off.
func WithAuthoritativeGateways() Option {
	return func(cfg *config) {
		if cfg.accepts(forClient, "WithAuthoritativeGateways", nil) {
			cfg.follow = true
		}
	}
}

// NewClient returns a client for the gateway at gatewayURL (http or https). Invalid
// options and a gatewayURL that is not an http(s) URL are reported as *did.OptionError.
func NewClient(gatewayURL string, opts ...Option) (*Client, error) {
	cfg, err := apply(forClient, opts)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(gatewayURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &did.OptionError{Option: "gatewayURL", Value: gatewayURL, Reason: "not an http(s) URL"}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if cfg.http == nil {
		cfg.http = &http.Client{Timeout: DefaultTimeout}
	}
	c := &Client{gateway: u, http: cfg.http, now: cfg.now, log: cfg.log}
	if cfg.follow {
		opts := []netguard.Option{netguard.WithMaxBodySize(72 + MaxPacketSize)}
		g, err := netguard.New(append(opts, netguard.WithHTTPClient(cfg.http))...)
		if errors.Is(err, netguard.ErrInvalidOption) {
			g, err = netguard.New(opts...) // a transport the guard cannot see into: start afresh
		}
		if err != nil {
			return nil, &did.OptionError{Option: "WithAuthoritativeGateways", Reason: err.Error()}
		}
		c.guarded = g.HTTPClient()
	}
	return c, nil
}

// errClientNotConstructed is the error of a zero Client.
var errClientNotConstructed = &did.NotConstructedError{Type: "diddht.Client", Constructor: "diddht.NewClient"}

func (c *Client) constructed() bool { return c != nil && c.gateway != nil }

// Method returns "dht".
func (c *Client) Method() string { return Method }

// Gateway returns the gateway URL ("" for a zero Client).
func (c *Client) Gateway() string {
	if !c.constructed() {
		return ""
	}
	return c.gateway.String()
}

// Publish signs the bearer DID's document with its identity key (sequence number: now, in
// Unix seconds) and puts it to the gateway. On success the DID's metadata records
// "published" and "versionId".
func (c *Client) Publish(ctx context.Context, b *did.BearerDID) error {
	if !c.constructed() {
		return errClientNotConstructed
	}
	p, err := packetOf(b)
	if err != nil {
		return err
	}
	return c.publish(ctx, b, p)
}

// Deactivate publishes the deactivated record set for the DID.
func (c *Client) Deactivate(ctx context.Context, b *did.BearerDID) error {
	if !c.constructed() {
		return errClientNotConstructed
	}
	p, err := packetOf(b)
	if err != nil {
		return err
	}
	p.Deactivated = true
	return c.publish(ctx, b, p)
}

func (c *Client) publish(ctx context.Context, b *did.BearerDID, p *Packet) error {
	v, err := p.Marshal()
	if err != nil {
		return err
	}
	signer, err := b.Signer(ctx, did.WithMethod("#0"))
	if err != nil {
		return err
	}
	seq := c.now().Unix()
	m, err := SignMessage(ctx, signer, seq, v)
	if err != nil {
		return err
	}
	if err := c.put(ctx, c.gateway, b.DID.ID, m); err != nil {
		return err
	}
	if b.Metadata == nil {
		b.Metadata = map[string]any{}
	}
	b.Metadata["published"] = true
	b.Metadata["versionId"] = strconv.FormatInt(seq, 10)
	return nil
}

// Put sends a signed message for the DID suffix id to the gateway.
func (c *Client) Put(ctx context.Context, id string, m *Message) error {
	if !c.constructed() {
		return errClientNotConstructed
	}
	if m == nil {
		return &did.OptionError{Option: "m", Reason: "nil message"}
	}
	return c.put(ctx, c.gateway, id, m)
}

func (c *Client) put(ctx context.Context, gw *url.URL, id string, m *Message) error {
	body, _ := m.MarshalBinary()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, gw.JoinPath(id).String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("diddht: publish: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusConflict:
		return fmt.Errorf("%w: %s", ErrConflict, bytes.TrimSpace(msg))
	default:
		return fmt.Errorf("diddht: publish: gateway answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
}

// Get fetches the signed message of a DID suffix from the gateway without verifying it.
// A missing record is an error matching did.ErrNotFound.
func (c *Client) Get(ctx context.Context, id string) (*Message, error) {
	if !c.constructed() {
		return nil, errClientNotConstructed
	}
	return c.get(ctx, c.http, c.gateway, id)
}

func (c *Client) get(ctx context.Context, hc *http.Client, gw *url.URL, id string) (*Message, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, gw.JoinPath(id).String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("diddht: gateway %s: %w", gw.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 72+MaxPacketSize+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("diddht: gateway %s: %w", gw.Host, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, did.NewError(did.CodeNotFound, "did:dht:"+id, fmt.Errorf("gateway %s has no record", gw.Host))
	default:
		return nil, fmt.Errorf("diddht: gateway %s answered %s", gw.Host, resp.Status)
	}
	return ParseMessage(body)
}

// Resolve fetches the DID's signed record set, verifies the BEP44 signature with the
// identity key in the DID, and rebuilds the document.
func (c *Client) Resolve(ctx context.Context, d did.DID) (*did.Result, error) {
	if !c.constructed() {
		return nil, did.NewError(did.CodeInternalError, d.String(), errClientNotConstructed)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	identity, err := IdentityKey(d)
	if err != nil {
		return nil, err
	}
	fetch := func(hc *http.Client, gw *url.URL) (*Message, *Packet, error) {
		m, err := c.get(ctx, hc, gw, d.ID)
		if err != nil {
			return nil, nil, err
		}
		if err := m.Verify(identity); err != nil {
			return nil, nil, did.NewError(did.CodeInternalError, d.String(), fmt.Errorf("gateway %s: %w", gw.Host, err))
		}
		p, err := ParsePacket(d, m.V)
		if err != nil {
			return nil, nil, did.NewError(did.CodeInternalError, d.String(), err)
		}
		return m, p, nil
	}
	m, p, err := fetch(c.http, c.gateway)
	if err != nil {
		return nil, err
	}
	gateway := c.gateway.String()
	if c.guarded != nil {
		for _, host := range p.Gateways {
			gw := &url.URL{Scheme: "https", Host: host}
			if gw.Host == c.gateway.Host {
				continue
			}
			m2, p2, err := fetch(c.guarded, gw)
			if err != nil {
				if ctxErr := ctx.Err(); ctxErr != nil {
					return nil, ctxErr
				}
				c.log.DebugContext(ctx, "authoritative gateway failed", "gateway", host, "err", err)
				continue
			}
			if m2.Seq > m.Seq {
				m, p, gateway = m2, p2, gw.String()
			}
		}
	}
	return resultOf(d, m, p, gateway), nil
}

func resultOf(d did.DID, m *Message, p *Packet, gateway string) *did.Result {
	at := time.Unix(m.Seq, 0).UTC().Format(time.RFC3339)
	res := &did.Result{
		ResolutionMetadata: did.ResolutionMetadata{Gateway: gateway},
		DocumentMetadata: did.DocumentMetadata{
			VersionID: strconv.FormatInt(m.Seq, 10),
			Created:   at,
			Updated:   at,
			Types:     p.Types,
		},
		TTL: time.Duration(p.TTL) * time.Second,
	}
	if p.Deactivated {
		res.Document = &did.Document{ID: d.String()}
		res.DocumentMetadata.Deactivated = true
		return res
	}
	res.Document = p.Document
	return res
}
