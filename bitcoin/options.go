package bitcoin

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option configures one of the package's constructors or operations. The package has one
// option type; each option's documentation says what it configures:
//
//   - [NewNotifier]: [WithCheckpoint], [WithSafetyLimit], [WithRetryBackoff], [WithBus],
//     [WithLogger], [WithTracerProvider], [WithMeterProvider];
//   - [NewSender]: [WithBus], [WithLogger], [WithClock], [WithTracerProvider],
//     [WithMeterProvider];
//   - [NewFeatureExtractor]: [WithFeatureLookup], [WithFeatureNetwork];
//   - [NewTaprootMultisig]: [WithMuSig2KeyPath];
//   - [CreatePSBT] (coin selection): [WithRBF], [WithLockTime], [WithMaxFee],
//     [WithMaxFeeRate];
//   - [EstimateFee]: [WithFallbackFeeRate];
//   - message signing — [SignMessage], [SignMessageMultisig], [NewMessagePSBT]:
//     [WithProofOfFunds], and [WithFormat] (the first two) or [WithMessageScripts] and
//     [WithMessageMultisig] (NewMessagePSBT);
//   - [VerifyMessage]: [WithUTXOLookup].
//
// A function applies its defaults, then the options in order, then validates the whole
// configuration once: an option out of range, or one that configures another function,
// makes it return an [*OptionError] naming the option, and nothing is done.
type Option func(*config)

// What an option can configure: the function that takes it.
const (
	forNotifier    = "NewNotifier"
	forSender      = "NewSender"
	forFeatures    = "NewFeatureExtractor"
	forTaproot     = "NewTaprootMultisig"
	forCreate      = "CreatePSBT"
	forFee         = "EstimateFee"
	forSign        = "SignMessage"
	forSignMulti   = "SignMessageMultisig"
	forMessagePSBT = "NewMessagePSBT"
	forVerify      = "VerifyMessage"
)

// config is what the options set: the fields of every function that takes options. A
// function sets fn before applying them, so an option of another function reports itself.
type config struct {
	fn      string       // the function being configured, one of the for… constants
	misuse  *OptionError // the first option that does not configure fn
	invalid *OptionError // the first option with a value out of range

	// Notifier and Sender
	log        *slog.Logger
	publisher  publisher
	tracerProv trace.TracerProvider
	meterProv  metric.MeterProvider

	// Notifier
	checkpoint BlockStamp
	limit      int32
	retryMin   time.Duration
	retryMax   time.Duration

	// Sender
	now func() time.Time

	// FeatureExtractor
	lookup     FeatureLookup
	featureNet Network

	// NewTaprootMultisig
	musigKeyPath bool

	create  createConfig
	fee     feeConfig
	message messageConfig
	verify  verifyConfig
}

// accepts reports whether option (set to value) configures the function being configured,
// one of fns; the first one that does not is recorded as an [*OptionError].
func (c *config) accepts(option string, value any, fns ...string) bool {
	for _, fn := range fns {
		if c.fn == fn {
			return true
		}
	}
	if c.misuse == nil {
		c.misuse = &OptionError{Option: option, Value: value,
			Reason: "does not apply to " + c.fn + " (it configures " + strings.Join(fns, ", ") + ")"}
	}
	return false
}

// reject records the first option with a value out of range.
func (c *config) reject(option string, value any, format string, args ...any) {
	if c.invalid == nil {
		c.invalid = &OptionError{Option: option, Value: value, Reason: fmt.Sprintf(format, args...)}
	}
}

// newConfig applies the defaults of fn, then opts in order, and validates the result.
func newConfig(fn string, opts []Option) (config, error) {
	c := config{
		fn:         fn,
		limit:      DefaultSafetyLimit,
		retryMin:   DefaultRetryMin,
		retryMax:   DefaultRetryMax,
		now:        time.Now,
		featureNet: DefaultFeatureNetwork,
		create:     createConfig{rbf: DefaultRBF, maxFee: DefaultMaxFee, maxFeeRate: DefaultMaxFeeRate},
		fee:        feeConfig{fallback: DefaultFallbackFeeRate},
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.misuse != nil {
		return config{}, c.misuse
	}
	if c.invalid != nil {
		return config{}, c.invalid
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// WithLogger sets the logger of a [Notifier] (catch-up failures, deep reorgs, failed
// publishes) or a [Sender] (each broadcast); nil keeps the default. It configures
// [NewNotifier] and [NewSender]. Defaults to a logger that discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if c.accepts("WithLogger", l, forNotifier, forSender) {
			c.log = l
		}
	}
}

// WithTracerProvider traces with tp. A [Notifier]: every block it connects or disconnects is a
// span ([SpanBlock]) in which the block is fetched and its events are published — so a bus
// handler of a block event joins the block's trace — under a span of the catch-up
// ([SpanCatchUp]) when the Notifier had to ask the chain where it stands. A [Sender]: every
// Send and SendFunc is a span ([SpanSend]) under the caller's, in which the chain is asked and
// the transaction broadcast (with rpcchain traced too, each node request is a child). Spans
// carry heights, outcomes and error types; never addresses, amounts, txids or idempotency
// keys. It configures [NewNotifier] and [NewSender]; a nil tp is the no-op provider. Defaults
// to OpenTelemetry's no-op provider: nothing is traced.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if c.accepts("WithTracerProvider", nil, forNotifier, forSender) {
			c.tracerProv = tp
		}
	}
}

// WithMeterProvider reports with instruments of mp. A [Notifier]: blocks processed by change
// (connected, disconnected), deep reorgs and failed catch-ups as counters, and its processed
// height and its lag behind the chain's tip ([Notifier.Lag]) as gauges read when mp collects.
// A [Sender]: sends by outcome. [Notifier.Close] stops the gauges. It configures
// [NewNotifier] and [NewSender]; a nil mp is the no-op provider. Defaults to OpenTelemetry's
// no-op provider: nothing is reported.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) {
		if c.accepts("WithMeterProvider", nil, forNotifier, forSender) {
			c.meterProv = mp
		}
	}
}

// WithClock sets the clock that stamps a [Sender]'s records ([SendRecord.Created]). It
// configures [NewSender]; a nil clock is refused. Defaults to time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if !c.accepts("WithClock", now, forSender) {
			return
		}
		if now == nil {
			c.reject("WithClock", nil, "nil clock")
			return
		}
		c.now = now
	}
}

// WithCheckpoint makes the Notifier start after cp, the last block the host processed: every
// block since then is replayed (with disconnects first if cp was reorged out), on the bus and
// to subscribers that do not give their own checkpoint. A negative height is refused. It
// configures [NewNotifier]. Defaults to the chain's best block at construction (nothing is
// replayed).
func WithCheckpoint(cp BlockStamp) Option {
	return func(c *config) {
		if !c.accepts("WithCheckpoint", cp, forNotifier) {
			return
		}
		if cp.Height < 0 {
			c.reject("WithCheckpoint", cp, "negative height")
			return
		}
		c.checkpoint = cp
	}
}

// WithSafetyLimit sets the Notifier's reorg safety limit, 1..[MaxSafetyLimit] blocks. It
// configures [NewNotifier]. Defaults to [DefaultSafetyLimit].
func WithSafetyLimit(blocks int32) Option {
	return func(c *config) {
		if !c.accepts("WithSafetyLimit", blocks, forNotifier) {
			return
		}
		if blocks < 1 || blocks > MaxSafetyLimit {
			c.reject("WithSafetyLimit", blocks, "outside 1..%d", MaxSafetyLimit)
			return
		}
		c.limit = blocks
	}
}

// WithRetryBackoff sets the backoff between the Notifier's catch-up attempts after a chain
// query failed; it doubles from min to max (0 < min <= max). A tip update from the chain
// (for example after a reconnect) retries at once. It configures [NewNotifier]. Defaults to
// [DefaultRetryMin] and [DefaultRetryMax].
func WithRetryBackoff(min, max time.Duration) Option {
	return func(c *config) {
		if !c.accepts("WithRetryBackoff", [2]time.Duration{min, max}, forNotifier) {
			return
		}
		if min <= 0 || max < min {
			c.reject("WithRetryBackoff", [2]time.Duration{min, max}, "need 0 < min <= max")
			return
		}
		c.retryMin, c.retryMax = min, max
	}
}

// WithFeatureLookup sets where input values, ages and address reuse come from. It configures
// [NewFeatureExtractor]. Defaults to none: those features are 0 with their "…_known" flag 0.
func WithFeatureLookup(l FeatureLookup) Option {
	return func(c *config) {
		if c.accepts("WithFeatureLookup", l, forFeatures) {
			c.lookup = l
		}
	}
}

// WithFeatureNetwork sets the network whose subsidy schedule block fee totals use. It
// configures [NewFeatureExtractor]. Defaults to [DefaultFeatureNetwork] (Mainnet).
func WithFeatureNetwork(n Network) Option {
	return func(c *config) {
		if !c.accepts("WithFeatureNetwork", n, forFeatures) {
			return
		}
		if !n.Valid() {
			c.reject("WithFeatureNetwork", n, "not a Network (see Networks)")
			return
		}
		c.featureNet = n
	}
}

// WithMuSig2KeyPath makes the internal key the MuSig2 aggregate of all keys, so that all n
// signers together can also spend through the cheaper and more private key path. It
// configures [NewTaprootMultisig]. Defaults to off: the internal key is BIP-341's
// unspendable NUMS point and only the k-of-n script path can spend.
func WithMuSig2KeyPath() Option {
	return func(c *config) {
		if c.accepts("WithMuSig2KeyPath", true, forTaproot) {
			c.musigKeyPath = true
		}
	}
}

// createConfig is what the options of CreatePSBT set.
type createConfig struct {
	rbf        bool
	lockTime   uint32
	maxFee     btcutil.Amount
	maxFeeRate FeeRate
}

// WithRBF sets whether the transaction signals replaceability (BIP-125): inputs get sequence
// 0xfffffffd; false uses 0xfffffffe (lock time enabled, not replaceable). It configures
// [CreatePSBT]. Defaults to [DefaultRBF] (true).
func WithRBF(on bool) Option {
	return func(c *config) {
		if c.accepts("WithRBF", on, forCreate) {
			c.create.rbf = on
		}
	}
}

// WithLockTime sets the transaction's lock time. It configures [CreatePSBT]. Defaults to 0.
func WithLockTime(lt uint32) Option {
	return func(c *config) {
		if c.accepts("WithLockTime", lt, forCreate) {
			c.create.lockTime = lt
		}
	}
}

// WithMaxFee sets the largest absolute fee CreatePSBT may build, 0..btcutil.MaxSatoshi. It
// configures [CreatePSBT]. Defaults to [DefaultMaxFee].
func WithMaxFee(fee btcutil.Amount) Option {
	return func(c *config) {
		if !c.accepts("WithMaxFee", fee, forCreate) {
			return
		}
		if fee < 0 || fee > btcutil.MaxSatoshi {
			c.reject("WithMaxFee", fee, "outside 0..%d sat", int64(btcutil.MaxSatoshi))
			return
		}
		c.create.maxFee = fee
	}
}

// WithMaxFeeRate sets the largest fee rate CreatePSBT accepts (not negative). It configures
// [CreatePSBT]. Defaults to [DefaultMaxFeeRate].
func WithMaxFeeRate(r FeeRate) Option {
	return func(c *config) {
		if !c.accepts("WithMaxFeeRate", r, forCreate) {
			return
		}
		if r < 0 {
			c.reject("WithMaxFeeRate", r, "negative")
			return
		}
		c.create.maxFeeRate = r
	}
}

// feeConfig is what the options of EstimateFee set.
type feeConfig struct{ fallback FeeRate }

// WithFallbackFeeRate sets the rate returned when neither the backend nor the mempool gives
// an estimate; it must be at least [MinRelayFeeRate]. It configures [EstimateFee]. Defaults
// to [DefaultFallbackFeeRate].
func WithFallbackFeeRate(r FeeRate) Option {
	return func(c *config) {
		if !c.accepts("WithFallbackFeeRate", r, forFee) {
			return
		}
		if r < MinRelayFeeRate {
			c.reject("WithFallbackFeeRate", r, "below the minimum relay fee %s", MinRelayFeeRate)
			return
		}
		c.fee.fallback = r
	}
}

// messageConfig is what the options of SignMessage, SignMessageMultisig and NewMessagePSBT
// set.
type messageConfig struct {
	format   MessageFormat
	funds    []Coin
	multisig *Multisig
	redeem   []byte
	witness  []byte
}

// WithFormat chooses the signature format, one of the MessageFormat constants. It
// configures [SignMessage] and [SignMessageMultisig]. Defaults to FormatUnknown: simple for
// native segwit addresses (P2WPKH, P2WSH, P2TR), full otherwise; proof of funds when
// [WithProofOfFunds] adds coins.
func WithFormat(f MessageFormat) Option {
	return func(c *config) {
		if !c.accepts("WithFormat", f, forSign, forSignMulti) {
			return
		}
		if f > FormatProofOfFunds {
			c.reject("WithFormat", uint8(f), "not a MessageFormat")
			return
		}
		c.message.format = f
	}
}

// WithProofOfFunds adds coins to prove control of: each becomes an extra input of to_sign
// and the signature a proof of funds ("pof"). The signing keys must be able to sign them.
// It configures [SignMessage], [SignMessageMultisig] and [NewMessagePSBT]. Defaults to
// none.
func WithProofOfFunds(coins ...Coin) Option {
	return func(c *config) {
		if c.accepts("WithProofOfFunds", len(coins), forSign, forSignMulti, forMessagePSBT) {
			c.message.funds = append(c.message.funds, coins...)
		}
	}
}

// WithMessageScripts supplies the redeem and witness scripts of a script address (e.g. a
// P2WSH multisig not built with NewSortedMultisig). It configures [NewMessagePSBT].
// Defaults to none.
func WithMessageScripts(redeemScript, witnessScript []byte) Option {
	return func(c *config) {
		if c.accepts("WithMessageScripts", fmt.Sprintf("%x, %x", redeemScript, witnessScript), forMessagePSBT) {
			c.message.redeem, c.message.witness = redeemScript, witnessScript
		}
	}
}

// WithMessageMultisig supplies the multisig policy of the address. It configures
// [NewMessagePSBT]. Defaults to none.
func WithMessageMultisig(m *Multisig) Option {
	return func(c *config) {
		if c.accepts("WithMessageMultisig", m, forMessagePSBT) {
			c.message.multisig = m
		}
	}
}

// verifyConfig is what the options of VerifyMessage set.
type verifyConfig struct {
	lookup func(context.Context, wire.OutPoint) (*wire.TxOut, error)
}

// WithUTXOLookup lets VerifyMessage confirm the outputs a proof of funds claims. lookup
// returns the unspent output at an outpoint, or (nil, nil) when there is none (never
// created, or spent); an error aborts verification. It configures [VerifyMessage]. Defaults
// to none: proofs of funds are checked cryptographically only (Verification.FundsChecked
// stays false).
func WithUTXOLookup(lookup func(ctx context.Context, op wire.OutPoint) (*wire.TxOut, error)) Option {
	return func(c *config) {
		if c.accepts("WithUTXOLookup", lookup != nil, forVerify) {
			c.verify.lookup = lookup
		}
	}
}
