package anya

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge/handler"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/bridge/trigger"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/cache"
	"github.com/anya-org/anya-go/keystore"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/vc"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Defaults of New and of the bridges.
const (
	// DefaultRiskThreshold is the fraud risk at or above which a payment is blocked unless
	// WithRiskThreshold sets another: the built-in verified-payment workflow's condition when
	// its run input names none, MLToBitcoin's gate and the triggers' fraud assessments.
	DefaultRiskThreshold = 0.7
	// DefaultFeeRate is the fee rate of the Manager's payments, in sat/kvB (2 sat/vB).
	DefaultFeeRate bitcoin.FeeRate = 2000
	// DefaultConfirmations is how many confirmations make a payment confirmed.
	DefaultConfirmations = 1
	// DefaultChallengeTTL is how long an address-link challenge can be answered.
	DefaultChallengeTTL = 10 * time.Minute
	// DefaultLinkValidity is how long an address-link credential is valid.
	DefaultLinkValidity = 365 * 24 * time.Hour
	// DefaultGrantValidity is how long the permission grants an identity gives the host last.
	DefaultGrantValidity = 10 * 365 * 24 * time.Hour
	// DefaultCacheTTL bounds how long identity, link and UTXO lookups are cached; events
	// (new records, new blocks) invalidate them sooner.
	DefaultCacheTTL = 5 * time.Minute
	// DefaultCacheEntries bounds each of the Manager's caches.
	DefaultCacheEntries = 10_000
	// EventSource is the bus Source of the events the Manager publishes.
	EventSource = "anya"
	// DefaultRepublishInterval is how often the Manager republishes the DID documents of the
	// identities it holds keys for: well within the two hours after which the Mainline DHT
	// drops a did:dht record that nobody republished.
	DefaultRepublishInterval = time.Hour
)

// File names of the Manager's SQLite databases in its data directory.
const (
	WorkflowFile = "workflow.db" // the durable workflow runs
	StateFile    = "state.db"    // send records with their reserved coins, payments, features, checkpoints
	AuditFile    = "audit.db"    // the tamper-evident audit log of every boundary crossing
	DWNFile      = "dwn.db"      // the records store (decentralized web node) of the identities
	DHTFile      = "dht.db"      // the did:dht records the in-process gateway serves
	KeysFile     = "keys.db"     // the key store of WithPassphrase and WithKEK: keys encrypted at rest
	FeaturesFile = "features.db" // the feature store: every vector the models scored, online and offline
)

// Option configures New. Options are applied in order over the defaults; New then validates
// the whole configuration once and reports the first invalid option as an *OptionError.
type Option func(*config)

type config struct {
	dataDir       string
	bus           *bus.Bus
	chain         bitcoin.Chain
	dht           *diddht.Client
	methods       []did.MethodResolver
	host          *did.BearerDID
	trusted       []string
	logger        *slog.Logger
	now           func() time.Time
	feeRate       bitcoin.FeeRate
	confirmations int
	boundaries    []security.Boundary
	redactionKey  []byte
	breakers      *resilience.Registry[string, *resilience.CircuitBreaker]
	fullSync      bool
	ml            mlConfig
	status        vc.StatusListFetcher
	tracerProv    trace.TracerProvider // WithTracerProvider; nil: no-op
	meterProv     metric.MeterProvider // WithMeterProvider; nil: no-op

	jetStream    *jetStreamConfig // WithJetStream
	hostName     string
	leaseTTL     time.Duration
	challengeKey []byte

	rebroadcastEvery time.Duration
	republishEvery   time.Duration

	// The bridges.
	riskThreshold  float64
	largeTx        int64
	triggers       []trigger.Definition
	triggerActions []namedAction
	handlers       []namedHandler
	postProcessors []namedPostProcessor
	blockAnalysis  bool
	trainMinRows   int // > 0: WithTrainIfMissing
	rescoreEvery   time.Duration
	cacheStore     cache.Store
	cacheStoreTTL  time.Duration
	pipelines      []pipelineSpec
	monitorOn      bool             // WithFraudMonitor
	monitorOpts    []monitor.Option // WithFraudMonitor's

	// The key store: at most one of these.
	keyStore      keystore.Store
	passphrase    []byte
	kek           []byte
	ephemeralKeys bool
	keyOptions    []string // the options that chose one, in order, to report a conflict

	// given records the options given whose zero value is not their default (WithBus(nil), ...),
	// so that validate can tell a nil given from none.
	given map[string]bool
}

// defaultConfig is New's configuration before its options.
func defaultConfig() config {
	return config{feeRate: DefaultFeeRate, confirmations: DefaultConfirmations, now: time.Now, logger: slog.New(slog.DiscardHandler),
		rebroadcastEvery: DefaultRebroadcastInterval, republishEvery: DefaultRepublishInterval, given: map[string]bool{},
		riskThreshold: DefaultRiskThreshold, largeTx: trigger.DefaultLargeTx, rescoreEvery: DefaultRescoreInterval}
}

func (c *config) give(opt string) {
	if c.given == nil {
		c.given = map[string]bool{}
	}
	c.given[opt] = true
}

// validate checks the whole configuration once, after the options: the first invalid option
// is returned as an *OptionError. Secrets are never put in the error: their length is.
func (c *config) validate() error {
	bad := func(opt string, v any, reason string) error {
		return &OptionError{Option: opt, Value: v, Reason: reason}
	}
	switch {
	case c.given["WithDataDir"] && c.dataDir == "":
		return bad("WithDataDir", c.dataDir, "empty directory")
	case c.given["WithBus"] && c.bus == nil:
		return bad("WithBus", nil, "nil bus")
	case c.given["WithChain"] && c.chain == nil:
		return bad("WithChain", nil, "nil chain")
	case c.given["WithDHTClient"] && c.dht == nil:
		return bad("WithDHTClient", nil, "nil client")
	case c.given["WithHostDID"] && c.host == nil:
		return bad("WithHostDID", nil, "nil bearer DID")
	case c.logger == nil:
		return bad("WithLogger", nil, "nil logger")
	case c.now == nil:
		return bad("WithClock", nil, "nil clock")
	case c.feeRate < bitcoin.MinRelayFeeRate:
		return bad("WithFeeRate", c.feeRate, fmt.Sprintf("below the minimum relay fee rate (%d sat/kvB)", bitcoin.MinRelayFeeRate))
	case c.confirmations < 1 || c.confirmations > bitcoin.DefaultSafetyLimit:
		return bad("WithConfirmations", c.confirmations, fmt.Sprintf("must be in 1..%d", bitcoin.DefaultSafetyLimit))
	case c.given["WithBoundaries"] && len(c.boundaries) == 0:
		return bad("WithBoundaries", len(c.boundaries), "no boundaries: every crossing would be refused")
	case c.given["WithRedactionKey"] && len(c.redactionKey) < 16:
		return bad("WithRedactionKey", fmt.Sprintf("%d bytes", len(c.redactionKey)), "shorter than 16 bytes")
	case c.given["WithBreakers"] && c.breakers == nil:
		return bad("WithBreakers", nil, "nil registry")
	case c.given["WithFraudModel"] && c.ml.fraud == nil:
		return bad("WithFraudModel", nil, "nil model")
	case c.given["WithReputationModel"] && c.ml.reputation == nil:
		return bad("WithReputationModel", nil, "nil model")
	case c.republishEvery < time.Minute:
		return bad("WithRepublishInterval", c.republishEvery, "shorter than a minute")
	case c.given["WithPassphrase"] && len(c.passphrase) == 0:
		return bad("WithPassphrase", "0 bytes", "empty passphrase")
	case c.given["WithKEK"] && len(c.kek) != keystore.KEKSize:
		return bad("WithKEK", fmt.Sprintf("%d bytes", len(c.kek)), fmt.Sprintf("a key-encryption key is %d bytes", keystore.KEKSize))
	case c.given["WithCredentialStatus"] && c.status == nil:
		return bad("WithCredentialStatus", nil, "nil status list fetcher")
	case c.given["WithKeyStore"] && c.keyStore == nil:
		return bad("WithKeyStore", nil, "nil key store")
	case !(c.riskThreshold > 0 && c.riskThreshold <= 1):
		return bad("WithRiskThreshold", c.riskThreshold, "must be in (0, 1]")
	case c.largeTx < 1:
		return bad("WithLargeTx", c.largeTx, "must be at least 1 satoshi")
	case c.given["WithTrainIfMissing"] && c.trainMinRows < 1:
		return bad("WithTrainIfMissing", c.trainMinRows, "at least 1 labelled payment")
	case c.rescoreEvery < 0 || c.rescoreEvery > 0 && c.rescoreEvery < time.Minute:
		return bad("WithRescoreInterval", c.rescoreEvery, "0 (off) or at least a minute")
	case c.given["WithCacheStore"] && c.cacheStore == nil:
		return bad("WithCacheStore", nil, "nil store")
	case c.cacheStoreTTL < 0:
		return bad("WithCacheStore", c.cacheStoreTTL, "negative TTL")
	case len(c.keyOptions) > 1:
		return bad(c.keyOptions[1], nil, "the key store is already chosen by "+c.keyOptions[0]+
			": give one of WithKeyStore, WithPassphrase, WithKEK and WithEphemeralKeys")
	}
	for _, m := range c.methods {
		if m == nil {
			return bad("WithDIDMethods", nil, "nil method resolver")
		}
	}
	for _, d := range c.trusted {
		if _, err := did.Parse(d); err != nil {
			return bad("WithTrustedIssuers", d, err.Error())
		}
	}
	for _, a := range c.triggerActions {
		if a.name == "" || a.action.Run == nil {
			return bad("WithTriggerAction", a.name, "a name and an action with Run")
		}
	}
	names := map[string]bool{}
	for _, h := range c.handlers {
		switch {
		case h.name == "" || h.f == nil || strings.ContainsRune(h.name, '\n'):
			return bad("WithEventHandler", h.name, "a name (without newlines) and a handler")
		case names[h.name]:
			return bad("WithEventHandler", h.name, "a name registered twice")
		}
		if err := bus.ValidatePattern(h.pattern); err != nil {
			return bad("WithEventHandler", h.pattern, err.Error())
		}
		names[h.name] = true
	}
	for _, p := range c.postProcessors {
		if p.name == "" || p.f == nil {
			return bad("WithPostProcessor", p.name, "a name and a post-processor")
		}
	}
	for _, o := range c.ml.opts {
		if o == nil {
			return bad("WithMLOptions", nil, "nil option")
		}
	}
	return c.validateJetStream()
}

// keyOption records that option opt chose the key store.
func (c *config) keyOption(opt string) {
	c.give(opt)
	c.keyOptions = append(c.keyOptions, opt)
}

// WithPassphrase keeps the keys of the identities NewIdentity creates (and of the host's DID,
// unless WithHostDID gives it) in the data directory's KeysFile, encrypted at rest under a key
// derived from passphrase with Argon2id (the keystore package's Passphrase and DefaultKDF), so
// that a Manager started again on the directory with the same passphrase signs for them. A
// different passphrase makes New fail with an error matching keystore.ErrWrongKey. At most one
// of WithPassphrase, WithKEK, WithKeyStore and WithEphemeralKeys may be given. Defaults to no
// key store (see WithEphemeralKeys).
func WithPassphrase(passphrase []byte) Option {
	return func(c *config) {
		c.keyOption("WithPassphrase")
		c.passphrase = bytes.Clone(passphrase)
	}
}

// WithKEK is WithPassphrase with a key-encryption key of keystore.KEKSize random bytes, kept
// by the host elsewhere (a secret manager, a hardware token), instead of a passphrase. Defaults
// to no key store (see WithEphemeralKeys).
func WithKEK(kek []byte) Option {
	return func(c *config) {
		c.keyOption("WithKEK")
		c.kek = bytes.Clone(kek)
	}
}

// WithKeyStore keeps identities' keys in s, which the host owns: a keystore.SQL it opened
// (with its own KDF cost, or an External key management service), or any keystore.Store.
// Defaults to no key store (see WithEphemeralKeys).
func WithKeyStore(s keystore.Store) Option {
	return func(c *config) {
		c.keyOption("WithKeyStore")
		c.keyStore = s
	}
}

// WithEphemeralKeys keeps the keys NewIdentity creates in memory only: they are lost at Close,
// and a Manager started again on the data directory cannot sign for those identities. It is
// the explicit choice a host with a data directory must make to create identities without a
// key store.
//
// Without any of WithPassphrase, WithKEK, WithKeyStore and WithEphemeralKeys, a Manager on a
// temporary directory (no WithDataDir) keeps keys in memory — its directory goes at Close anyway
// — and a Manager on a host's data directory refuses NewIdentity with ErrNoKeyStore rather than
// create identities it would lose; AddIdentity, whose keys the host keeps, works either way.
// Defaults to off: keys in memory on a temporary directory, none on a host's data directory.
func WithEphemeralKeys() Option {
	return func(c *config) {
		c.keyOption("WithEphemeralKeys")
		c.ephemeralKeys = true
	}
}

// WithRepublishInterval sets how often the Manager republishes the DID documents of the
// did:dht identities it holds keys for (it also does at start); at least a minute. Defaults to
// DefaultRepublishInterval.
func WithRepublishInterval(d time.Duration) Option {
	return func(c *config) { c.republishEvery = d }
}

// WithDataDir keeps the Manager's databases (WorkflowFile, StateFile, AuditFile, DWNFile,
// DHTFile and KeysFile) in dir, created if needed, so that payments, records and the audit log
// survive a restart. Defaults to a new temporary directory that Close removes.
func WithDataDir(dir string) Option {
	return func(c *config) {
		c.give("WithDataDir")
		c.dataDir = dir
	}
}

// WithBus makes the Manager publish and subscribe on b, which the host owns. The Manager's block
// trigger subscribes to the notifier's block events as bitcoin.BlockEvent values, which a bus
// delivers in-process (a bus with a byte-level transport carries only concrete payload types).
// Defaults to a new bus that Close closes.
func WithBus(b *bus.Bus) Option {
	return func(c *config) {
		c.give("WithBus")
		c.bus = b
	}
}

// WithChain makes the Manager use chain ch (an rpcchain node, a simchain, ...), which the host
// owns, on any network the bitcoin package knows — btcd's simnet included, whose chain, unlike
// regtest's, survives a restart of the node. Defaults to a new embedded regtest simchain that
// Close closes (see Manager.EmbeddedChain and Manager.Fund).
func WithChain(ch bitcoin.Chain) Option {
	return func(c *config) {
		c.give("WithChain")
		c.chain = ch
	}
}

// WithDHTClient makes the Manager publish and resolve did:dht documents through client (a
// gateway of the host's choosing). Defaults to a client of an in-process gateway, so that
// did:dht works without a network.
func WithDHTClient(client *diddht.Client) Option {
	return func(c *config) {
		c.give("WithDHTClient")
		c.dht = client
	}
}

// WithDIDMethods adds DID methods (did:web, ...) to the ones the Manager resolves; the resolver
// is did.NewResolver over the default methods and these, in order. Defaults to did:key,
// did:jwk, did:pkh and did:dht only.
func WithDIDMethods(methods ...did.MethodResolver) Option {
	return func(c *config) { c.methods = append(c.methods, methods...) }
}

// WithHostDID makes the Manager act as b: the issuer of address-link credentials and the
// grantee that writes payment records into identities' data stores. A host with a data
// directory should pass the same DID on every start, or its earlier credentials stop being
// trusted. Defaults to a new did:key (Ed25519) for each Manager, or the one kept in a durable
// key store (WithPassphrase, WithKEK, WithKeyStore).
func WithHostDID(b *did.BearerDID) Option {
	return func(c *config) {
		c.give("WithHostDID")
		c.host = b
	}
}

// WithTrustedIssuers adds issuers whose credentials count as KYC (credentials of type
// KYCCredentialType) and as address links. The host's DID is always trusted. Defaults to none
// but the host.
func WithTrustedIssuers(dids ...string) Option {
	return func(c *config) { c.trusted = append(c.trusted, dids...) }
}

// WithLogger sets the logger of the Manager and the components it creates. Defaults to a
// logger that discards everything (slog.DiscardHandler).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithClock sets the clock of the Manager and the components it creates (credential validity,
// record timestamps, audit entries, workflow transitions). Defaults to time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithFeeRate sets the fee rate of the Manager's payments, in sat/kvB; at least
// bitcoin.MinRelayFeeRate. Defaults to DefaultFeeRate.
func WithFeeRate(r bitcoin.FeeRate) Option {
	return func(c *config) { c.feeRate = r }
}

// WithConfirmations sets how many confirmations make a payment confirmed (its record's status
// then changes and TopicPaymentConfirmed is published), in 1..144. Defaults to
// DefaultConfirmations.
func WithConfirmations(n int) Option {
	return func(c *config) { c.confirmations = n }
}

// WithBoundaries replaces the trust boundaries every crossing between protocols passes (at
// least one). Defaults to DefaultBoundaries.
func WithBoundaries(bs []security.Boundary) Option {
	return func(c *config) {
		c.give("WithBoundaries")
		c.boundaries = bs
	}
}

// WithRedactionKey sets the key that turns DIDs into pseudonyms before they reach ML (at least
// 16 bytes). Defaults to a random key for each Manager.
func WithRedactionKey(key []byte) Option {
	return func(c *config) {
		c.give("WithRedactionKey")
		c.redactionKey = bytes.Clone(key)
	}
}

// WithBreakers makes the workflow steps of each protocol ("bitcoin", "web5", "ml") share the
// circuit breaker the registry holds for it. Defaults to a registry of breakers with the
// resilience package's defaults, named after their protocol, that publish their events on the
// Manager's bus (resilience.>).
func WithBreakers(r *resilience.Registry[string, *resilience.CircuitBreaker]) Option {
	return func(c *config) {
		c.give("WithBreakers")
		c.breakers = r
	}
}

// WithFullSync makes every commit of the Manager's databases wait for the disk, so that
// payments and records survive power loss, not only a crash of the process. Defaults to off.
func WithFullSync() Option {
	return func(c *config) { c.fullSync = true }
}

// WithCredentialStatus makes the Manager check the status lists (revocation, suspension) of
// the credentials it verifies — address links, and credentials given to AddCredential — by
// fetching their status list credentials with f (vc.HTTPStatusLists on the web). A revoked or
// suspended address link does not verify (ReasonLinkRevoked). A link's verdict is cached for
// up to DefaultCacheTTL, so another issuer's revocation takes effect within that; the
// Manager's own revocation list (RevokeLink) counts at once, with or without this option.
// Defaults to no status check of other issuers' lists: their credentials' status entries are
// not followed.
func WithCredentialStatus(f vc.StatusListFetcher) Option {
	return func(c *config) {
		c.give("WithCredentialStatus")
		c.status = f
	}
}

// namedAction is a trigger action the host registers (WithTriggerAction).
type namedAction struct {
	name   string
	action trigger.Action
}

type namedHandler struct {
	pattern, name string
	f             handler.Func
}

type namedPostProcessor struct {
	name string
	f    handler.PostProcessor
}

// WithRiskThreshold sets the fraud risk at or above which a payment is blocked, in (0, 1]:
// the verified payment's send condition (its run input risk_threshold, stored with the run,
// so a payment keeps the threshold it started with), MLToBitcoin's gate and the triggers'
// fraud assessments. Defaults to DefaultRiskThreshold.
func WithRiskThreshold(t float64) Option {
	return func(c *config) { c.riskThreshold = t }
}

// WithLargeTx sets the amount, in satoshis, above which a transaction of a block is assessed
// by the fraud model (the assess-large-tx trigger of trigger.DefaultDefinitions). Defaults to
// trigger.DefaultLargeTx.
func WithLargeTx(sat int64) Option {
	return func(c *config) { c.largeTx = sat }
}

// WithTriggers adds trigger definitions (in Go, or read with trigger.ParseDefinitions from JSON
// or YAML) after trigger.DefaultDefinitions: CEL conditions over the events the Manager fires
// (every transaction of every block, its identities' DID document changes, records-store
// events), each with an action (registered with WithTriggerAction, or one of the defaults'),
// run once per event after its params cross the boundary the definition names. New refuses
// definitions that do not compile, listing every problem (*trigger.DefinitionError). Defaults
// to trigger.DefaultDefinitions only.
func WithTriggers(defs ...trigger.Definition) Option {
	return func(c *config) { c.triggers = append(c.triggers, defs...) }
}

// WithTriggerAction registers the side effect name for the triggers' definitions
// (WithTriggers). Defaults to the actions of trigger.DefaultDefinitions only, which the
// Manager provides.
func WithTriggerAction(name string, a trigger.Action) Option {
	return func(c *config) { c.triggerActions = append(c.triggerActions, namedAction{name, a}) }
}

// WithEventHandler registers a cross-protocol event handler (package bridge/handler) under a
// unique name, for the kinds of event matching pattern ('*' one token, a final '>' the rest)
// among those the Manager fires its triggers on: every transaction of every block but the
// coinbase (trigger.KindTx), a registered identity's DID document change
// (trigger.KindDIDUpdated) and records-store events (trigger.KindRecordWritten,
// trigger.KindRecordDeleted). The matching handlers run on each such event — several at once —
// then the post-processors (WithPostProcessor) on all their results, then the side effects
// they ask for, each once per event (the handler store in StateFile), through its trust
// boundary when it names a crossing; a block's outcomes are in BridgeBlock.Handled, and a
// reorg retracts the effects of a disconnected block's events (BridgeBlock.Retracted).
// Defaults to none.
func WithEventHandler(pattern, name string, f handler.Func) Option {
	return func(c *config) { c.handlers = append(c.handlers, namedHandler{pattern, name, f}) }
}

// WithPostProcessor registers a post-processor of the event handlers' results
// (WithEventHandler): the post-processors run in registration order on every event a handler
// matched, before any side effect, and may correlate, drop or veto. Defaults to none.
func WithPostProcessor(name string, p handler.PostProcessor) Option {
	return func(c *config) { c.postProcessors = append(c.postProcessors, namedPostProcessor{name, p}) }
}

// WithBlockAnalysis makes the Manager analyse every block connected (Analyzer): each
// transaction's features cross into ML and are scored, each (transaction, linked DID) crosses
// into Web5, where the link is checked again, in parallel; the correlated result is published
// on TopicBlockAnalysed. Defaults to off: the analyzer runs when the host calls it.
func WithBlockAnalysis() Option {
	return func(c *config) { c.blockAnalysis = true }
}

// WithTrainIfMissing makes New take the fraud model from the Manager's model registry
// (ModelsDir in the data directory) when WithFraudModel gives none: its newest version, or,
// when there is none and at least minRows labelled payments are in the feature store's offline
// tier, a model trained on them, written there with its card and activated (see
// TrainFraudModel). Until then the shipped model serves. Defaults to off: the shipped model.
func WithTrainIfMissing(minRows int) Option {
	return func(c *config) {
		c.give("WithTrainIfMissing")
		c.trainMinRows = minRows
	}
}

// WithRescoreInterval sets how often the Manager re-scores the reputation of its registered
// identities (see Rescore); 0 turns it off, otherwise at least a minute. Defaults to
// DefaultRescoreInterval.
func WithRescoreInterval(d time.Duration) Option {
	return func(c *config) { c.rescoreEvery = d }
}

// WithCacheStore adds a shared store (a NATS KV bucket of cache/natscache, say) as the third
// tier of the Manager's caches whose values encode to JSON — the UTXOs of addresses and the
// reputation scores — behind the per-protocol and cross-protocol tiers, its entries written
// with ttl (0: no expiry). Defaults to none: two in-process tiers.
func WithCacheStore(s cache.Store, ttl time.Duration) Option {
	return func(c *config) {
		c.give("WithCacheStore")
		c.cacheStore, c.cacheStoreTTL = s, ttl
	}
}

// WithTracerProvider traces the Manager with tp: Pay is a span (SpanPay) under the caller's,
// and every component the Manager creates — the bus, the records store, the trust boundaries
// and their audit log, the bitcoin sender and notifier, the caches, the circuit breakers, the
// workflow engine and the ML engines — opens its spans on tp, so a payment is one trace from
// Pay through the workflow steps, the boundary crossings and the broadcast to the records
// write. Spans carry no DIDs, addresses, amounts or txids. Components the host gives (WithBus,
// WithChain, WithBreakers, ...) keep their own telemetry. A nil tp is the no-op provider.
// Defaults to OpenTelemetry's no-op provider: nothing is traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProv = tp }
}

// WithMeterProvider reports the metrics of every component the Manager creates (see
// WithTracerProvider) as instruments of mp: bus messages, records-store operations, boundary
// crossings, sends, blocks, cache lookups, breaker states, workflow runs and steps, model
// scores. A nil mp is the no-op provider. Defaults to OpenTelemetry's no-op provider: nothing
// is reported.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meterProv = mp }
}
