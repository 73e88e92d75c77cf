package anya

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/internal/sendstore"
	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/internal/wallet"
	"github.com/anya-org/anya-go/keystore"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/did/didpkh"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/vc"
	"github.com/anya-org/anya-go/workflow"
)

// Manager joins the SDK's protocols in one host: it composes the event bus, a Bitcoin chain
// with its notifier, sender and wallet, DID resolution, a records store, the ML engines, the
// trust boundaries with their audit log, and the durable workflow engine, and carries out the
// cross-protocol operations (Execute) and triggers. Create it with New; it is safe for
// concurrent use. Close releases everything it created and every goroutine it started.
type Manager struct {
	cfg config
	log *slog.Logger
	now func() time.Time

	dir    string
	ownDir bool

	bus    *bus.Bus
	ownBus bool

	chain     bitcoin.Chain // the chain through its circuit breaker (BreakerChain)
	rawChain  bitcoin.Chain // the chain as created or given (Chain, EmbeddedChain)
	ownChain  bool
	net       bitcoin.Network
	notifier  *bitcoin.Notifier
	sender    *bitcoin.Sender
	sends     sendstore.Store
	wallet    *wallet.Wallet
	extractor *bitcoin.FeatureExtractor

	// One SQLite file per component: each has its own connection, so their writes proceed in
	// parallel.
	workflowDB, stateDB, auditDB, dwnDB, dhtDB, keysDB *sql.DB
	state                                              stateBackend
	store                                              workflow.Store
	engine                                             *workflow.Engine
	audit                                              *security.AuditLog
	bounds                                             *security.Boundaries
	breakers                                           *resilience.Registry[string, *resilience.CircuitBreaker]

	gateway  *diddht.Gateway
	dht      *diddht.Client
	resolver *did.Resolver
	verifier *vc.Verifier
	dwnStore dwn.Store
	node     *dwn.Node
	host     *did.BearerDID
	trusted  map[string]bool

	fraud, reputation scorer

	utxos      *cache.Cache[string, []bitcoin.UTXO]
	utxoIdx    utxoIndex
	identities *cache.Cache[string, *identityState]
	verdicts   *cache.Cache[string, *LinkVerification] // link checks, by DID, address and credential digest
	dids       *cache.Cache[string, *did.Result]       // DID resolution, each result for its own TTL

	challengeKey []byte
	grantsMu     sync.Mutex
	grantRows    map[string]identityRow // registered identities' grants, which never change
	features     sync.Map               // payment ID → its fraud vector, until the ML step takes it
	// blocks orders the block triggers against the payment records: a trigger holds it for
	// writing while it moves payments, the record step for reading from its look at the
	// transaction's status until its payment row is stored, so that a block is never missed
	// by both.
	blocks sync.RWMutex

	tiers     tiers                             // the caches as tiers (caches.go)
	br        bridges                           // the bridges the Manager wires (bridges.go)
	staleDIDs *cache.Cache[string, *did.Result] // the DID resolution breaker's fallback

	subs []*bus.Subscription

	outboxMu sync.Mutex    // one publisher of the payment events at a time, in order
	kick     chan struct{} // asks the rebroadcaster for a check

	faucetMu sync.Mutex   // one Fund at a time
	faucet   []faucetCoin // the embedded chain's coins Fund pays from

	js  *jsHost      // WithJetStream's backends; nil on the embedded defaults
	mon *monitorHost // WithFraudMonitor's fraud monitor; nil without it

	keys    keystore.Store // nil: NewIdentity refuses (ErrNoKeyStore)
	idsMu   sync.Mutex
	ids     map[string]*Identity // the identities whose keys the Manager holds, by DID
	tipMu   sync.Mutex
	lastTip bitcoin.BlockStamp // the chain's tip as last reported to the rebroadcaster

	built     bool         // made by New: the zero Manager refuses every call (NotConstructedError)
	closing   atomic.Bool  // Shutdown began: new calls are refused at once
	mu        sync.RWMutex // read-held by calls in progress, write-held once by the shutdown
	closed    bool
	closeOnce sync.Once
	closeErr  error          // set before done is closed
	done      chan struct{}  // closed when everything is released
	stopOnce  sync.Once      // stops the background once
	stopped   chan struct{}  // closed when the triggers and background goroutines are stopped
	stops     []func() error // triggers and background goroutines; stopped in reverse
	closers   []func() error // in the order of creation; the shutdown runs them in reverse
}

// New returns a Manager. With no options it runs entirely in-process: a regtest simchain, DID
// resolution for did:key, did:jwk, did:pkh and did:dht (through an in-process gateway), a
// records store, workflow state and audit log in SQLite files in a temporary directory, and the
// SDK's shipped fraud and reputation models on ONNX Runtime when its library is found and on the
// pure-Go evaluator otherwise.
func New(opts ...Option) (*Manager, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, &OptionError{Option: "Option", Reason: "nil option"}
		}
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, log: cfg.logger, now: cfg.now, ids: map[string]*Identity{}, built: true, done: make(chan struct{}),
		stopped: make(chan struct{})}
	ctx := context.Background()
	steps := []func(context.Context) error{
		m.openDir, m.openJetStream, m.openBus, m.openBreakers, m.openChain, m.openDatabases, m.openKeys, m.openCaches, m.openWeb5,
		m.openSecurity, m.openBitcoin, m.openML, m.openWorkflow, m.subscribe, m.loadIdentities, m.openBridges, m.loadPending,
		m.reconcile, m.reconcileOutcomes, m.startRebroadcaster, m.startRepublisher, m.startBridges, m.startTakeover,
		m.openMonitor,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			m.stopBackground()
			_ = m.release()
			return nil, err
		}
	}
	return m, nil
}

func (m *Manager) onClose(f func() error) { m.closers = append(m.closers, f) }

// onStop registers f to stop a trigger or a background goroutine: what Shutdown stops first,
// without waiting for the calls in progress, which do not depend on them.
func (m *Manager) onStop(f func() error) { m.stops = append(m.stops, f) }

func (m *Manager) openDir(context.Context) error {
	if m.cfg.dataDir != "" {
		if err := os.MkdirAll(m.cfg.dataDir, 0o700); err != nil {
			return fmt.Errorf("anya: data directory: %w", err)
		}
		m.dir = m.cfg.dataDir
		return nil
	}
	dir, err := os.MkdirTemp("", "anya-*")
	if err != nil {
		return fmt.Errorf("anya: data directory: %w", err)
	}
	m.dir, m.ownDir = dir, true
	m.onClose(func() error { return os.RemoveAll(dir) })
	return nil
}

func (m *Manager) openBus(context.Context) error {
	if m.bus != nil { // WithJetStream's
		return nil
	}
	if m.cfg.bus != nil {
		m.bus = m.cfg.bus
		return nil
	}
	b, err := bus.New(bus.WithLogger(m.log), bus.WithClock(m.now), bus.WithTopicTemplate(dwn.TopicTemplate),
		bus.WithTracerProvider(m.cfg.tracerProv), bus.WithMeterProvider(m.cfg.meterProv))
	if err != nil {
		return err
	}
	m.bus, m.ownBus = b, true
	m.onClose(b.Close)
	return nil
}

func (m *Manager) openChain(context.Context) error {
	if m.cfg.chain != nil {
		m.chain = m.cfg.chain
	} else {
		sim, err := simchain.New()
		if err != nil {
			return err
		}
		m.chain, m.ownChain = sim, true
		m.onClose(sim.Close)
	}
	net, err := wallet.NetworkOf(m.chain)
	if err != nil {
		return err
	}
	m.net = net
	m.rawChain, m.chain = m.chain, guardedChain{m: m, chain: m.chain}
	return nil
}

func (m *Manager) openDatabases(ctx context.Context) error {
	var sopts []sqlitex.Option
	if m.cfg.fullSync {
		sopts = append(sopts, sqlitex.WithSync(sqlitex.SyncFull))
	}
	dbs := []struct {
		dst  **sql.DB
		file string
	}{{&m.workflowDB, WorkflowFile}, {&m.stateDB, StateFile}, {&m.auditDB, AuditFile}, {&m.dwnDB, DWNFile}, {&m.dhtDB, DHTFile}}
	if m.cfg.passphrase != nil || m.cfg.kek != nil {
		dbs = append(dbs, struct {
			dst  **sql.DB
			file string
		}{&m.keysDB, KeysFile})
	}
	for _, db := range dbs {
		d, err := sqlitex.Open(ctx, filepath.Join(m.dir, db.file), sopts...)
		if err != nil {
			return fmt.Errorf("anya: open %s: %w", db.file, err)
		}
		*db.dst = d
		m.onClose(d.Close)
	}
	st, err := openState(ctx, m.stateDB)
	if err != nil {
		return err
	}
	m.onClose(st.close)
	if m.state == nil { // WithJetStream's otherwise
		m.state = sqliteState{st}
	}
	return nil
}

// handlerTransport serves HTTP requests with an in-process handler: the did:dht gateway of a
// Manager without a network.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// inProcessGateway is the URL the in-process did:dht gateway answers at; requests never leave
// the process.
const inProcessGateway = "http://did-dht.anya.invalid"

func (m *Manager) openWeb5(ctx context.Context) error {
	m.dht = m.cfg.dht
	if m.dht == nil {
		store, err := diddht.NewSQLiteGatewayStore(ctx, m.dhtDB)
		if err != nil {
			return err
		}
		gw, err := diddht.OpenGateway(ctx, store, diddht.WithClock(m.now), diddht.WithLogger(m.log))
		if err != nil {
			return fmt.Errorf("anya: the did:dht gateway's records in %s: %w", DHTFile, err)
		}
		client, err := diddht.NewClient(inProcessGateway, diddht.WithHTTPClient(&http.Client{Transport: handlerTransport{gw}}),
			diddht.WithClock(m.now), diddht.WithLogger(m.log))
		if err != nil {
			return err
		}
		m.gateway, m.dht = gw, client
	}
	methods := append([]did.MethodResolver{didkey.New(), didjwk.New(), didpkh.New()}, m.guardMethods(m.dht, m.cfg.methods...)...)
	r, err := did.NewResolver(did.WithMethods(methods...), did.WithLogger(m.log), did.WithCache(did.NewSharedCache(m.dids)))
	if err != nil {
		return err
	}
	m.resolver = r
	vopts := []vc.VerifierOption{vc.WithClock(m.now)}
	if m.cfg.status != nil {
		vopts = append(vopts, vc.WithStatusCheck(m.statusLists()))
	}
	if m.verifier, err = vc.NewVerifier(r, vopts...); err != nil {
		return err
	}
	m.host = m.cfg.host
	if m.host == nil {
		if m.host, err = m.hostDID(ctx); err != nil {
			return err
		}
	}
	m.trusted = map[string]bool{m.host.String(): true}
	for _, d := range m.cfg.trusted {
		m.trusted[d] = true
	}
	if m.js != nil {
		m.dwnStore = m.js.dwn
	} else {
		sqlStore, err := dwn.NewSQLiteStore(ctx, m.dwnDB)
		if err != nil {
			return err
		}
		m.dwnStore = sqlStore
		m.onClose(sqlStore.Close)
	}
	node, err := dwn.New(r, dwn.WithStore(m.dwnStore), dwn.WithBus(m.bus), dwn.WithClock(m.now), dwn.WithLogger(m.log),
		dwn.WithTracerProvider(m.cfg.tracerProv), dwn.WithMeterProvider(m.cfg.meterProv))
	if err != nil {
		return err
	}
	m.node = node
	m.onClose(node.Close)
	// The host's own tenant holds its reports about other identities.
	return m.installProtocol(ctx, m.host)
}

func (m *Manager) openSecurity(ctx context.Context) error {
	telemetry := []security.Option{security.WithTracerProvider(m.cfg.tracerProv), security.WithMeterProvider(m.cfg.meterProv)}
	audit, onJS, err := m.jsAuditLog(append([]security.Option{security.WithClock(m.now)}, telemetry...)...)
	if !onJS {
		audit, err = security.NewAuditLog(ctx, m.auditDB, append([]security.Option{security.WithClock(m.now)}, telemetry...)...)
	}
	if err != nil {
		return err
	}
	m.audit = audit
	m.onClose(audit.Close)
	key := m.cfg.redactionKey
	if key == nil {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	bounds := m.cfg.boundaries
	if bounds == nil {
		bounds = DefaultBoundaries()
	}
	if m.cfg.monitorOn {
		bounds = monitor.ExtendBoundaries(bounds)
	}
	m.bounds, err = security.New(bounds, security.WithAudit(audit), security.WithBus(m.bus), security.WithClock(m.now),
		security.WithLogger(m.log), security.WithRedactionKey(key), security.WithProvenance(ProvenanceWeb5Signature, m.checkWeb5Signature),
		telemetry[0], telemetry[1])
	if err != nil {
		return err
	}
	m.challengeKey = m.cfg.challengeKey
	if m.challengeKey == nil {
		m.challengeKey = make([]byte, 32)
		_, _ = rand.Read(m.challengeKey)
	}
	return nil
}

func (m *Manager) openBitcoin(ctx context.Context) error {
	var err error
	if m.sends == nil { // WithJetStream's otherwise
		sends, err := sendstore.NewSQLite(ctx, m.stateDB)
		if err != nil {
			return err
		}
		m.sends = sends
		m.onClose(sends.Close)
	}
	if m.wallet, err = wallet.New(m.chain, m.cfg.feeRate, m.sends.Reserved); err != nil {
		return err
	}
	if m.sender, err = bitcoin.NewSender(m.chain, m.sends, bitcoin.WithBus(m.bus), bitcoin.WithLogger(m.log),
		bitcoin.WithClock(m.now), bitcoin.WithTracerProvider(m.cfg.tracerProv), bitcoin.WithMeterProvider(m.cfg.meterProv)); err != nil {
		return err
	}
	lookup := walletLookup{w: m.wallet, chain: bitcoin.ChainFeatureLookup(m.chain)}
	if m.extractor, err = bitcoin.NewFeatureExtractor(bitcoin.WithFeatureLookup(lookup),
		bitcoin.WithFeatureNetwork(m.net)); err != nil {
		return err
	}
	// The notifier resumes after the last block the Manager's triggers processed, so that a
	// restarted host confirms the payments mined while it was down.
	nopts := []bitcoin.Option{bitcoin.WithBus(m.notifierBus()), bitcoin.WithLogger(m.log),
		bitcoin.WithTracerProvider(m.cfg.tracerProv), bitcoin.WithMeterProvider(m.cfg.meterProv)}
	cp, err := m.state.checkpoint(ctx)
	if err != nil {
		return err
	}
	if !cp.IsZero() {
		if _, err := m.chain.BlockHeader(ctx, cp.Hash); err == nil {
			nopts = append(nopts, bitcoin.WithCheckpoint(cp))
		} else {
			m.log.Warn("anya: checkpoint unknown to the chain; following from its tip", "checkpoint", cp, "err", err)
		}
	}
	// Subscribe before the notifier starts, so that a replay from the checkpoint is seen.
	if err := m.subscribeTriggers(); err != nil {
		return err
	}
	if m.notifier, err = bitcoin.NewNotifier(ctx, m.chain, nopts...); err != nil {
		return err
	}
	m.onStop(m.notifier.Close)
	return nil
}

func (m *Manager) openCaches(context.Context) error {
	var err error
	if m.utxos, err = cache.New[string, []bitcoin.UTXO](m.cacheOptions("utxos", DefaultCacheEntries, DefaultCacheTTL)...); err != nil {
		return err
	}
	m.onClose(m.utxos.Close)
	if m.identities, err = cache.New[string, *identityState](m.cacheOptions("identities", DefaultCacheEntries, DefaultCacheTTL)...); err != nil {
		return err
	}
	m.onClose(m.identities.Close)
	if m.verdicts, err = cache.New[string, *LinkVerification](m.cacheOptions("verdicts", DefaultCacheEntries, DefaultCacheTTL)...); err != nil {
		return err
	}
	m.onClose(m.verdicts.Close)
	if m.dids, err = cache.New[string, *did.Result](m.cacheOptions("dids", DefaultCacheEntries, DefaultCacheTTL)...); err != nil {
		return err
	}
	m.onClose(m.dids.Close)
	return m.openTiers()
}

func (m *Manager) openWorkflow(ctx context.Context) error {
	var err error
	if m.store == nil { // WithJetStream's otherwise
		sqlStore, err := workflow.NewSQLiteStore(ctx, m.workflowDB)
		if err != nil {
			return err
		}
		m.store = sqlStore
		m.onClose(sqlStore.Close)
	}
	ops, err := workflow.NewRegistry(m.operations()...)
	if err != nil {
		return err
	}
	policy := workflow.ResiliencePolicy(func(p workflow.Policy) []resilience.Policy {
		b, err := m.breakers.Get(p.Protocol)
		if err != nil {
			m.log.Error("anya: circuit breaker", "protocol", p.Protocol, "err", err)
			return nil
		}
		return []resilience.Policy{b}
	})
	m.engine, err = workflow.New(m.store, ops, append([]workflow.Option{workflow.WithBus(m.bus), workflow.WithGuard(m.bounds),
		workflow.WithClock(m.now), workflow.WithLogger(m.log), workflow.WithPolicy(policy),
		workflow.WithTracerProvider(m.cfg.tracerProv), workflow.WithMeterProvider(m.cfg.meterProv)}, m.engineOptions()...)...)
	if err != nil {
		return err
	}
	return m.engine.Register(workflow.VerifiedPayment())
}

// enter marks a call in progress; callers must m.mu.RUnlock() when it returns nil. It refuses
// the calls of a Manager New did not create (NotConstructedError) and, once Shutdown began,
// every call (ErrClosed).
func (m *Manager) enter() error {
	if m == nil || !m.built {
		return notConstructed()
	}
	if m.closing.Load() {
		return ErrClosed
	}
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// Close is Shutdown without a deadline: it stops the Manager's triggers, waits for the calls in
// progress, however long they take, and closes everything it created — the notifier, the ML
// engines, the records store, the databases, and the bus, chain and data directory unless the
// host gave them. Payments that were in progress stay stored, to be continued by Resume after
// the next start. Close is idempotent: every call returns the first one's result.
func (m *Manager) Close() error {
	return m.Shutdown(context.Background())
}

// Shutdown closes the Manager as Close does, waiting for the calls in progress no longer than
// ctx allows. New calls are refused with ErrClosed from the moment it begins. It first stops what
// the calls in progress do not need — the bus subscriptions of the triggers, the notifier, the
// rebroadcaster and the republisher — then waits for the calls in progress, then closes the
// rest. When ctx ends first, Shutdown returns ctx.Err() with the triggers and background
// goroutines stopped (or stopping); the rest is released as soon as the last call in progress
// returns, by a goroutine Shutdown leaves to do it, and a later Close waits for that and returns
// its result. Shutdown may be called again, and concurrently with Close.
func (m *Manager) Shutdown(ctx context.Context) error {
	if m == nil || !m.built {
		return notConstructed()
	}
	m.closing.Store(true)
	m.closeOnce.Do(func() {
		go func() {
			m.stopBackground()
			m.mu.Lock() // waits for the calls in progress
			m.closed = true
			m.mu.Unlock()
			m.closeErr = m.release()
			close(m.done)
		}()
	})
	select {
	case <-m.stopped:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-m.done:
		return m.closeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopBackground stops the triggers and the background goroutines, once: the bus subscriptions
// (each waiting for its handler to return), then the rest in the reverse order of their start.
func (m *Manager) stopBackground() {
	m.stopOnce.Do(func() {
		for _, s := range m.subs {
			_ = s.Unsubscribe()
			<-s.Done()
		}
		for i := len(m.stops) - 1; i >= 0; i-- {
			if err := m.stops[i](); err != nil {
				m.log.Warn("anya: stop", "err", err)
			}
		}
		if m.stopped != nil {
			close(m.stopped)
		}
	})
}

// release closes what the Manager created, in the reverse order of creation, once the triggers
// are stopped and no call is in progress.
func (m *Manager) release() error {
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		if err := m.closers[i](); err != nil && !errors.Is(err, bus.ErrClosed) {
			errs = append(errs, err)
		}
	}
	m.closers = nil
	return errors.Join(errs...)
}

// The accessors below return the Manager's components; for a Manager New did not create (the
// zero Manager, a nil *Manager) they return nil or the zero value, never panic.

// Bus returns the event bus the Manager publishes on.
func (m *Manager) Bus() *bus.Bus { return get(m, func() *bus.Bus { return m.bus }) }

// Chain returns the Bitcoin chain the Manager uses. Without WithChain it is the embedded
// simchain, which EmbeddedChain returns as such.
func (m *Manager) Chain() bitcoin.Chain { return get(m, func() bitcoin.Chain { return m.rawChain }) }

// Network returns the Bitcoin network of the Manager's chain.
func (m *Manager) Network() bitcoin.Network { return get(m, func() bitcoin.Network { return m.net }) }

// Notifier returns the notifier following the chain.
func (m *Manager) Notifier() *bitcoin.Notifier {
	return get(m, func() *bitcoin.Notifier { return m.notifier })
}

// Resolver returns the DID resolver.
func (m *Manager) Resolver() *did.Resolver { return get(m, func() *did.Resolver { return m.resolver }) }

// DWN returns the records store node serving the identities' data.
func (m *Manager) DWN() *dwn.Node { return get(m, func() *dwn.Node { return m.node }) }

// Host returns the host's DID: the issuer of address-link credentials.
func (m *Manager) Host() *did.BearerDID { return get(m, func() *did.BearerDID { return m.host }) }

// Workflows returns the durable workflow engine, with the verified-payment workflow and its
// operations registered; hosts may register their own definitions that call them.
func (m *Manager) Workflows() *workflow.Engine {
	return get(m, func() *workflow.Engine { return m.engine })
}

// Boundaries returns the trust boundaries every crossing between protocols passes.
func (m *Manager) Boundaries() *security.Boundaries {
	return get(m, func() *security.Boundaries { return m.bounds })
}

// Audit returns the tamper-evident audit log of every crossing and decision.
func (m *Manager) Audit() *security.AuditLog {
	return get(m, func() *security.AuditLog { return m.audit })
}

// DataDir returns the directory holding the Manager's databases.
func (m *Manager) DataDir() string { return get(m, func() string { return m.dir }) }

// get returns f() for a Manager New created, the zero value otherwise.
func get[T any](m *Manager, f func() T) T {
	if m == nil {
		var zero T
		return zero
	}
	return f()
}
