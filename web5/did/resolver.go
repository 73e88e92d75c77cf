package did

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// MethodResolver resolves the DIDs of one DID method. A Resolver is built from the
// method resolvers a host chooses; there is no global registry.
//
// Implementations MUST be safe for concurrent use. Resolve is called only with DIDs of
// the method Method returns. It MUST return a result whose document id is the DID, or an
// error; failures SHOULD be *ResolutionError values (see NewError) carrying the right code
// (notFound, invalidDid, invalidPublicKey, ...), and a done ctx MUST yield ctx.Err().
// Package didtest holds the conformance suite every method resolver runs.
type MethodResolver interface {
	Method() string
	Resolve(ctx context.Context, d DID) (*Result, error)
}

// Defaults of NewResolver.
const (
	// DefaultCacheSize is the number of results the default cache holds.
	DefaultCacheSize = 1024
	// DefaultTTL is how long a result is cached when its method gives no TTL.
	DefaultTTL = 5 * time.Minute
	// DefaultMaxTTL caps every TTL.
	DefaultMaxTTL = time.Hour
)

// Resolver resolves DIDs through the method resolvers it was built with, caching results.
// It is safe for concurrent use.
type Resolver struct {
	methods    map[string]MethodResolver
	cache      Cache
	defaultTTL time.Duration
	maxTTL     time.Duration
	log        *slog.Logger
}

type resolverConfig struct {
	cache      Cache
	noCache    bool
	cacheSize  int
	defaultTTL time.Duration
	maxTTL     time.Duration
	log        *slog.Logger
}

// Option configures NewResolver.
type Option func(*resolverConfig)

// WithCache sets the cache. Defaults to a MemoryCache of DefaultCacheSize entries.
func WithCache(c Cache) Option { return func(cfg *resolverConfig) { cfg.cache = c } }

// WithoutCache turns caching off. Defaults to caching.
func WithoutCache() Option { return func(cfg *resolverConfig) { cfg.noCache = true } }

// WithCacheSize sets the size of the default cache. Defaults to DefaultCacheSize.
func WithCacheSize(n int) Option { return func(cfg *resolverConfig) { cfg.cacheSize = n } }

// WithDefaultTTL sets the TTL of results whose method gives none. Defaults to DefaultTTL.
func WithDefaultTTL(d time.Duration) Option { return func(cfg *resolverConfig) { cfg.defaultTTL = d } }

// WithMaxTTL caps every TTL. Defaults to DefaultMaxTTL.
func WithMaxTTL(d time.Duration) Option { return func(cfg *resolverConfig) { cfg.maxTTL = d } }

// WithLogger sets the logger. Defaults to discarding logs.
func WithLogger(l *slog.Logger) Option { return func(cfg *resolverConfig) { cfg.log = l } }

// NewResolver returns a Resolver for the given methods (at least one, no method twice).
func NewResolver(methods []MethodResolver, opts ...Option) (*Resolver, error) {
	cfg := resolverConfig{cacheSize: DefaultCacheSize, defaultTTL: DefaultTTL, maxTTL: DefaultMaxTTL}
	for _, o := range opts {
		o(&cfg)
	}
	if len(methods) == 0 {
		return nil, &ConfigError{Field: "methods", Reason: "no method resolvers"}
	}
	r := &Resolver{methods: make(map[string]MethodResolver, len(methods)), defaultTTL: cfg.defaultTTL, maxTTL: cfg.maxTTL, log: cfg.log}
	for i, m := range methods {
		if m == nil {
			return nil, &ConfigError{Field: "methods", Reason: fmt.Sprintf("method resolver %d is nil", i)}
		}
		name := m.Method()
		if _, err := Parse("did:" + name + ":x"); err != nil || strings.ContainsRune(name, ':') {
			return nil, &ConfigError{Field: "methods", Reason: fmt.Sprintf("invalid method name %q", name)}
		}
		if _, dup := r.methods[name]; dup {
			return nil, &ConfigError{Field: "methods", Reason: fmt.Sprintf("method %q given twice", name)}
		}
		r.methods[name] = m
	}
	if cfg.defaultTTL < 0 {
		return nil, &ConfigError{Field: "WithDefaultTTL", Reason: "negative"}
	}
	if cfg.maxTTL < 0 {
		return nil, &ConfigError{Field: "WithMaxTTL", Reason: "negative"}
	}
	if cfg.cacheSize <= 0 {
		return nil, &ConfigError{Field: "WithCacheSize", Reason: "must be positive"}
	}
	switch {
	case cfg.noCache:
	case cfg.cache != nil:
		r.cache = cfg.cache
	default:
		r.cache = NewMemoryCache(cfg.cacheSize)
	}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return r, nil
}

// Methods returns the names of the methods the resolver handles.
func (r *Resolver) Methods() []string {
	out := make([]string, 0, len(r.methods))
	for m := range r.methods {
		out = append(out, m)
	}
	return out
}

// ResolveOption configures one Resolve call.
type ResolveOption func(*resolveConfig)

type resolveConfig struct {
	accept  string
	noCache bool
}

// Accept asks for a representation: application/did+json (or application/did+ld+json, or
// application/json). Any other media type fails with representationNotSupported. The
// default is the abstract data model, with no contentType in the metadata.
func Accept(mediaType string) ResolveOption { return func(c *resolveConfig) { c.accept = mediaType } }

// NoCache bypasses the cache for this call (the fresh result is still stored).
func NoCache() ResolveOption { return func(c *resolveConfig) { c.noCache = true } }

// Resolve resolves a DID. It always returns a result; on failure the result has no
// document and carries the error code in its resolution metadata, and the error is a
// *ResolutionError (or ctx.Err() when ctx is done).
func (r *Resolver) Resolve(ctx context.Context, did string, opts ...ResolveOption) (*Result, error) {
	var cfg resolveConfig
	for _, o := range opts {
		o(&cfg)
	}
	res, err := r.resolve(ctx, did, cfg)
	if err != nil {
		return ErrorResult(err), err
	}
	return res, nil
}

func (r *Resolver) resolve(ctx context.Context, didStr string, cfg resolveConfig) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch cfg.accept {
	case "", MediaTypeDIDJSON, MediaTypeDIDLDJSON, "application/json":
	default:
		return nil, NewError(CodeRepresentationNotSupported, didStr, fmt.Errorf("media type %q", cfg.accept))
	}
	d, err := Parse(didStr)
	if err != nil {
		return nil, NewError(CodeInvalidDID, didStr, err)
	}
	return r.resolveDID(ctx, d, didStr, cfg)
}

// resolveDID resolves a parsed DID; key is its string form.
func (r *Resolver) resolveDID(ctx context.Context, d DID, key string, cfg resolveConfig) (*Result, error) {
	m, ok := r.methods[d.Method]
	if !ok {
		return nil, NewError(CodeMethodNotSupported, key, fmt.Errorf("method %q", d.Method))
	}
	res, err := r.cached(ctx, d, key, m, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.accept != "" {
		cp := *res
		cp.ResolutionMetadata.ContentType = MediaTypeDIDJSON
		if cfg.accept == MediaTypeDIDLDJSON {
			cp.ResolutionMetadata.ContentType = MediaTypeDIDLDJSON
		}
		res = &cp
	}
	return res, nil
}

func (r *Resolver) cached(ctx context.Context, d DID, key string, m MethodResolver, cfg resolveConfig) (*Result, error) {
	if r.cache != nil && !cfg.noCache {
		if res, ok := r.cache.Get(ctx, key); ok {
			return res, nil
		}
	}
	res, err := m.Resolve(ctx, d)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		var re *ResolutionError
		if !errors.As(err, &re) {
			err = NewError(CodeInternalError, key, err)
		}
		r.log.DebugContext(ctx, "did resolution failed", "did", key, "err", err)
		return nil, err
	}
	if res == nil || res.Document == nil {
		return nil, NewError(CodeInternalError, key, errors.New("method returned no document"))
	}
	if res.Document.ID != key && res.DocumentMetadata.CanonicalID != res.Document.ID {
		return nil, NewError(CodeInternalError, key, fmt.Errorf("document id %q is not the DID", clip(res.Document.ID)))
	}
	if err := res.Document.Validate(); err != nil {
		return nil, NewError(CodeInternalError, key, err)
	}
	if r.cache != nil {
		if ttl := r.ttl(res); ttl > 0 {
			r.cache.Set(ctx, key, res, ttl)
		}
	}
	return res, nil
}

func (r *Resolver) ttl(res *Result) time.Duration {
	ttl := res.TTL
	if ttl < 0 {
		return 0
	}
	if ttl == 0 {
		ttl = r.defaultTTL
	}
	if ttl > r.maxTTL {
		ttl = r.maxTTL
	}
	if res.DocumentMetadata.NextUpdate != "" {
		if t, err := time.Parse(time.RFC3339, res.DocumentMetadata.NextUpdate); err == nil {
			if until := time.Until(t); until < ttl {
				ttl = until
			}
		}
	}
	return ttl
}

// Dereferenced is what a DID URL dereferences to: the whole document, a verification
// method, a service, or a service endpoint URL. Resolution is the resolution of the DID.
type Dereferenced struct {
	Resolution         *Result
	VerificationMethod *VerificationMethod
	Service            *Service
	// URL is the service endpoint selected by a ?service= query, with relativeRef applied.
	URL string
}

// Dereference dereferences a DID URL: "did:x:y" gives the document, "did:x:y#frag" the
// verification method or service with that fragment, "did:x:y?service=s" the service s
// and "did:x:y?service=s&relativeRef=/p" its first endpoint with /p resolved against it.
func (r *Resolver) Dereference(ctx context.Context, didURL string) (*Dereferenced, error) {
	u, err := ParseURL(didURL)
	if err != nil {
		return nil, NewError(CodeInvalidDIDURL, didURL, err)
	}
	res, err := r.Resolve(ctx, u.DID.String())
	if err != nil {
		return nil, err
	}
	out := &Dereferenced{Resolution: res}
	doc := res.Document
	if u.Path != "" || len(u.Params) > 0 {
		return nil, NewError(CodeNotFound, didURL, errors.New("paths and parameters are not supported"))
	}
	if u.HasQuery() {
		q, err := u.QueryValues()
		if err != nil {
			return nil, NewError(CodeInvalidDIDURL, didURL, err)
		}
		svc := q.Get("service")
		for k := range q {
			if k != "service" && k != "relativeRef" {
				return nil, NewError(CodeNotFound, didURL, fmt.Errorf("query parameter %q is not supported", k))
			}
		}
		if svc == "" {
			return nil, NewError(CodeInvalidDIDURL, didURL, errors.New("query without service"))
		}
		s, ok := doc.FindService("#" + svc)
		if !ok {
			return nil, NewError(CodeNotFound, didURL, fmt.Errorf("no service %q", svc))
		}
		out.Service = s
		eps := s.Endpoints()
		if len(eps) == 0 {
			return nil, NewError(CodeNotFound, didURL, fmt.Errorf("service %q has no URI endpoint", svc))
		}
		base, err := url.Parse(eps[0])
		if err != nil {
			return nil, NewError(CodeInternalError, didURL, err)
		}
		if rel := q.Get("relativeRef"); rel != "" {
			ref, err := url.Parse(rel)
			if err != nil {
				return nil, NewError(CodeInvalidDIDURL, didURL, err)
			}
			base = base.ResolveReference(ref)
		}
		out.URL = base.String()
		if u.HasFragment() {
			out.URL += "#" + u.Fragment
		}
		return out, nil
	}
	if !u.HasFragment() {
		return out, nil
	}
	ref := "#" + u.Fragment
	if vm, ok := doc.FindMethod(ref); ok {
		out.VerificationMethod = vm
		return out, nil
	}
	if s, ok := doc.FindService(ref); ok {
		out.Service = s
		return out, nil
	}
	return nil, NewError(CodeNotFound, didURL, fmt.Errorf("no verification method or service %q", u.Fragment))
}

// VerificationMethod resolves the DID of kid (an absolute DID URL with a fragment) and
// returns the verification method it names. If rel is not empty the method must be
// listed under that verification relationship. It is a lookup, not a verification: it
// does not check who controls the method. To learn who signed something, use Verify (or
// VerifyJWS, VerifyJWT), whose result is the only source of the signer's identity.
func (r *Resolver) VerificationMethod(ctx context.Context, kid string, rel Relationship) (*VerificationMethod, *Document, error) {
	u, err := ParseURL(kid)
	if err != nil {
		return nil, nil, NewError(CodeInvalidDIDURL, kid, err)
	}
	if !u.HasFragment() || u.Fragment == "" || u.Path != "" || u.HasQuery() || len(u.Params) > 0 {
		return nil, nil, NewError(CodeInvalidDIDURL, kid, errors.New("a key ID must be a DID followed by a fragment"))
	}
	key := kid[:len(kid)-len(u.Fragment)-1]
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	res, err := r.resolveDID(ctx, u.DID, key, resolveConfig{})
	if err != nil {
		return nil, nil, err
	}
	if res.DocumentMetadata.Deactivated {
		return nil, nil, fmt.Errorf("%w: %s is deactivated", ErrNotAuthorized, u.DID)
	}
	doc := res.Document
	vm, ok := doc.FindMethod(kid)
	if !ok {
		return nil, nil, NewError(CodeNotFound, kid, errors.New("no such verification method"))
	}
	if rel != "" && !doc.Authorizes(kid, rel) {
		return nil, nil, fmt.Errorf("%w: %s is not listed under %s", ErrNotAuthorized, clip(kid), rel)
	}
	return vm, doc, nil
}
