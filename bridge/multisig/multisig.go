package multisig

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/bridge/didbtc"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Errors of the package.
var (
	// ErrInvalidArgument: a bad threshold, kind, DID list or network.
	ErrInvalidArgument = errors.New("multisig: invalid argument")
	// ErrParticipant: a DID does not resolve or has no Bitcoin key (see *ParticipantError).
	ErrParticipant = errors.New("multisig: participant")
	// ErrTampered: a stored wallet record does not describe the policy its keys make.
	ErrTampered = errors.New("multisig: wallet record does not match its keys")
	// ErrNotParticipant: a signing key or DID is not one of the wallet's.
	ErrNotParticipant = errors.New("multisig: not a participant")
	// ErrRound: a signing round step out of order or with mismatched data.
	ErrRound = errors.New("multisig: signing round")
	// ErrSpent: a round's coin is spent by the recorded transaction of another round (or of
	// another send): finishing it would broadcast a conflicting transaction.
	ErrSpent = errors.New("multisig: coin spent by another recorded transaction")
)

// ParticipantError names the participant DID a wallet could not be built from. It matches
// ErrParticipant and wraps the cause (a *did.ResolutionError, a *didbtc.NoKeyError, ...).
type ParticipantError struct {
	DID string
	Err error
}

func (e *ParticipantError) Error() string {
	return fmt.Sprintf("multisig: participant %s: %v", e.DID, e.Err)
}

// Unwrap returns ErrParticipant and the cause.
func (e *ParticipantError) Unwrap() []error { return []error{ErrParticipant, e.Err} }

// Resolver resolves DIDs: a *did.Resolver.
type Resolver interface {
	Resolve(ctx context.Context, id string, opts ...did.ResolveOption) (*did.Result, error)
}

var _ Resolver = (*did.Resolver)(nil)

// Participant is one DID of a wallet and the Bitcoin key it contributes.
type Participant struct {
	DID string `json:"did"`
	// Method is the verification method of the DID document holding the key.
	Method    string           `json:"method"`
	PublicKey *btcec.PublicKey `json:"-"`
}

type participantJSON struct {
	DID       string `json:"did"`
	Method    string `json:"method"`
	PublicKey string `json:"publicKey"`
}

// MarshalJSON writes the key as compressed hex.
func (p Participant) MarshalJSON() ([]byte, error) {
	var key string
	if p.PublicKey != nil {
		key = hex.EncodeToString(p.PublicKey.SerializeCompressed())
	}
	return json.Marshal(participantJSON{DID: p.DID, Method: p.Method, PublicKey: key})
}

// UnmarshalJSON reads a participant, parsing its key.
func (p *Participant) UnmarshalJSON(b []byte) error {
	var j participantJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	raw, err := hex.DecodeString(j.PublicKey)
	if err != nil || len(raw) != 33 {
		return fmt.Errorf("multisig: participant %q: publicKey is not a compressed key", j.DID)
	}
	key, err := btcec.ParsePubKey(raw)
	if err != nil {
		return fmt.Errorf("multisig: participant %q: %v", j.DID, err)
	}
	*p = Participant{DID: j.DID, Method: j.Method, PublicKey: key}
	return nil
}

// Wallet is a multisig policy built from DIDs: the participants (in the policy's key order),
// the policy and its address. It is immutable.
type Wallet struct {
	kind         bitcoin.MultisigKind
	threshold    int
	net          bitcoin.Network
	musigPath    bool
	participants []Participant
	ms           *bitcoin.Multisig
	descriptor   string
}

// Option configures New.
type Option func(*config)

type config struct {
	kind      bitcoin.MultisigKind
	musigPath bool
}

// WithKind sets how the policy is realised: bitcoin.SortedP2WSH (k-of-n OP_CHECKMULTISIG in
// P2WSH, BIP-67 key order), bitcoin.MuSig2KeyPath (n-of-n, one aggregate key) or
// bitcoin.TapscriptMultisig (k-of-n OP_CHECKSIGADD leaf). Defaults to bitcoin.SortedP2WSH.
func WithKind(k bitcoin.MultisigKind) Option { return func(c *config) { c.kind = k } }

// WithMuSig2KeyPath gives a TapscriptMultisig wallet the MuSig2 aggregate of all keys as its
// internal key, so all n together can spend through the key path. Defaults to off: only the
// script path spends.
func WithMuSig2KeyPath() Option { return func(c *config) { c.musigPath = true } }

// New resolves the DIDs, takes each one's primary Bitcoin key (didbtc.Primary) and builds a
// k-of-n wallet on net. The order of dids does not matter. A DID that does not resolve or has
// no Bitcoin key is a *ParticipantError.
func New(ctx context.Context, r Resolver, k int, dids []string, net bitcoin.Network, opts ...Option) (*Wallet, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil resolver", ErrInvalidArgument)
	}
	seen := map[string]bool{}
	parts := make([]Participant, 0, len(dids))
	for _, d := range dids {
		if seen[d] {
			return nil, fmt.Errorf("%w: %s is listed twice", ErrInvalidArgument, d)
		}
		seen[d] = true
		res, err := r.Resolve(ctx, d)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &ParticipantError{DID: d, Err: err}
		}
		if res.DocumentMetadata.Deactivated {
			return nil, &ParticipantError{DID: d, Err: errors.New("the DID is deactivated")}
		}
		key, err := didbtc.Primary(res.Document, net)
		if err != nil {
			return nil, &ParticipantError{DID: d, Err: err}
		}
		parts = append(parts, Participant{DID: d, Method: key.MethodID, PublicKey: key.PublicKey})
	}
	cfg := config{kind: bitcoin.SortedP2WSH}
	for _, o := range opts {
		o(&cfg)
	}
	return build(cfg.kind, k, parts, net, cfg.musigPath)
}

// build makes the policy of parts and orders parts like its keys.
func build(kind bitcoin.MultisigKind, k int, parts []Participant, net bitcoin.Network, musigPath bool) (*Wallet, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no participants", ErrInvalidArgument)
	}
	keys := make([]*btcec.PublicKey, len(parts))
	for i, p := range parts {
		keys[i] = p.PublicKey
	}
	var (
		ms  *bitcoin.Multisig
		err error
	)
	switch kind {
	case bitcoin.SortedP2WSH:
		if musigPath {
			return nil, fmt.Errorf("%w: a P2WSH wallet has no MuSig2 key path", ErrInvalidArgument)
		}
		ms, err = bitcoin.NewSortedMultisig(k, keys, net)
	case bitcoin.MuSig2KeyPath:
		if k != len(parts) {
			return nil, fmt.Errorf("%w: a MuSig2 key-path wallet is %d-of-%d, not %d-of-%d", ErrInvalidArgument, len(parts), len(parts), k, len(parts))
		}
		ms, err = bitcoin.NewMuSig2Multisig(keys, net)
	case bitcoin.TapscriptMultisig:
		var o []bitcoin.Option
		if musigPath {
			o = append(o, bitcoin.WithMuSig2KeyPath())
		}
		ms, err = bitcoin.NewTaprootMultisig(k, keys, net, o...)
	default:
		return nil, fmt.Errorf("%w: kind %s", ErrInvalidArgument, kind)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	ordered := make([]Participant, 0, len(parts))
	for _, key := range ms.Keys() {
		for _, p := range parts {
			if p.PublicKey.IsEqual(key) {
				ordered = append(ordered, p)
				break
			}
		}
	}
	w := &Wallet{kind: kind, threshold: k, net: net, musigPath: musigPath || kind == bitcoin.MuSig2KeyPath, participants: ordered, ms: ms}
	w.descriptor = withChecksum(w.rawDescriptor())
	return w, nil
}

func (w *Wallet) rawDescriptor() string {
	keys := w.ms.Keys()
	compressed := func() string {
		s := make([]string, len(keys))
		for i, k := range keys {
			s[i] = hex.EncodeToString(k.SerializeCompressed())
		}
		return strings.Join(s, ",")
	}
	switch w.kind {
	case bitcoin.SortedP2WSH:
		return "wsh(sortedmulti(" + strconv.Itoa(w.threshold) + "," + compressed() + "))"
	case bitcoin.MuSig2KeyPath:
		return "tr(musig(" + compressed() + "))"
	}
	xs := make([]string, len(keys))
	for i, k := range keys {
		xs[i] = hex.EncodeToString(schnorr.SerializePubKey(k))
	}
	internal := hex.EncodeToString(schnorr.SerializePubKey(w.ms.InternalKey()))
	if w.musigPath {
		internal = "musig(" + sortedCompressed(keys) + ")"
	}
	return "tr(" + internal + ",multi_a(" + strconv.Itoa(w.threshold) + "," + strings.Join(xs, ",") + "))"
}

// sortedCompressed lists keys in BIP-327 KeySort order (compressed ascending), as the
// aggregate was made.
func sortedCompressed(keys []*btcec.PublicKey) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = hex.EncodeToString(k.SerializeCompressed())
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

// Kind returns how the policy is realised.
func (w *Wallet) Kind() bitcoin.MultisigKind { return w.kind }

// Threshold returns k.
func (w *Wallet) Threshold() int { return w.threshold }

// Network returns the wallet's network.
func (w *Wallet) Network() bitcoin.Network { return w.net }

// Participants returns the participants in the policy's key order.
func (w *Wallet) Participants() []Participant { return append([]Participant(nil), w.participants...) }

// Multisig returns the policy.
func (w *Wallet) Multisig() *bitcoin.Multisig { return w.ms }

// Address returns the wallet's address.
func (w *Wallet) Address() bitcoin.Address { return w.ms.Address() }

// HasMuSig2KeyPath reports whether all participants together can spend through a MuSig2 key
// path.
func (w *Wallet) HasMuSig2KeyPath() bool { return w.musigPath }

// Descriptor returns the wallet's output descriptor with its BIP-380 checksum:
// wsh(sortedmulti(k,KEY,...)), tr(musig(KEY,...)) (BIP-390) or tr(INTERNAL,multi_a(k,XONLY,...))
// (BIP-386), where INTERNAL is the x-only NUMS point or a musig() of all keys.
func (w *Wallet) Descriptor() string { return w.descriptor }

// index returns the position of the participant holding pub, or -1.
func (w *Wallet) index(pub *btcec.PublicKey) int {
	for i, p := range w.participants {
		if p.PublicKey.IsEqual(pub) {
			return i
		}
	}
	return -1
}

// Coin returns the spending data of one of the wallet's outputs.
func (w *Wallet) Coin(u bitcoin.UTXO) bitcoin.Coin {
	c := u.Coin()
	c.Multisig = w.ms
	if w.kind == bitcoin.SortedP2WSH {
		c.WitnessScript = w.ms.WitnessScript()
	}
	return c
}

// Record is a wallet as stored in every participant's records store (bridge.PathWallet).
type Record struct {
	Kind          string          `json:"kind"`
	Threshold     int             `json:"threshold"`
	Network       bitcoin.Network `json:"network"`
	MuSig2KeyPath bool            `json:"musig2KeyPath,omitempty"`
	Address       string          `json:"address"`
	Descriptor    string          `json:"descriptor"`
	Participants  []Participant   `json:"participants"`
}

// Record returns the wallet's record.
func (w *Wallet) Record() Record {
	return Record{Kind: w.kind.String(), Threshold: w.threshold, Network: w.net, MuSig2KeyPath: w.musigPath && w.kind == bitcoin.TapscriptMultisig,
		Address: w.Address().String(), Descriptor: w.descriptor, Participants: w.Participants()}
}

func parseKind(s string) (bitcoin.MultisigKind, bool) {
	for _, k := range []bitcoin.MultisigKind{bitcoin.SortedP2WSH, bitcoin.MuSig2KeyPath, bitcoin.TapscriptMultisig} {
		if k.String() == s {
			return k, true
		}
	}
	return 0, false
}

// FromRecord rebuilds a wallet from its record and checks that the record's address and
// descriptor are those its participants' keys make: a record that claims another address is
// ErrTampered.
func FromRecord(r Record) (*Wallet, error) {
	kind, ok := parseKind(r.Kind)
	if !ok {
		return nil, fmt.Errorf("%w: kind %q", ErrTampered, r.Kind)
	}
	w, err := build(kind, r.Threshold, r.Participants, r.Network, r.MuSig2KeyPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTampered, err)
	}
	if w.Address().String() != r.Address {
		return nil, fmt.Errorf("%w: address %s, the keys make %s", ErrTampered, r.Address, w.Address())
	}
	if w.descriptor != r.Descriptor {
		return nil, fmt.Errorf("%w: descriptor %s, the keys make %s", ErrTampered, r.Descriptor, w.descriptor)
	}
	return w, nil
}

// Verify re-resolves every participant and checks that its DID still publishes the key the
// wallet holds for it (a *ParticipantError otherwise).
func (w *Wallet) Verify(ctx context.Context, r Resolver) error {
	for _, p := range w.participants {
		res, err := r.Resolve(ctx, p.DID)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &ParticipantError{DID: p.DID, Err: err}
		}
		keys, err := didbtc.Keys(res.Document, w.net)
		if err != nil {
			return &ParticipantError{DID: p.DID, Err: err}
		}
		found := false
		for _, k := range keys {
			found = found || k.PublicKey.IsEqual(p.PublicKey)
		}
		if !found {
			return &ParticipantError{DID: p.DID, Err: errors.New("the DID no longer publishes the wallet's key")}
		}
	}
	return nil
}

// Records is where wallet records are kept: a *bridge.Records.
type Records interface {
	Create(ctx context.Context, tenant, path string, data any, opts ...bridge.WriteOption) (*dwn.Record, error)
	Query(ctx context.Context, tenant, path string, f dwn.Filter) ([]*dwn.Record, error)
}

var _ Records = (*bridge.Records)(nil)

// Save stores the wallet's record in tenant's store (bridge.PathWallet) and returns it.
func (w *Wallet) Save(ctx context.Context, r Records, tenant string) (*dwn.Record, error) {
	return r.Create(ctx, tenant, bridge.PathWallet, w.Record())
}

// Load returns the wallets stored in tenant's store, each checked with FromRecord. Records
// that do not check are returned in the error (joined), the good ones still.
func Load(ctx context.Context, r Records, tenant string) ([]*Wallet, error) {
	recs, err := r.Query(ctx, tenant, bridge.PathWallet, dwn.Filter{})
	if err != nil {
		return nil, err
	}
	var out []*Wallet
	var errs []error
	for _, rec := range recs {
		var wr Record
		if err := json.Unmarshal(rec.Data, &wr); err != nil {
			errs = append(errs, fmt.Errorf("%w: record %s: %v", ErrTampered, rec.ID, err))
			continue
		}
		w, err := FromRecord(wr)
		if err != nil {
			errs = append(errs, fmt.Errorf("record %s: %w", rec.ID, err))
			continue
		}
		out = append(out, w)
	}
	return out, errors.Join(errs...)
}
