package anya

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"

	"github.com/anya-org/anya-go/bridge/anchor"
	"github.com/anya-org/anya-go/bridge/multisig"
	"github.com/anya-org/anya-go/internal/wallet"
	"github.com/anya-org/anya-go/web5/dwn"
)

// anchorKeyPrefix namespaces the anchors' idempotency keys in the send store.
const anchorKeyPrefix = "anya/anchor/"

// AnchorKey returns the idempotency key under which the Manager records and sends anchor id:
// one anchor ID is one transaction.
func AnchorKey(anchorID string) string { return anchorKeyPrefix + anchorID }

// Anchor commits to records of tenant's store in a Bitcoin transaction (package
// bridge/anchor): a Merkle root of their CIDs — each the CID of the record's latest message,
// so that an edit or a delete after anchoring shows — carried by an OP_RETURN output (or, with
// anchor.WithTaproot, a pay-to-contract taproot output) of a transaction the Manager's wallet
// pays from the address from (an address it holds the key of). The receipt is kept in
// tenant's store (bridge.PathAnchor) and returned: VerifyAnchor proves later, from the chain,
// which records were committed. A record that does not exist, or is deleted, is an *OpError
// and nothing is sent.
//
// An anchor is sent exactly once per anchorID, as a payment is per payment ID: its
// transaction is recorded in the send store (under AnchorKey(anchorID)) before it is
// broadcast, and a call with an anchor ID that has a transaction — a retry after a failure or
// a crash, on this host or another sharing the send store — completes that transaction
// (broadcasting it again, as recorded, only if the chain does not know it) and returns its
// receipt; a new one is never built. A retry whose records no longer make the recorded
// commitment (one was edited since) is an *OpError naming anchorID, and nothing is sent.
func (m *Manager) Anchor(ctx context.Context, anchorID, tenant string, recordIDs []string, from string, opts ...anchor.Option) (*anchor.Receipt, error) {
	return call(ctx, m, func() (*anchor.Receipt, error) {
		if anchorID == "" {
			return nil, &OpError{Op: "Anchor", Field: "anchorID", Reason: "empty"}
		}
		if len(recordIDs) == 0 {
			return nil, &OpError{Op: "Anchor", Field: "recordIDs", Reason: "no records"}
		}
		if !m.wallet.Owns(from) {
			return nil, &OpError{Op: "Anchor", Field: "from", Reason: "not an address of the Manager's wallet", Err: ErrNoKey}
		}
		cids, err := m.recordCIDs(ctx, tenant, recordIDs)
		if err != nil {
			return nil, err
		}
		key := AnchorKey(anchorID)
		tx := &anchorTx{m: m, id: anchorID, from: from, key: key}
		rec, err := m.sender.Record(ctx, key)
		switch {
		case err == nil:
			tx.recorded = &rec
		case !errors.Is(err, bitcoin.ErrNotFound):
			return nil, err
		default:
			unlock, err := m.wallet.Lock(ctx, from)
			if err != nil {
				return nil, err
			}
			defer unlock()
			// Another call with the same anchor ID may have recorded it while this one waited.
			if rec, err := m.sender.Record(ctx, key); err == nil {
				tx.recorded = &rec
			} else if !errors.Is(err, bitcoin.ErrNotFound) {
				return nil, err
			}
		}
		r, err := anchor.Anchor(ctx, tx, tx, cids, opts...)
		if err != nil {
			return nil, err
		}
		if tx.recorded != nil { // its receipt may be kept already
			kept, err := anchor.Receipts(ctx, m.br.records, tenant)
			if err != nil && len(kept) == 0 {
				return r, fmt.Errorf("anya: the anchor %s was sent; reading the receipts of %s's store: %w", r.Txid, tenant, err)
			}
			for _, k := range kept {
				if k.Point == r.Point && k.Root == r.Root {
					return r, nil
				}
			}
		}
		if _, err := anchor.SaveReceipt(ctx, m.br.records, tenant, r); err != nil {
			return r, fmt.Errorf("anya: the anchor %s was sent; keeping its receipt in %s's store: %w", r.Txid, tenant, err)
		}
		return r, nil
	})
}

// recordCIDs returns the anchoring CIDs of records of tenant's store.
func (m *Manager) recordCIDs(ctx context.Context, tenant string, ids []string) ([]string, error) {
	cids := make([]string, len(ids))
	for i, id := range ids {
		rec, err := m.dwnStore.Record(ctx, tenant, id)
		if errors.Is(err, dwn.ErrNotFound) || err == nil && rec.Deleted {
			return nil, &OpError{Op: "Anchor", Field: "recordIDs", Reason: fmt.Sprintf("no record %s in %s's store", id, tenant), Err: dwn.ErrNotFound}
		}
		if err != nil {
			return nil, err
		}
		if cids[i], err = anchor.RecordCID(rec); err != nil {
			return nil, err
		}
	}
	return cids, nil
}

// VerifyAnchor checks an anchor receipt against the chain and proves, for each record of
// tenant's store named (all of the receipt's CIDs when none are), that its current state was
// committed, or that it was not (an edit or a delete since). A receipt that does not hold
// together — CIDs that do not make its root, a transaction output that does not carry it — is
// an *anchor.TamperError (anchor.ErrTampered).
func (m *Manager) VerifyAnchor(ctx context.Context, r anchor.Receipt, tenant string, recordIDs ...string) (*anchor.Verification, error) {
	return call(ctx, m, func() (*anchor.Verification, error) {
		var cids []string
		if len(recordIDs) > 0 {
			var err error
			if cids, err = m.recordCIDs(ctx, tenant, recordIDs); err != nil {
				return nil, err
			}
		}
		return anchor.Verify(ctx, m.chain, r, cids...)
	})
}

// anchorTx is the Manager's wallet and sender as bridge/anchor's Wallet and Broadcaster for
// one anchor: the transaction recorded under its key when there is one, else a new one built
// (holding the sending address's lock), recorded, then broadcast — as a payment's.
type anchorTx struct {
	m             *Manager
	id, from, key string
	recorded      *bitcoin.SendRecord
}

func (a *anchorTx) Build(ctx context.Context, outs ...*wire.TxOut) (*wire.MsgTx, error) {
	if a.recorded == nil {
		return a.m.buildSpending(ctx, wallet.Payment{From: a.from, Outputs: outs, Key: a.key})
	}
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(a.recorded.RawTx)); err != nil {
		return nil, fmt.Errorf("anya: recorded transaction of %q: %w", a.key, err)
	}
	for _, want := range outs {
		if !slices.ContainsFunc(tx.TxOut, func(o *wire.TxOut) bool { return o.Value == want.Value && bytes.Equal(o.PkScript, want.PkScript) }) {
			return nil, &OpError{Op: "Anchor", Field: "anchorID", Reason: fmt.Sprintf("anchor %s already has transaction %s, which commits to other records (or to them in another state)",
				a.id, a.recorded.Txid)}
		}
	}
	return &tx, nil
}

func (a *anchorTx) Broadcast(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error) {
	var (
		s   sent
		err error
	)
	if a.recorded != nil {
		s, err = a.m.complete(ctx, *a.recorded)
	} else {
		s, err = a.m.recordAndBroadcast(ctx, a.key, tx, a.from)
	}
	if err != nil {
		return chainhash.Hash{}, err
	}
	if s.Txid != tx.TxHash() {
		// Another host sharing the send store recorded this anchor meanwhile, from other coins.
		return chainhash.Hash{}, fmt.Errorf("anya: anchor %s was recorded meanwhile as transaction %s; ask again for its receipt", a.id, s.Txid)
	}
	return s.Txid, nil
}

// Multisig builds a k-of-n multisig wallet from DIDs (package bridge/multisig): each DID is
// resolved and its Bitcoin key taken from its document (package didbtc; NewIdentity's
// identities publish theirs), and the wallet's record — kind, threshold, address, descriptor,
// participants — is kept in the store of every participant the Manager has registered. A DID
// that does not resolve or publishes no Bitcoin key is a *multisig.ParticipantError naming it
// (matching didbtc.ErrNoBitcoinKey for the latter).
func (m *Manager) Multisig(ctx context.Context, k int, dids []string, opts ...multisig.Option) (*multisig.Wallet, error) {
	return call(ctx, m, func() (*multisig.Wallet, error) {
		w, err := multisig.New(ctx, m.resolver, k, dids, m.net, opts...)
		if err != nil {
			return nil, err
		}
		for _, p := range w.Participants() {
			if _, err := m.bridgeGrant(ctx, p.DID, dwn.MethodWrite); err != nil {
				continue // not registered here: its own host keeps its records
			}
			if _, err := w.Save(ctx, m.br.records, p.DID); err != nil {
				return nil, fmt.Errorf("anya: keep the wallet in %s's store: %w", p.DID, err)
			}
		}
		return w, nil
	})
}

var (
	_ anchor.Wallet      = (*anchorTx)(nil)
	_ anchor.Broadcaster = (*anchorTx)(nil)
)
