package diddht

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/internal/fastjson"
)

// Defaults of NewGateway.
const (
	// DefaultMaxRecords bounds the number of DIDs a gateway stores.
	DefaultMaxRecords = 100_000
	// DefaultHistory is how many versions of a DID a gateway keeps for historical resolution.
	DefaultHistory = 16
	// MaxFutureSeq is how far in the future a sequence number may lie before the gateway
	// rejects it (the specification's recommendation against high sequence numbers).
	MaxFutureSeq = 2 * time.Hour
)

// TypeName returns the name of a type of the did:dht registry's type index.
func TypeName(t int) (string, bool) {
	name, ok := typeNames[t]
	return name, ok
}

var typeNames = map[int]string{
	0: "Discoverable",
	1: "Organization",
	2: "Government Organization",
	3: "Corporation",
	4: "Local Business",
	5: "Software Package",
	6: "Web App",
	7: "Financial Institution",
}

// Gateway is an in-process did:dht gateway: an http.Handler serving the gateway API from
// memory — and, opened with OpenGateway, keeping what it serves in a GatewayStore, written
// before a PUT is answered. Every write is signature-checked, must decode to a valid did:dht
// record set, and obeys the specification's conflict rules. It starts no goroutines. Safe for
// concurrent use. Build one with NewGateway or OpenGateway: a zero Gateway stores nothing (Store
// returns a *did.NotConstructedError, and every request is answered 500 with that error).
type Gateway struct {
	mu         sync.RWMutex
	store      GatewayStore        // nil: memory only
	records    map[string]*gwEntry // by DID suffix
	maxRecords int
	history    int
	now        func() time.Time
	log        *slog.Logger
	mux        *http.ServeMux
}

type gwEntry struct {
	versions []*Message // ascending seq; the last is current
	types    []int
	deact    bool
}

// WithMaxRecords bounds the number of DIDs stored. It configures a Gateway. Defaults to
// DefaultMaxRecords.
func WithMaxRecords(n int) Option {
	return func(c *config) {
		if c.accepts(forGateway, "WithMaxRecords", n) {
			c.maxRecords = n
		}
	}
}

// WithHistory sets how many versions per DID are kept. It configures a Gateway. Defaults to
// DefaultHistory.
func WithHistory(n int) Option {
	return func(c *config) {
		if c.accepts(forGateway, "WithHistory", n) {
			c.history = n
		}
	}
}

// NewGateway returns an empty gateway. Invalid options are reported as *did.OptionError.
func NewGateway(opts ...Option) (*Gateway, error) {
	cfg, err := apply(forGateway, opts)
	if err != nil {
		return nil, err
	}
	g := &Gateway{records: make(map[string]*gwEntry), maxRecords: cfg.maxRecords, history: cfg.history, now: cfg.now, log: cfg.log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /challenge", g.challenge)
	mux.HandleFunc("GET /did/types", g.typesInfo)
	mux.HandleFunc("GET /did/types/{type}", g.typeIndex)
	mux.HandleFunc("GET /did/{id}", g.resolveDID)
	mux.HandleFunc("PUT /did/{id}", g.registerDID)
	mux.HandleFunc("GET /{id}", g.getDHT)
	mux.HandleFunc("PUT /{id}", g.putDHT)
	mux.HandleFunc("OPTIONS /", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	g.mux = mux
	return g, nil
}

// errGatewayNotConstructed is the error of a zero Gateway.
var errGatewayNotConstructed = &did.NotConstructedError{Type: "diddht.Gateway", Constructor: "diddht.NewGateway"}

func (g *Gateway) constructed() bool { return g != nil && g.mux != nil }

// ServeHTTP serves the gateway API. A zero Gateway answers 500 with the error naming
// NewGateway.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.constructed() {
		http.Error(w, errGatewayNotConstructed.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, PUT, OPTIONS")
	g.mux.ServeHTTP(w, r)
}

// Len returns the number of DIDs stored.
func (g *Gateway) Len() int {
	if g == nil {
		return 0
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.records)
}

var (
	errBadRequest  = errors.New("bad request")
	errUnavailable = errors.New("gateway full")
	errStore       = errors.New("gateway store failed")
)

// Store verifies and stores a message for the DID suffix id, applying the conflict rules:
// a lower sequence number is refused (ErrConflict); an equal one is accepted when the value
// is the same (a refresh) or the new payload is lexicographically greater. A gateway with a
// GatewayStore has saved the message when Store returns.
func (g *Gateway) Store(id string, m *Message) error {
	if !g.constructed() {
		return errGatewayNotConstructed
	}
	return g.put(context.Background(), id, m)
}

func (g *Gateway) put(ctx context.Context, id string, m *Message) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, err := g.next(id, m)
	if err != nil || e == nil {
		return err
	}
	if g.store != nil {
		if err := g.store.Save(ctx, id, e.versions); err != nil {
			return fmt.Errorf("%w: %v", errStore, err)
		}
	}
	g.records[id] = e
	return nil
}

// apply stores m for id in memory only (loading a store); g.mu is not held.
func (g *Gateway) apply(id string, m *Message) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, err := g.next(id, m)
	if err != nil || e == nil {
		return err
	}
	g.records[id] = e
	return nil
}

// next verifies m and returns id's entry with m applied, or nil when m changes nothing; g.mu
// is held. The stored entry is not modified.
func (g *Gateway) next(id string, m *Message) (*gwEntry, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil message", errBadRequest)
	}
	d := did.DID{Method: Method, ID: id}
	identity, err := IdentityKey(d)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	if err := m.Verify(identity); err != nil {
		return nil, err
	}
	if time.Unix(m.Seq, 0).After(g.now().Add(MaxFutureSeq)) {
		return nil, fmt.Errorf("%w: sequence number %d is too far in the future", errBadRequest, m.Seq)
	}
	p, err := ParsePacket(d, m.V)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	var versions []*Message
	if cur, ok := g.records[id]; !ok {
		if len(g.records) >= g.maxRecords {
			return nil, errUnavailable
		}
	} else {
		versions = append(versions, cur.versions...)
		last := versions[len(versions)-1]
		switch {
		case m.Seq < last.Seq:
			return nil, fmt.Errorf("%w: stored sequence number %d is higher", ErrConflict, last.Seq)
		case m.Seq == last.Seq:
			a, _ := m.MarshalBinary()
			b, _ := last.MarshalBinary()
			switch c := bytes.Compare(a, b); {
			case c == 0:
				return nil, nil // the same record: nothing changes
			case c < 0:
				return nil, fmt.Errorf("%w: same sequence number, lexicographically lower payload", ErrConflict)
			}
			versions = versions[:len(versions)-1]
		}
	}
	versions = append(versions, m)
	if len(versions) > g.history {
		versions = versions[len(versions)-g.history:]
	}
	return &gwEntry{versions: versions, types: p.Types, deact: p.Deactivated}, nil
}

func (g *Gateway) current(id string, seq int64) (*Message, []int64, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	e, ok := g.records[id]
	if !ok {
		return nil, nil, false
	}
	seqs := make([]int64, len(e.versions))
	var found *Message
	for i, v := range e.versions {
		seqs[i] = v.Seq
		if v.Seq == seq {
			found = v
		}
	}
	if seq == 0 {
		found = e.versions[len(e.versions)-1]
	}
	return found, seqs, found != nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrInvalidSignature):
		status = http.StatusBadRequest
	case errors.Is(err, ErrConflict):
		status = http.StatusConflict
	case errors.Is(err, errBadRequest), errors.Is(err, ErrInvalidMessage), errors.Is(err, ErrTooLarge):
		status = http.StatusBadRequest
	case errors.Is(err, errUnavailable), errors.Is(err, errStore):
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, err.Error())
}

func (g *Gateway) getDHT(w http.ResponseWriter, r *http.Request) {
	m, _, ok := g.current(r.PathValue("id"), 0)
	if !ok {
		writeJSON(w, http.StatusNotFound, "not found")
		return
	}
	body, _ := m.MarshalBinary()
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(body)
}

func (g *Gateway) putDHT(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 72+MaxPacketSize+1))
	if err != nil {
		writeError(w, fmt.Errorf("%w: %v", errBadRequest, err))
		return
	}
	m, err := ParseMessage(body)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := g.put(r.Context(), r.PathValue("id"), m); err != nil {
		g.log.DebugContext(r.Context(), "put refused", "id", r.PathValue("id"), "err", err)
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// registration is the body of PUT /did/{id}.
type registration struct {
	DID               string `json:"did"`
	Sig               string `json:"sig"`
	Seq               int64  `json:"seq"`
	V                 string `json:"v"`
	RetentionSolution string `json:"retention_solution,omitempty"`
}

func (g *Gateway) registerDID(w http.ResponseWriter, r *http.Request) {
	var reg registration
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	if err != nil {
		writeError(w, fmt.Errorf("%w: %v", errBadRequest, err))
		return
	}
	if err := fastjson.Decode(body, &reg); err != nil {
		writeError(w, fmt.Errorf("%w: %v", errBadRequest, err))
		return
	}
	id := r.PathValue("id")
	if reg.DID != "did:dht:"+id {
		writeError(w, fmt.Errorf("%w: did %q does not match the path", errBadRequest, reg.DID))
		return
	}
	sig, err1 := b64.DecodeString(reg.Sig)
	v, err2 := b64.DecodeString(reg.V)
	if err1 != nil || err2 != nil || len(sig) != 64 || reg.Seq < 0 || len(v) > MaxPacketSize {
		writeError(w, fmt.Errorf("%w: sig, seq or v malformed", errBadRequest))
		return
	}
	m := &Message{Seq: reg.Seq, V: v}
	copy(m.Sig[:], sig)
	if err := g.put(r.Context(), id, m); err != nil {
		if errors.Is(err, ErrInvalidSignature) {
			writeJSON(w, http.StatusUnauthorized, err.Error())
			return
		}
		writeError(w, err)
		return
	}
	// Retention sets are not supported: no expiry is promised.
	writeJSON(w, http.StatusAccepted, map[string]any{})
}

// resolution is the body of GET /did/{id}.
type resolution struct {
	DID             *did.Document `json:"did"`
	DHT             string        `json:"dht"`
	Types           []int         `json:"types,omitempty"`
	SequenceNumbers []int64       `json:"sequence_numbers,omitempty"`
}

func (g *Gateway) resolveDID(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var seq int64
	if s := r.URL.Query().Get("seq"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			writeError(w, fmt.Errorf("%w: seq %q", errBadRequest, s))
			return
		}
		seq = n
	}
	m, seqs, ok := g.current(id, seq)
	if !ok {
		writeJSON(w, http.StatusNotFound, "DID not found")
		return
	}
	d := did.DID{Method: Method, ID: id}
	p, err := ParsePacket(d, m.V)
	if err != nil {
		writeError(w, err)
		return
	}
	body, _ := m.MarshalBinary()
	res := resolution{DHT: b64.EncodeToString(body), Types: p.Types}
	if len(seqs) > 1 {
		res.SequenceNumbers = seqs
	}
	if p.Deactivated {
		res.DID = &did.Document{ID: d.String()}
	} else {
		res.DID = p.Document
	}
	writeJSON(w, http.StatusOK, res)
}

func (g *Gateway) typesInfo(w http.ResponseWriter, _ *http.Request) {
	type info struct {
		Type        int    `json:"type"`
		Description string `json:"description"`
	}
	out := make([]info, 0, len(typeNames))
	for t, name := range typeNames {
		out = append(out, info{t, name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	writeJSON(w, http.StatusOK, out)
}

func (g *Gateway) typeIndex(w http.ResponseWriter, r *http.Request) {
	t, err := strconv.Atoi(r.PathValue("type"))
	if err != nil || t < 0 {
		writeError(w, fmt.Errorf("%w: type %q", errBadRequest, r.PathValue("type")))
		return
	}
	if _, known := typeNames[t]; !known {
		writeJSON(w, http.StatusNotFound, "type not found")
		return
	}
	offset, limit := 0, 100
	if s := r.URL.Query().Get("offset"); s != "" {
		if offset, err = strconv.Atoi(s); err != nil || offset < 0 {
			writeError(w, fmt.Errorf("%w: offset %q", errBadRequest, s))
			return
		}
	}
	if s := r.URL.Query().Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit <= 0 || limit > 1000 {
			writeError(w, fmt.Errorf("%w: limit %q", errBadRequest, s))
			return
		}
	}
	g.mu.RLock()
	var dids []string
	for id, e := range g.records {
		if e.deact {
			continue
		}
		for _, et := range e.types {
			if et == t {
				dids = append(dids, "did:dht:"+id)
				break
			}
		}
	}
	g.mu.RUnlock()
	sort.Strings(dids)
	if offset > len(dids) {
		offset = len(dids)
	}
	dids = dids[offset:]
	if len(dids) > limit {
		dids = dids[:limit]
	}
	if dids == nil {
		dids = []string{}
	}
	writeJSON(w, http.StatusOK, dids)
}

func (g *Gateway) challenge(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusNotImplemented, "retention sets are not supported by this gateway")
}
