package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/anya-org/anya-go"
)

//go:embed templates/*.html static/*
var assets embed.FS

// contentSecurityPolicy allows the console's own scripts, styles, images and event stream, and
// nothing else: no inline script or style, no other origin, no framing, no form to elsewhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Handler is the console: an http.Handler that serves the pages of one Manager. Create it with
// New; it is safe for concurrent use. Close ends its live event streams.
type Handler struct {
	m         *anya.Manager
	authorize Authorizer
	cfg       config
	red       redactor
	csrf      string
	pages     map[string]*template.Template
	mux       *http.ServeMux
	origin    *http.CrossOriginProtection
	static    fs.FS
	plots     sync.Map // model ID and sha256 → rendered plot ([]byte)

	mu      sync.Mutex
	closed  bool
	done    chan struct{} // closed by Close: the event streams end
	streams sync.WaitGroup
	open    int // event streams open
	nstream uint64
}

var _ http.Handler = (*Handler)(nil)

// New returns the console of m. authorize decides who may see it (required: the console is
// deny by default); WithWrites enables its writes. Mount it at any path, stripping the prefix:
//
//	h, err := console.New(m, console.BasicAuth("operator", password))
//	mux.Handle("/console/", http.StripPrefix("/console", h))
func New(m *anya.Manager, authorize Authorizer, opts ...Option) (*Handler, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	switch {
	case m == nil:
		return nil, &OptionError{Option: "New", Value: nil, Reason: "nil Manager"}
	case authorize == nil:
		return nil, &OptionError{Option: "New", Value: nil, Reason: "nil Authorizer: the console needs one (BasicAuth, BearerToken or the host's own)"}
	}
	h := &Handler{m: m, authorize: authorize, cfg: cfg, done: make(chan struct{}), origin: http.NewCrossOriginProtection()}
	if h.red.key = cfg.key; h.red.key == nil {
		h.red.key = make([]byte, 32)
		_, _ = rand.Read(h.red.key)
	}
	csrf := make([]byte, 32)
	_, _ = rand.Read(csrf)
	h.csrf = hex.EncodeToString(csrf)
	if h.static, err = fs.Sub(assets, "static"); err != nil {
		return nil, err
	}
	if h.pages, err = parsePages(h.funcs()); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

// Close ends the live event streams and waits for them; requests afterwards are answered 503.
// It is idempotent and returns nil.
func (h *Handler) Close() error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
	h.mu.Unlock()
	h.streams.Wait()
	return nil
}

func (h *Handler) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

func (h *Handler) routes() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.overview)
	mux.HandleFunc("GET /payments", h.payments)
	mux.HandleFunc("GET /runs", h.runs)
	mux.HandleFunc("GET /runs/{id}", h.run)
	mux.HandleFunc("GET /alerts", h.alerts)
	mux.HandleFunc("GET /audit", h.audit)
	mux.HandleFunc("GET /breakers", h.breakers)
	mux.HandleFunc("POST /breakers/{name}/reset", h.write(h.resetBreaker))
	mux.HandleFunc("GET /models", h.models)
	mux.HandleFunc("GET /models/{name}/{version}/plot.png", h.plot)
	mux.HandleFunc("GET /health", h.health)
	mux.HandleFunc("GET /health.json", h.healthJSON)
	mux.HandleFunc("GET /live", h.live)
	mux.HandleFunc("GET /events", h.events)
	mux.HandleFunc("GET /static/{file}", h.asset)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusNotFound, errors.New("no such page"))
	})
	h.mux = mux
}

// ServeHTTP serves one request: security headers first, then the Authorizer, then the page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	if h.isClosed() {
		h.plain(w, http.StatusServiceUnavailable, ErrClosed.Error())
		return
	}
	if err := h.authorize(r); err != nil {
		h.refuse(w, err)
		return
	}
	if len(r.URL.RawQuery) > MaxQueryBytes {
		h.fail(w, r, http.StatusRequestURITooLong, fmt.Errorf("the query is longer than %d bytes", MaxQueryBytes))
		return
	}
	// Paths are served as they are or not at all: no "..", no "//", no redirect to a cleaned
	// path (which would leave the host's mount path).
	if p := r.URL.Path; p == "" || p[0] != '/' || path.Clean(p) != strings.TrimSuffix(p, "/") && p != "/" {
		h.fail(w, r, http.StatusNotFound, errors.New("no such page"))
		return
	}
	h.mux.ServeHTTP(w, r)
}

// refuse answers a request its Authorizer refused.
func (h *Handler) refuse(w http.ResponseWriter, err error) {
	var ue *UnauthenticatedError
	switch {
	case errors.As(err, &ue):
		if ue.Challenge != "" {
			w.Header().Set("WWW-Authenticate", ue.Challenge)
		}
		h.plain(w, http.StatusUnauthorized, ErrUnauthenticated.Error())
	case errors.Is(err, ErrUnauthenticated):
		h.plain(w, http.StatusUnauthorized, ErrUnauthenticated.Error())
	default:
		h.plain(w, http.StatusForbidden, ErrForbidden.Error())
	}
}

// plain answers with a short text: what a request that may not see the console gets.
func (h *Handler) plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// write wraps a write: writes enabled and allowed for the request, from the console's own
// origin, carrying its CSRF token.
func (h *Handler) write(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.writes == nil {
			h.fail(w, r, http.StatusForbidden, fmt.Errorf("%w: the console is read-only (writes are not enabled)", ErrForbidden))
			return
		}
		if err := h.cfg.writes(r); err != nil {
			h.refuse(w, err)
			return
		}
		if err := h.origin.Check(r); err != nil {
			h.fail(w, r, http.StatusForbidden, fmt.Errorf("%w: %v", ErrForbidden, err))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		if err := r.ParseForm(); err != nil {
			h.fail(w, r, http.StatusBadRequest, errors.New("unreadable form"))
			return
		}
		if tok := r.PostForm.Get("csrf"); subtle.ConstantTimeCompare([]byte(tok), []byte(h.csrf)) != 1 {
			h.fail(w, r, http.StatusForbidden, fmt.Errorf("%w: missing or wrong CSRF token", ErrForbidden))
			return
		}
		next(w, r)
	}
}

// basePath returns the path the host mounted the console at: the request's path as sent,
// less the path the console sees ("" when mounted at the root).
func basePath(r *http.Request) string {
	sent := r.RequestURI
	if u, err := url.ParseRequestURI(sent); err == nil {
		sent = u.EscapedPath()
	} else {
		return ""
	}
	base, ok := strings.CutSuffix(sent, r.URL.EscapedPath())
	if !ok || base == "" || base[0] != '/' || strings.HasPrefix(base, "//") || strings.ContainsAny(base, `"'<>\ `) {
		return ""
	}
	return base
}

// logError logs an unexpected error of a page.
func (h *Handler) logError(ctx context.Context, page string, err error) {
	h.cfg.logger.LogAttrs(ctx, slog.LevelError, "console: page failed", slog.String("page", page), slog.String("error", h.red.text(err.Error())))
}
