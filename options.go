package anya

import (
	"bytes"
	"fmt"
	"log/slog"
	"time"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/keystore"
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

	jetStream    *jetStreamConfig // WithJetStream
	hostName     string
	leaseTTL     time.Duration
	challengeKey []byte

	rebroadcastEvery time.Duration
	republishEvery   time.Duration

	// The key store: at most one of these.
	keyStore      keystore.Store
	passphrase    []byte
	kek           []byte
	ephemeralKeys bool
	keyOptions    []string // the options that set one, to report a conflict
}

// keyOption records that option opt chose the key store.
func (c *config) keyOption(opt string) error {
	if len(c.keyOptions) > 0 {
		return &OptionError{Option: opt, Reason: "the key store is already chosen by " + c.keyOptions[0] + ": give one of WithKeyStore, WithPassphrase, WithKEK and WithEphemeralKeys"}
	}
	c.keyOptions = append(c.keyOptions, opt)
	return nil
}

// WithPassphrase keeps the keys of the identities NewIdentity creates (and of the host's DID,
// unless WithHostDID gives it) in the data directory's KeysFile, encrypted at rest under a key
// derived from passphrase with Argon2id (the keystore package's Passphrase and DefaultKDF), so
// that a Manager started again on the directory with the same passphrase signs for them. A
// different passphrase makes New fail with an error matching keystore.ErrWrongKey. Defaults to
// no key store (see WithEphemeralKeys).
func WithPassphrase(passphrase []byte) Option {
	return func(c *config) error {
		if len(passphrase) == 0 {
			return &OptionError{Option: "WithPassphrase", Reason: "empty passphrase"}
		}
		if err := c.keyOption("WithPassphrase"); err != nil {
			return err
		}
		c.passphrase = bytes.Clone(passphrase)
		return nil
	}
}

// WithKEK is WithPassphrase with a key-encryption key of keystore.KEKSize random bytes, kept
// by the host elsewhere (a secret manager, a hardware token), instead of a passphrase. Defaults
// to no key store (see WithEphemeralKeys).
func WithKEK(kek []byte) Option {
	return func(c *config) error {
		if len(kek) != keystore.KEKSize {
			return &OptionError{Option: "WithKEK", Reason: fmt.Sprintf("a key-encryption key is %d bytes, not %d", keystore.KEKSize, len(kek))}
		}
		if err := c.keyOption("WithKEK"); err != nil {
			return err
		}
		c.kek = bytes.Clone(kek)
		return nil
	}
}

// WithKeyStore keeps identities' keys in s, which the host owns: a keystore.SQL it opened
// (with its own KDF cost, or an External key management service), or any keystore.Store.
// Defaults to no key store (see WithEphemeralKeys).
func WithKeyStore(s keystore.Store) Option {
	return func(c *config) error {
		if s == nil {
			return &OptionError{Option: "WithKeyStore", Reason: "nil key store"}
		}
		if err := c.keyOption("WithKeyStore"); err != nil {
			return err
		}
		c.keyStore = s
		return nil
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
func WithEphemeralKeys() Option {
	return func(c *config) error {
		if err := c.keyOption("WithEphemeralKeys"); err != nil {
			return err
		}
		c.ephemeralKeys = true
		return nil
	}
}

// WithRepublishInterval sets how often the Manager republishes the DID documents of the
// did:dht identities it holds keys for (it also does at start). Defaults to
// DefaultRepublishInterval.
func WithRepublishInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Minute {
			return &OptionError{Option: "WithRepublishInterval", Reason: "shorter than a minute"}
		}
		c.republishEvery = d
		return nil
	}
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
// owns, on any network the bitcoin package knows — btcd's simnet included, whose chain, unlike
// regtest's, survives a restart of the node. Defaults to a new embedded regtest simchain that
// Close closes.
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
