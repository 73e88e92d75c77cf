package anchor

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Errors of the package.
var (
	// ErrInvalidArgument: no CIDs, an empty or oversized CID, a bad option.
	ErrInvalidArgument = errors.New("anchor: invalid argument")
	// ErrTampered: an anchor that does not hold together (see *TamperError).
	ErrTampered = errors.New("anchor: tampered anchor")
	// ErrNotCommitted: the CID is not in the commitment.
	ErrNotCommitted = errors.New("anchor: not committed")
	// ErrCommitted: the CID is in the commitment (no absence proof).
	ErrCommitted = errors.New("anchor: committed")
	// ErrInvalidProof: a proof that cannot be decoded or has an impossible shape.
	ErrInvalidProof = errors.New("anchor: invalid proof")
)

// TamperError reports an anchor that does not hold together: a receipt whose CIDs do not make
// its root, a transaction output that does not carry the root, an unknown method. It matches
// ErrTampered.
type TamperError struct {
	Txid   chainhash.Hash
	Reason string
}

func (e *TamperError) Error() string { return fmt.Sprintf("anchor: %s: %s", e.Txid, e.Reason) }

// Is reports whether target is ErrTampered.
func (e *TamperError) Is(target error) bool { return target == ErrTampered }

// Method is how a transaction carries a commitment's root.
type Method string

// Methods.
const (
	// OpReturn: an OP_RETURN output whose data is Magic, Version and the 32-byte root.
	OpReturn Method = "op_return"
	// Taproot: a pay-to-contract taproot output: the root is the output's taproot merkle root
	// (BIP-341 tweak t = TaggedHash("TapTweak", internal key || root)), so the output looks like
	// any key-path P2TR output and the internal key's owner spends it by the key path with
	// that merkle root.
	Taproot Method = "taproot"
)

// Magic and Version start an OP_RETURN anchor's data.
const (
	Magic   = "ANYA"
	Version = 1
)

// OpReturnScript returns the OP_RETURN script carrying root.
func OpReturnScript(root Hash) []byte {
	data := append(append([]byte(Magic), Version), root[:]...)
	s, _ := txscript.NullDataScript(data) // 37 bytes, within the 80-byte limit
	return s
}

// TaprootAddress returns the pay-to-contract taproot address committing to root under
// internalKey.
func TaprootAddress(internalKey *btcec.PublicKey, root Hash, net bitcoin.Network) (bitcoin.Address, error) {
	return bitcoin.NewP2TR(internalKey, root[:], net)
}

// Point is where a root is anchored: an output of a transaction and how it carries the root.
type Point struct {
	Txid   chainhash.Hash `json:"txid"`
	Vout   uint32         `json:"vout"`
	Method Method         `json:"method"`
	// InternalKey is the taproot internal key (x-only, hex) of a Taproot anchor.
	InternalKey string `json:"internalKey,omitempty"`
}

// Receipt is an anchored commitment: where it is, its root and the CIDs it commits to (in
// leaf order). Keep it (SaveReceipt) to prove later which records were committed.
type Receipt struct {
	Point
	Root Hash     `json:"root"`
	CIDs []string `json:"cids"`
}

// RecordCID is the CID a record is anchored by: the CID of its latest message (the write
// that gave it its current data, whose descriptor names the data's CID). An update or a
// delete changes it.
func RecordCID(r *dwn.Record) (string, error) {
	if r == nil || r.Latest == nil {
		return "", fmt.Errorf("%w: a record without its latest message", ErrInvalidArgument)
	}
	if r.Deleted {
		return "", fmt.Errorf("%w: record %s is deleted", ErrInvalidArgument, r.ID)
	}
	return r.Latest.CID(), nil
}

// RecordCIDs returns RecordCID of each record.
func RecordCIDs(recs []*dwn.Record) ([]string, error) {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		c, err := RecordCID(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Wallet builds and signs a transaction paying outs (adding inputs and change) without
// broadcasting it: a *bitcointest.Wallet, or the host's wallet.
type Wallet interface {
	Build(ctx context.Context, outs ...*wire.TxOut) (*wire.MsgTx, error)
}

// Broadcaster submits a transaction: a bitcoin.Chain.
type Broadcaster interface {
	Broadcast(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error)
}

// Option configures Anchor.
type Option func(*config)

type config struct {
	internal *btcec.PublicKey
	value    btcutil.Amount
	net      bitcoin.Network
}

// WithTaproot anchors as a pay-to-contract taproot output of value satoshis (at least the
// dust threshold) paying internalKey tweaked by the root on net, instead of OP_RETURN.
// Defaults to OP_RETURN.
func WithTaproot(internalKey *btcec.PublicKey, value btcutil.Amount, net bitcoin.Network) Option {
	return func(c *config) { c.internal, c.value, c.net = internalKey, value, net }
}

// Anchor commits to cids, has w build a transaction carrying the root, broadcasts it and
// returns the receipt. The transaction confirms like any other; Verify checks it.
func Anchor(ctx context.Context, w Wallet, b Broadcaster, cids []string, opts ...Option) (*Receipt, error) {
	if w == nil || b == nil {
		return nil, fmt.Errorf("%w: nil wallet or broadcaster", ErrInvalidArgument)
	}
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	c, err := Commit(cids)
	if err != nil {
		return nil, err
	}
	root := c.Root()
	pt := Point{Method: OpReturn}
	out := wire.NewTxOut(0, OpReturnScript(root))
	if cfg.internal != nil {
		addr, err := TaprootAddress(cfg.internal, root, cfg.net)
		if err != nil {
			return nil, fmt.Errorf("%w: WithTaproot: %v", ErrInvalidArgument, err)
		}
		if cfg.value < bitcoin.DustThreshold(addr.PkScript()) {
			return nil, fmt.Errorf("%w: WithTaproot: %d sat is dust", ErrInvalidArgument, cfg.value)
		}
		out = wire.NewTxOut(int64(cfg.value), addr.PkScript())
		pt.Method, pt.InternalKey = Taproot, hex.EncodeToString(schnorr.SerializePubKey(cfg.internal))
	}
	tx, err := w.Build(ctx, out)
	if err != nil {
		return nil, err
	}
	found := false
	for i, o := range tx.TxOut {
		if bytes.Equal(o.PkScript, out.PkScript) && o.Value == out.Value {
			pt.Vout, found = uint32(i), true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: the wallet's transaction does not carry the anchor output", ErrInvalidArgument)
	}
	if pt.Txid, err = b.Broadcast(ctx, tx); err != nil {
		return nil, err
	}
	r := &Receipt{Point: pt, Root: root, CIDs: sortedCIDs(cids)}
	return r, nil
}

// sortedCIDs deduplicates cids and orders them by leaf hash, as the commitment's leaves.
func sortedCIDs(cids []string) []string {
	byLeaf := map[Hash]string{}
	for _, c := range cids {
		byLeaf[LeafHash(c)] = c
	}
	leaves := make([]Hash, 0, len(byLeaf))
	for h := range byLeaf {
		leaves = append(leaves, h)
	}
	c := fromLeaves(leaves)
	out := make([]string, 0, len(leaves))
	for _, h := range c.leaves {
		out = append(out, byLeaf[h])
	}
	return out
}

// TxSource reads transactions from the chain: a bitcoin.Chain.
type TxSource interface {
	Tx(ctx context.Context, txid chainhash.Hash) (bitcoin.TxInfo, error)
}

// CheckPoint reads the point's transaction from the chain and checks that its output carries
// root; it returns the block holding it (nil while unconfirmed). An output that does not
// carry the root is a *TamperError; a transaction the chain does not know is the chain's
// error (matching bitcoin.ErrNotFound).
func CheckPoint(ctx context.Context, src TxSource, pt Point, root Hash) (*bitcoin.BlockStamp, error) {
	info, err := src.Tx(ctx, pt.Txid)
	if err != nil {
		return nil, err
	}
	tamper := func(format string, args ...any) error {
		return &TamperError{Txid: pt.Txid, Reason: fmt.Sprintf(format, args...)}
	}
	if int(pt.Vout) >= len(info.Tx.TxOut) {
		return nil, tamper("output %d does not exist", pt.Vout)
	}
	script := info.Tx.TxOut[pt.Vout].PkScript
	switch pt.Method {
	case OpReturn:
		if !bytes.Equal(script, OpReturnScript(root)) {
			return nil, tamper("output %d does not carry root %s", pt.Vout, root)
		}
	case Taproot:
		raw, err := hex.DecodeString(pt.InternalKey)
		if err != nil {
			return nil, tamper("internal key is not hex")
		}
		key, err := schnorr.ParsePubKey(raw)
		if err != nil {
			return nil, tamper("internal key: %v", err)
		}
		// An output script does not depend on the network.
		addr, err := TaprootAddress(key, root, bitcoin.Mainnet)
		if err != nil || !bytes.Equal(addr.PkScript(), script) {
			return nil, tamper("output %d does not commit to root %s under the internal key", pt.Vout, root)
		}
	default:
		return nil, tamper("unknown method %q", pt.Method)
	}
	return info.Block, nil
}

// Verification is the outcome of Verify.
type Verification struct {
	Point Point
	Root  Hash
	// Block holds the anchoring transaction; nil while it is unconfirmed.
	Block *bitcoin.BlockStamp
	// Committed proves each committed CID asked about (all of the receipt's when none were).
	Committed map[string]Proof
	// Absent proves each CID asked about that is not committed.
	Absent map[string]AbsenceProof
}

// Verify checks a receipt against the chain and proves, for each of cids (all the receipt's
// when none are given), that it was committed or that it was not. The receipt's CIDs must make
// its root and its transaction must carry that root: otherwise a *TamperError.
func Verify(ctx context.Context, src TxSource, r Receipt, cids ...string) (*Verification, error) {
	c, err := Commit(r.CIDs)
	if err != nil {
		return nil, &TamperError{Txid: r.Txid, Reason: "the receipt's CIDs: " + err.Error()}
	}
	if c.Root() != r.Root {
		return nil, &TamperError{Txid: r.Txid, Reason: fmt.Sprintf("the receipt's CIDs make root %s, not %s", c.Root(), r.Root)}
	}
	block, err := CheckPoint(ctx, src, r.Point, r.Root)
	if err != nil {
		return nil, err
	}
	v := &Verification{Point: r.Point, Root: r.Root, Block: block, Committed: map[string]Proof{}, Absent: map[string]AbsenceProof{}}
	if len(cids) == 0 {
		cids = r.CIDs
	}
	for _, cid := range cids {
		if p, err := c.Prove(cid); err == nil {
			v.Committed[cid] = p
			continue
		}
		a, err := c.ProveAbsent(cid)
		if err != nil {
			return nil, err
		}
		v.Absent[cid] = a
	}
	return v, nil
}

// VerifyProof checks one CID's inclusion proof against an anchor point on the chain: what a
// third party holding only the proof, the root and the point runs. A proof that does not lead
// to root is ErrNotCommitted.
func VerifyProof(ctx context.Context, src TxSource, pt Point, root Hash, p Proof, cid string) (*bitcoin.BlockStamp, error) {
	if !p.Verify(root, cid) {
		return nil, fmt.Errorf("%w: the proof of %s does not lead to root %s", ErrNotCommitted, cid, root)
	}
	return CheckPoint(ctx, src, pt, root)
}

// Records is where receipts are kept: a *bridge.Records.
type Records interface {
	Create(ctx context.Context, tenant, path string, data any, opts ...bridge.WriteOption) (*dwn.Record, error)
	Query(ctx context.Context, tenant, path string, f dwn.Filter) ([]*dwn.Record, error)
}

var _ Records = (*bridge.Records)(nil)

// SaveReceipt stores r in tenant's store (bridge.PathAnchor).
func SaveReceipt(ctx context.Context, rs Records, tenant string, r *Receipt) (*dwn.Record, error) {
	return rs.Create(ctx, tenant, bridge.PathAnchor, r)
}

// Receipts returns the receipts stored in tenant's store, newest last. Undecodable ones are
// reported (joined), the others returned.
func Receipts(ctx context.Context, rs Records, tenant string) ([]Receipt, error) {
	recs, err := rs.Query(ctx, tenant, bridge.PathAnchor, dwn.Filter{})
	if err != nil {
		return nil, err
	}
	var out []Receipt
	var errs []error
	for _, rec := range recs {
		var r Receipt
		if err := json.Unmarshal(rec.Data, &r); err != nil {
			errs = append(errs, fmt.Errorf("%w: record %s: %v", ErrTampered, rec.ID, err))
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}
