package anya

import (
	"log/slog"
	"time"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/resilience"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
)

// Defaults of New and of the bridges.
const (
	// DefaultRiskThreshold is the fraud risk at or above which a payment is blocked: the
	// built-in verified-payment workflow's condition (risk_score < 0.7) and MLToBitcoin's gate.
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
)

// File names of the Manager's SQLite databases in its data directory.
const (
	WorkflowFile = "workflow.db" // the durable workflow runs
	StateFile    = "state.db"    // send records with their reserved coins, payments, features, checkpoints
	AuditFile    = "audit.db"    // the tamper-evident audit log of every boundary crossing
	DWNFile      = "dwn.db"      // the records store (decentralized web node) of the identities
)

// Option configures New.
type Option func(*config) error

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

	rebroadcastEvery time.Duration
}

// WithDataDir keeps the Manager's databases (WorkflowFile, StateFile, AuditFile, DWNFile) in
// dir, created if needed, so that payments, records and the audit log survive a restart. Defaults to a new
// temporary directory that Close removes.
func WithDataDir(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return &OptionError{Option: "WithDataDir", Reason: "empty directory"}
		}
		c.dataDir = dir
		return nil
	}
}

// WithBus makes the Manager publish and subscribe on b, which the host owns. The Manager's block
// trigger subscribes to the notifier's block events as bitcoin.BlockEvent values, which a bus
// delivers in-process (a bus with a byte-level transport carries only concrete payload types).
// Defaults to a new bus that Close closes.
func WithBus(b *bus.Bus) Option {
	return func(c *config) error {
		if b == nil {
			return &OptionError{Option: "WithBus", Reason: "nil bus"}
		}
		c.bus = b
		return nil
	}
}

// WithChain makes the Manager use chain c (an rpcchain node, a simchain, ...), which the host
// owns. Defaults to a new embedded regtest simchain that Close closes.
func WithChain(ch bitcoin.Chain) Option {
	return func(c *config) error {
		if ch == nil {
			return &OptionError{Option: "WithChain", Reason: "nil chain"}
		}
		c.chain = ch
		return nil
	}
}

// WithDHTClient makes the Manager publish and resolve did:dht documents through client (a
// gateway of the host's choosing). Defaults to a client of an in-process gateway, so that
// did:dht works without a network.
func WithDHTClient(client *diddht.Client) Option {
	return func(c *config) error {
		if client == nil {
			return &OptionError{Option: "WithDHTClient", Reason: "nil client"}
		}
		c.dht = client
		return nil
	}
}

// WithDIDMethods adds DID methods (did:web, ...) to the ones the Manager resolves. Defaults to
// did:key, did:jwk, did:pkh and did:dht only.
func WithDIDMethods(methods ...did.MethodResolver) Option {
	return func(c *config) error {
		for _, m := range methods {
			if m == nil {
				return &OptionError{Option: "WithDIDMethods", Reason: "nil method resolver"}
			}
		}
		c.methods = append(c.methods, methods...)
		return nil
	}
}

// WithHostDID makes the Manager act as b: the issuer of address-link credentials and the
// grantee that writes payment records into identities' data stores. A host with a data
// directory should pass the same DID on every start, or its earlier credentials stop being
// trusted. Defaults to a new did:key (Ed25519) for each Manager.
func WithHostDID(b *did.BearerDID) Option {
	return func(c *config) error {
		if b == nil {
			return &OptionError{Option: "WithHostDID", Reason: "nil bearer DID"}
		}
		c.host = b
		return nil
	}
}

// WithTrustedIssuers adds issuers whose credentials count as KYC (credentials of type
// KYCCredentialType) and as address links. The host's DID is always trusted. Defaults to none.
func WithTrustedIssuers(dids ...string) Option {
	return func(c *config) error {
		for _, d := range dids {
			if _, err := did.Parse(d); err != nil {
				return &OptionError{Option: "WithTrustedIssuers", Reason: err.Error()}
			}
		}
		c.trusted = append(c.trusted, dids...)
		return nil
	}
}

// WithLogger sets the logger of the Manager and the components it creates. Defaults to a
// logger that discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return &OptionError{Option: "WithLogger", Reason: "nil logger"}
		}
		c.logger = l
		return nil
	}
}

// WithClock sets the clock of the Manager and the components it creates (credential validity,
// record timestamps, audit entries, workflow transitions). Defaults to time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return &OptionError{Option: "WithClock", Reason: "nil clock"}
		}
		c.now = now
		return nil
	}
}

// WithFeeRate sets the fee rate of the Manager's payments, in sat/kvB. Defaults to
// DefaultFeeRate.
func WithFeeRate(r bitcoin.FeeRate) Option {
	return func(c *config) error {
		if r < bitcoin.MinRelayFeeRate {
			return &OptionError{Option: "WithFeeRate", Reason: "below the minimum relay fee rate"}
		}
		c.feeRate = r
		return nil
	}
}

// WithConfirmations sets how many confirmations make a payment confirmed (its record's status
// then changes and TopicPaymentConfirmed is published). Defaults to DefaultConfirmations.
func WithConfirmations(n int) Option {
	return func(c *config) error {
		if n < 1 || n > bitcoin.DefaultSafetyLimit {
			return &OptionError{Option: "WithConfirmations", Reason: "must be in 1..144"}
		}
		c.confirmations = n
		return nil
	}
}

// WithBoundaries replaces the trust boundaries every crossing between protocols passes.
// Defaults to DefaultBoundaries.
func WithBoundaries(bs []security.Boundary) Option {
	return func(c *config) error {
		if len(bs) == 0 {
			return &OptionError{Option: "WithBoundaries", Reason: "no boundaries: every crossing would be refused"}
		}
		c.boundaries = bs
		return nil
	}
}

// WithRedactionKey sets the key that turns DIDs into pseudonyms before they reach ML (at least
// 16 bytes). Defaults to a random key for each Manager.
func WithRedactionKey(key []byte) Option {
	return func(c *config) error {
		if len(key) < 16 {
			return &OptionError{Option: "WithRedactionKey", Reason: "shorter than 16 bytes"}
		}
		c.redactionKey = append([]byte(nil), key...)
		return nil
	}
}

// WithBreakers makes the workflow steps of each protocol ("bitcoin", "web5", "ml") share the
// circuit breaker the registry holds for it. Defaults to a registry of breakers with the
// resilience package's defaults, named after their protocol, that publish their events on the
// Manager's bus (resilience.>).
func WithBreakers(r *resilience.Registry[string, *resilience.CircuitBreaker]) Option {
	return func(c *config) error {
		if r == nil {
			return &OptionError{Option: "WithBreakers", Reason: "nil registry"}
		}
		c.breakers = r
		return nil
	}
}

// WithFullSync makes every commit of the Manager's databases wait for the disk, so that
// payments and records survive power loss, not only a crash of the process. Defaults to off.
func WithFullSync() Option {
	return func(c *config) error {
		c.fullSync = true
		return nil
	}
}
