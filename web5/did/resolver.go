package did

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
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
// It is safe for concurrent use. Build one with NewResolver: the methods of a zero Resolver
// return a *NotConstructedError.
type Resolver struct {
	methods    map[string]MethodResolver
	cache      Cache
	defaultTTL time.Duration
	maxTTL     time.Duration
	now        func() time.Time
	log        *slog.Logger
}

type config struct {
	methods    []MethodResolver
	cache      Cache
	cacheSet   bool
	noCache    bool
	cacheSize  int
	defaultTTL time.Duration
	maxTTL     time.Duration
	now        func() time.Time
	log        *slog.Logger
}

// Option configures NewResolver.
type Option func(*config)

// WithMethods adds method resolvers (didkey.New(), a diddht.Client, ...); each method may be
// given once, and a Resolver needs at least one. Defaults to none.
func WithMethods(methods ...MethodResolver) Option {
	return func(cfg *config) { cfg.methods = append(cfg.methods, methods...) }
}

// WithCache sets the cache. Defaults to a MemoryCache of DefaultCacheSize entries.
func WithCache(c Cache) Option { return func(cfg *config) { cfg.cache, cfg.cacheSet = c, true } }

// WithoutCache turns caching off. Defaults to caching.
func WithoutCache() Option { return func(cfg *config) { cfg.noCache = true } }

// WithCacheSize sets the size of the default cache. Defaults to DefaultCacheSize.
func WithCacheSize(n int) Option { return func(cfg *config) { cfg.cacheSize = n } }

// WithDefaultTTL sets the TTL of results whose method gives none. Defaults to DefaultTTL.
func WithDefaultTTL(d time.Duration) Option { return func(cfg *config) { cfg.defaultTTL = d } }

// WithMaxTTL caps every TTL. Defaults to DefaultMaxTTL.
func WithMaxTTL(d time.Duration) Option { return func(cfg *config) { cfg.maxTTL = d } }

// WithClock sets the clock a result's nextUpdate is compared with to bound its TTL.
// Defaults to time.Now.
func WithClock(now func() time.Time) Option { return func(cfg *config) { cfg.now = now } }

// WithLogger sets the logger of failed resolutions (at debug level). Defaults to discarding
// logs.
func WithLogger(l *slog.Logger) Option { return func(cfg *config) { cfg.log = l } }

// NewResolver returns a Resolver for the methods given with WithMethods. Invalid options
// are reported as *OptionError.
func NewResolver(opts ...Option) (*Resolver, error) {
	cfg := config{cacheSize: DefaultCacheSize, defaultTTL: DefaultTTL, maxTTL: DefaultMaxTTL, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for i, o := range opts {
		if o == nil {
			return nil, &OptionError{Option: "Option", Value: i, Reason: "nil option"}
		}
		o(&cfg)
	}
	if len(cfg.methods) == 0 {
		return nil, &OptionError{Option: "WithMethods", Reason: "no method resolvers"}
	}
	r := &Resolver{methods: make(map[string]MethodResolver, len(cfg.methods)), defaultTTL: cfg.defaultTTL, maxTTL: cfg.maxTTL, now: cfg.now, log: cfg.log}
	for i, m := range cfg.methods {
		if m == nil || isNilPointer(m) {
			return nil, &OptionError{Option: "WithMethods", Value: i, Reason: fmt.Sprintf("method resolver %d is nil", i)}
		}
		name := m.Method()
		if _, err := Parse("did:" + name + ":x"); err != nil || strings.ContainsRune(name, ':') {
			return nil, &OptionError{Option: "WithMethods", Value: name, Reason: "not a valid method name"}
		}
		if _, dup := r.methods[name]; dup {
			return nil, &OptionError{Option: "WithMethods", Value: name, Reason: "method given twice"}
		}
		r.methods[name] = m
	}
	switch {
	case cfg.defaultTTL < 0:
		return nil, &OptionError{Option: "WithDefaultTTL", Value: cfg.defaultTTL, Reason: "negative"}
	case cfg.maxTTL < 0:
		return nil, &OptionError{Option: "WithMaxTTL", Value: cfg.maxTTL, Reason: "negative"}
	case cfg.cacheSize <= 0:
		return nil, &OptionError{Option: "WithCacheSize", Value: cfg.cacheSize, Reason: "must be positive"}
	case cfg.cacheSet && (cfg.cache == nil || isNilPointer(cfg.cache)):
		return nil, &OptionError{Option: "WithCache", Reason: "nil cache (use WithoutCache to turn caching off)"}
	case cfg.cacheSet && cfg.noCache:
		return nil, &OptionError{Option: "WithoutCache", Reason: "given with WithCache"}
	case cfg.now == nil:
		return nil, &OptionError{Option: "WithClock", Reason: "nil clock"}
	case cfg.log == nil:
		return nil, &OptionError{Option: "WithLogger", Reason: "nil logger"}
	}
	switch {
	case cfg.noCache:
	case cfg.cache != nil:
		r.cache = cfg.cache
	default:
		r.cache = NewMemoryCache(cfg.cacheSize)
	}
	return r, nil
}

// isNilPointer reports whether v, an interface value, holds a nil pointer.
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// errNotConstructed is the error of a zero Resolver.
var errNotConstructed = &NotConstructedError{Type: "did.Resolver", Constructor: "did.NewResolver"}

// constructed reports whether r was built by NewResolver.
func (r *Resolver) constructed() bool { return r != nil && r.methods != nil }

// Methods returns the names of the methods the resolver handles (none for a zero Resolver).
func (r *Resolver) Methods() []string {
	if !r.constructed() {
		return nil
	}
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
// application/json). Any other media type fails with representationNotSupported. Defaults
// to the abstract data model, with no contentType in the metadata.
func Accept(mediaType string) ResolveOption { return func(c *resolveConfig) { c.accept = mediaType } }

// NoCache bypasses the cache for this call (the fresh result is still stored). Defaults to
// answering from the cache.
func NoCache() ResolveOption { return func(c *resolveConfig) { c.noCache = true } }

// Resolve resolves a DID. It always returns a result; on failure the result has no
// document and carries the error code in its resolution metadata, and the error is a
// *ResolutionError (or ctx.Err() when ctx is done).
func (r *Resolver) Resolve(ctx context.Context, did string, opts ...ResolveOption) (*Result, error) {
	var cfg resolveConfig
	for _, o := range opts {
		if o == nil {
			err := NewError(CodeInternalError, did, &OptionError{Option: "ResolveOption", Reason: "nil option"})
			return ErrorResult(err), err
		}
		o(&cfg)
	}
	res, err := r.resolve(ctx, did, cfg)
	if err != nil {
		return ErrorResult(err), err
	}
	return res, nil
}

func (r *Resolver) resolve(ctx context.Context, didStr string, cfg resolveConfig) (*Result, error) {
	if !r.constructed() {
		return nil, NewError(CodeInternalError, didStr, errNotConstructed)
	}
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
			if until := t.Sub(r.now()); until < ttl {
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
	if !r.constructed() {
		return nil, NewError(CodeInternalError, didURL, errNotConstructed)
	}
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
	if !r.constructed() {
		return nil, nil, NewError(CodeInternalError, kid, errNotConstructed)
	}
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
