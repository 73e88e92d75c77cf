package bitcoin

import (
	"bytes"
	"fmt"
	"io"
	"sort"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr/musig2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
)

// MultisigKind is how a multisig policy is realised on chain.
type MultisigKind uint8

// The multisig kinds.
const (
	// SortedP2WSH is k-of-n OP_CHECKMULTISIG in P2WSH with keys sorted per BIP-67.
	SortedP2WSH MultisigKind = iota + 1
	// MuSig2KeyPath is n-of-n as one BIP-327 aggregate key spent through the taproot key
	// path: on chain it looks like any single-key P2TR output.
	MuSig2KeyPath
	// TapscriptMultisig is k-of-n in one tapscript leaf using OP_CHECKSIGADD (BIP-342),
	// keys sorted by x-only serialization.
	TapscriptMultisig
)

// String returns the kind's name.
func (k MultisigKind) String() string {
	switch k {
	case SortedP2WSH:
		return "sorted-p2wsh"
	case MuSig2KeyPath:
		return "musig2-keypath"
	case TapscriptMultisig:
		return "tapscript-multisig"
	}
	return fmt.Sprintf("MultisigKind(%d)", uint8(k))
}

// Limits on multisig size.
const (
	// MaxP2WSHMultisigKeys is OP_CHECKMULTISIG's consensus limit.
	MaxP2WSHMultisigKeys = 20
	// MaxTapscriptMultisigKeys keeps a leaf's stack within the 1000-element limit.
	MaxTapscriptMultisigKeys = 999
)

// Multisig is a multi-party spending policy over plain public keys (for example keys
// taken from DID documents) and the address it pays to. It is immutable. Create it with
// [NewSortedMultisig], [NewMuSig2Multisig] or [NewTaprootMultisig]: a zero Multisig is an
// empty policy (kind 0, no keys, the zero Address) whose methods that can fail return a
// [*NotConstructedError].
type Multisig struct {
	kind      MultisigKind
	threshold int
	keys      []*btcec.PublicKey // in script / aggregation order
	net       Network
	address   Address

	witnessScript []byte // SortedP2WSH

	// taproot kinds
	internalKey  *btcec.PublicKey
	leaf         *tapLeafPath // TapscriptMultisig
	merkleRoot   []byte
	controlBlock []byte
	musig        *keyAggCtx // MuSig2 aggregation of keys, when the key path is MuSig2
}

// NewSortedMultisig returns a k-of-n P2WSH multisig: OP_k <keys sorted per BIP-67> OP_n
// OP_CHECKMULTISIG. The order of keys does not matter.
func NewSortedMultisig(k int, keys []*btcec.PublicKey, net Network) (*Multisig, error) {
	if err := net.check(); err != nil {
		return nil, err
	}
	sorted, err := sortedPubKeys(keys)
	if err != nil {
		return nil, err
	}
	if err := checkThreshold(k, len(sorted), MaxP2WSHMultisigKeys); err != nil {
		return nil, err
	}
	b := txscript.NewScriptBuilder().AddInt64(int64(k))
	for _, key := range sorted {
		b.AddData(key.SerializeCompressed())
	}
	ws, err := b.AddInt64(int64(len(sorted))).AddOp(txscript.OP_CHECKMULTISIG).Script()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidMultisig, err)
	}
	addr, err := NewP2WSH(ws, net)
	if err != nil {
		return nil, err
	}
	return &Multisig{kind: SortedP2WSH, threshold: k, keys: sorted, net: net, address: addr, witnessScript: ws}, nil
}

// NewMuSig2Multisig returns an n-of-n taproot multisig spent through the key path with a
// MuSig2 aggregate signature. The output key is the BIP-327 aggregate of the sorted keys
// with the BIP-86 taproot tweak (no script path).
func NewMuSig2Multisig(keys []*btcec.PublicKey, net Network) (*Multisig, error) {
	if err := net.check(); err != nil {
		return nil, err
	}
	sorted, err := sortedPubKeys(keys)
	if err != nil {
		return nil, err
	}
	m := &Multisig{kind: MuSig2KeyPath, threshold: len(sorted), keys: sorted, net: net}
	if err := m.setMuSig(nil); err != nil {
		return nil, err
	}
	return m, nil
}

// NewTaprootMultisig returns a k-of-n taproot multisig with one script leaf
// <x1> OP_CHECKSIG <x2> OP_CHECKSIGADD … <xn> OP_CHECKSIGADD <k> OP_NUMEQUAL over the
// x-only keys in ascending order.
func NewTaprootMultisig(k int, keys []*btcec.PublicKey, net Network, opts ...Option) (*Multisig, error) {
	cfg, err := newConfig(forTaproot, opts)
	if err != nil {
		return nil, err
	}
	if err := net.check(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrInvalidMultisig)
	}
	for _, key := range keys {
		if key == nil {
			return nil, fmt.Errorf("%w: nil key", ErrInvalidMultisig)
		}
	}
	sorted := append([]*btcec.PublicKey(nil), keys...)
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(xOnly(sorted[i]), xOnly(sorted[j])) < 0 })
	for i := 1; i < len(sorted); i++ {
		if bytes.Equal(xOnly(sorted[i]), xOnly(sorted[i-1])) {
			return nil, fmt.Errorf("%w: duplicate x-only key %x", ErrInvalidMultisig, xOnly(sorted[i]))
		}
	}
	if err := checkThreshold(k, len(sorted), MaxTapscriptMultisigKeys); err != nil {
		return nil, err
	}
	b := txscript.NewScriptBuilder()
	for i, key := range sorted {
		b.AddData(xOnly(key))
		if i == 0 {
			b.AddOp(txscript.OP_CHECKSIG)
		} else {
			b.AddOp(txscript.OP_CHECKSIGADD)
		}
	}
	script, err := b.AddInt64(int64(k)).AddOp(txscript.OP_NUMEQUAL).Script()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidMultisig, err)
	}
	tree := tapLeafNode(script, txscript.BaseLeafVersion)
	lp := tree.leaves()[0]
	root := tree.hash()
	m := &Multisig{kind: TapscriptMultisig, threshold: k, keys: sorted, net: net, leaf: &lp, merkleRoot: root[:]}
	if cfg.musigKeyPath {
		if err := m.setMuSig(root[:]); err != nil {
			return nil, err
		}
	} else {
		m.internalKey = numsKey()
		if m.address, err = NewP2TR(m.internalKey, root[:], net); err != nil {
			return nil, err
		}
	}
	m.controlBlock = lp.controlBlock(m.internalKey, root[:])
	return m, nil
}

// setMuSig makes the key path a MuSig2 aggregate of m.keys tweaked for merkleRoot.
func (m *Multisig) setMuSig(merkleRoot []byte) error {
	musigKeys, err := sortedPubKeys(m.keys)
	if err != nil {
		return err
	}
	plain, err := musigKeyAggKeys(musigKeys, nil)
	if err != nil {
		return err
	}
	tweak := chainhash.TaggedHash(chainhash.TagTapTweak, xOnly(plain.q), merkleRoot)
	kc, err := musigKeyAggKeys(musigKeys, []musig2.KeyTweakDesc{{Tweak: *tweak, IsXOnly: true}})
	if err != nil {
		return err
	}
	m.musig = kc
	m.internalKey = plain.q
	m.address, err = NewP2TR(plain.q, merkleRoot, m.net)
	return err
}

func checkThreshold(k, n, max int) error {
	if n > max {
		return fmt.Errorf("%w: %d keys, at most %d", ErrInvalidMultisig, n, max)
	}
	if k < 1 || k > n {
		return fmt.Errorf("%w: threshold %d of %d keys", ErrInvalidMultisig, k, n)
	}
	return nil
}

// sortedKeys returns keys sorted by compressed serialization (BIP-67, BIP-327 KeySort),
// rejecting nil and duplicate keys.
func sortedPubKeys(keys []*btcec.PublicKey) ([]*btcec.PublicKey, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrInvalidMultisig)
	}
	sorted := append([]*btcec.PublicKey(nil), keys...)
	for _, k := range sorted {
		if k == nil {
			return nil, fmt.Errorf("%w: nil key", ErrInvalidMultisig)
		}
	}
	sort.Slice(sorted, func(i, j int) bool {
		return bytes.Compare(sorted[i].SerializeCompressed(), sorted[j].SerializeCompressed()) < 0
	})
	for i := 1; i < len(sorted); i++ {
		if sorted[i].IsEqual(sorted[i-1]) {
			return nil, fmt.Errorf("%w: duplicate key %x", ErrInvalidMultisig, sorted[i].SerializeCompressed())
		}
	}
	return sorted, nil
}

// constructed returns a [*NotConstructedError] for a zero Multisig.
func (m *Multisig) constructed() error {
	if m == nil || m.kind == 0 {
		return notConstructed("Multisig", "NewSortedMultisig, NewMuSig2Multisig or NewTaprootMultisig")
	}
	return nil
}

// Kind returns how the policy is realised.
func (m *Multisig) Kind() MultisigKind { return m.kind }

// Threshold returns k, the number of signatures needed.
func (m *Multisig) Threshold() int { return m.threshold }

// Keys returns the keys in the policy's canonical order: script order for SortedP2WSH
// (BIP-67) and TapscriptMultisig (x-only ascending), BIP-327 KeySort order for
// MuSig2KeyPath. MuSig2 public nonces and partial signatures are indexed by this order.
func (m *Multisig) Keys() []*btcec.PublicKey { return append([]*btcec.PublicKey(nil), m.keys...) }

// Address returns the address paying to the policy.
func (m *Multisig) Address() Address { return m.address }

// PkScript returns the output script paying to the policy.
func (m *Multisig) PkScript() []byte { return m.address.PkScript() }

// WitnessScript returns the P2WSH witness script, nil for taproot kinds.
func (m *Multisig) WitnessScript() []byte { return bytes.Clone(m.witnessScript) }

// LeafScript returns the tapscript leaf of a TapscriptMultisig, nil otherwise.
func (m *Multisig) LeafScript() []byte {
	if m.leaf == nil {
		return nil
	}
	return bytes.Clone(m.leaf.leaf.Script)
}

// ControlBlock returns the BIP-341 control block for spending the leaf of a
// TapscriptMultisig, nil otherwise.
func (m *Multisig) ControlBlock() []byte { return bytes.Clone(m.controlBlock) }

// InternalKey returns the taproot internal key, nil for SortedP2WSH.
func (m *Multisig) InternalKey() *btcec.PublicKey { return m.internalKey }

// NewMuSig2Session starts a MuSig2 signing session for priv, one of the policy's keys,
// when the policy has a MuSig2 key path (MuSig2KeyPath, or TapscriptMultisig built with
// WithMuSig2KeyPath). rnd supplies nonce randomness; nil means crypto/rand. The session
// signs for the tweaked output key, so its aggregate is a valid taproot key-path signature.
func (m *Multisig) NewMuSig2Session(priv *btcec.PrivateKey, rnd io.Reader) (*MuSig2Session, error) {
	if err := m.constructed(); err != nil {
		return nil, err
	}
	if m.musig == nil {
		return nil, fmt.Errorf("%w: %s policy has no MuSig2 key path", ErrInvalidMultisig, m.kind)
	}
	return newMuSig2Session(priv, m.musig, m.keys, rnd)
}

// CombineMuSig2 verifies the partial signatures of msg (indexed like Keys, as are the
// public nonces), aggregates them and returns the 64-byte BIP-340 signature valid for the
// policy's output key. A bad partial signature is reported as a *MuSig2Error naming its
// signer.
func (m *Multisig) CombineMuSig2(msg []byte, pubNonces, partialSigs [][]byte) ([]byte, error) {
	if err := m.constructed(); err != nil {
		return nil, err
	}
	if m.musig == nil {
		return nil, fmt.Errorf("%w: %s policy has no MuSig2 key path", ErrInvalidMultisig, m.kind)
	}
	return musigCombine(m.musig, m.keys, msg, pubNonces, partialSigs)
}
