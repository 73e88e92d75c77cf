package anya

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bridge/anchor"
	"github.com/anya-org/anya-go/bridge/multisig"
	"github.com/anya-org/anya-go/internal/wallet"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Anchor commits to records of tenant's store in a Bitcoin transaction (package
// bridge/anchor): a Merkle root of their CIDs — each the CID of the record's latest message,
// so that an edit or a delete after anchoring shows — carried by an OP_RETURN output (or, with
// anchor.WithTaproot, a pay-to-contract taproot output) of a transaction the Manager's wallet
// pays from the address from (an address it holds the key of), broadcast at once. The receipt
// is kept in tenant's store (bridge.PathAnchor) and returned: VerifyAnchor proves later, from
// the chain, which records were committed. A record that does not exist, or is deleted, is an
// *OpError and nothing is sent.
func (m *Manager) Anchor(ctx context.Context, tenant string, recordIDs []string, from string, opts ...anchor.Option) (*anchor.Receipt, error) {
	return call(ctx, m, func() (*anchor.Receipt, error) {
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
		unlock, err := m.wallet.Lock(ctx, from)
		if err != nil {
			return nil, err
		}
		r, err := anchor.Anchor(ctx, anchorWallet{m: m, from: from}, m.chain, cids, opts...)
		unlock()
		m.wallet.Invalidate(from) // its coins changed outside the send store
		m.invalidateUTXOs(from)
		if err != nil {
			return nil, err
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

// anchorWallet is the Manager's wallet as bridge/anchor's Wallet: it builds and signs a
// transaction paying the anchor's outputs from one address, change back to it.
type anchorWallet struct {
	m    *Manager
	from string
}

func (w anchorWallet) Build(ctx context.Context, outs ...*wire.TxOut) (*wire.MsgTx, error) {
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	return w.m.wallet.Build(ctx, wallet.Payment{From: w.from, Outputs: outs, Key: "anya/anchor/" + hex.EncodeToString(nonce)})
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
			if _, err := m.br.book.Lookup(ctx, p.DID, dwn.MethodWrite); err != nil {
				continue // not registered here: its own host keeps its records
			}
			if _, err := w.Save(ctx, m.br.records, p.DID); err != nil {
				return nil, fmt.Errorf("anya: keep the wallet in %s's store: %w", p.DID, err)
			}
		}
		return w, nil
	})
}

var _ anchor.Wallet = anchorWallet{}
