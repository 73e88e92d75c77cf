package anya

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge/multisig"
)

// The signing round of a multisig wallet across hosts (package bridge/multisig), script path —
// sorted P2WSH and tapscript (OP_CHECKSIGADD) wallets:
//
//  1. The coordinator — a Manager holding the wallet (Multisig) — builds the unsigned PSBT
//     (MultisigPSBT) and sends its bytes (PSBT.Base64) to the participants.
//  2. Each participant's Manager signs it as its identity (SignMultisig) — with the Bitcoin key
//     it holds for that identity, and only for a wallet kept in that identity's store (its own
//     Manager built it from the DIDs, Multisig), only inputs that spend the wallet's address —
//     and sends the signed PSBT back.
//  3. The coordinator combines the copies of at least the threshold (FinishMultisig), which
//     runs every input through the script interpreter, and broadcasts the transaction.

// MultisigPSBT builds the unsigned PSBT of a payment of outs from the confirmed coins of
// multisig wallet w (as the chain holds them), change back to the wallet's address, at the
// Manager's fee rate (WithFeeRate): the start of a signing round, whose bytes the coordinator
// sends the participants. Coins that a recorded transaction spends (a round finished, perhaps
// not yet broadcast) are left out.
func (m *Manager) MultisigPSBT(ctx context.Context, w *multisig.Wallet, outs ...*wire.TxOut) (*bitcoin.PSBT, error) {
	return call(ctx, m, func() (*bitcoin.PSBT, error) {
		if w == nil {
			return nil, &OpError{Op: "MultisigPSBT", Field: "wallet", Reason: "nil"}
		}
		if len(outs) == 0 {
			return nil, &OpError{Op: "MultisigPSBT", Field: "outs", Reason: "no outputs"}
		}
		utxos, err := m.chain.UTXOs(ctx, w.Address().PkScript())
		if err != nil {
			return nil, err
		}
		var ops []wire.OutPoint
		for _, u := range utxos {
			ops = append(ops, u.OutPoint)
		}
		reserved, err := m.sends.Reserved(ctx, ops)
		if err != nil {
			return nil, err
		}
		var coins []bitcoin.Coin
		for _, u := range utxos {
			if _, spent := reserved[u.OutPoint]; u.Height > 0 && !spent {
				coins = append(coins, w.Coin(u))
			}
		}
		return bitcoin.CreatePSBT(outs, coins, m.cfg.feeRate, w.Address())
	})
}

// SignMultisig signs psbt — the bytes (binary or base64) of a round's PSBT, as a coordinator
// sent them — as identity signer, a participant of the multisig wallet at walletAddress: with
// the Bitcoin key the Manager holds for signer, for a wallet kept in signer's store (by
// Multisig), script path. It returns the signed PSBT, to send back. An identity whose keys the
// Manager does not hold is ErrUnknownIdentity; a wallet not in its store, or a PSBT that does
// not parse, is an *OpError; a PSBT with an input that does not spend the wallet's address is
// refused (multisig.ErrRound), nothing signed.
func (m *Manager) SignMultisig(ctx context.Context, signer, walletAddress string, psbt []byte) (*bitcoin.PSBT, error) {
	return call(ctx, m, func() (*bitcoin.PSBT, error) {
		id, err := m.Identity(signer)
		if err != nil {
			return nil, err
		}
		if id.key == nil {
			return nil, fmt.Errorf("%w: identity %s has no Bitcoin key", ErrNoKey, signer)
		}
		w, err := m.storedMultisig(ctx, signer, walletAddress)
		if err != nil {
			return nil, err
		}
		p, err := bitcoin.ParsePSBT(psbt)
		if err != nil {
			return nil, &OpError{Op: "SignMultisig", Field: "psbt", Reason: "not a PSBT", Err: err}
		}
		s, err := w.Signer(id.key, nil)
		if err != nil {
			return nil, err
		}
		return s.SignPSBT(p)
	})
}

// storedMultisig returns the multisig wallet at address kept in tenant's store.
func (m *Manager) storedMultisig(ctx context.Context, tenant, address string) (*multisig.Wallet, error) {
	ws, err := multisig.Load(ctx, m.br.records, tenant)
	if err != nil && len(ws) == 0 {
		return nil, err
	}
	for _, w := range ws {
		if w.Address().String() == address {
			return w, nil
		}
	}
	return nil, &OpError{Op: "SignMultisig", Field: "walletAddress", Reason: fmt.Sprintf("no multisig wallet %s in %s's store", address, tenant)}
}

// multisigKeyPrefix namespaces the multisig spends' idempotency keys in the send store.
const multisigKeyPrefix = "anya/multisig/"

// MultisigKey returns the idempotency key under which the Manager records and sends the spend
// of a multisig signing round whose unsigned transaction is txid — the round's PSBT's
// UnsignedTx().TxHash(). Every input of a multisig wallet is segwit (P2WSH or taproot), so the
// txid commits to the inputs and outputs and not to the signatures: one round's PSBT is one
// transaction, whichever participants signed it and however often the round is finished.
func MultisigKey(txid chainhash.Hash) string { return multisigKeyPrefix + txid.String() }

// FinishMultisig ends the signing round of multisig wallet w over the unsigned PSBT base
// (MultisigPSBT's): it adds the participants' signed copies (their bytes, by DID), combines
// them, finalizes and extracts the transaction — every input run through the script
// interpreter — and broadcasts it (test-accepted first). A copy from a DID that is not a
// participant, or of another transaction, is refused (multisig.ErrNotParticipant,
// multisig.ErrRound); fewer signatures than the threshold is an error and nothing is sent.
//
// A round is finished exactly once, as a payment is per payment ID: the transaction is
// recorded in the send store under MultisigKey(base's unsigned txid) before it is broadcast.
// Finishing the same round again — a retry after a failure or a crash, on this host or another
// sharing the send store — completes the recorded transaction (broadcasting it again, as
// recorded, only if the chain does not know it) and returns its txid; the signed copies are
// not needed again and a new transaction is never built. A round over another PSBT that spends
// a coin a recorded transaction spends is refused (multisig.ErrSpent), nothing sent: the two
// would conflict.
func (m *Manager) FinishMultisig(ctx context.Context, w *multisig.Wallet, base *bitcoin.PSBT, signed map[string][]byte) (chainhash.Hash, error) {
	return call(ctx, m, func() (chainhash.Hash, error) {
		return m.finishRound(ctx, "FinishMultisig", w, base, func(round *multisig.Round) error {
			for _, d := range slices.Sorted(maps.Keys(signed)) {
				p, err := bitcoin.ParsePSBT(signed[d])
				if err != nil {
					return &OpError{Op: "FinishMultisig", Field: "signed", Reason: "the copy of " + d + " is not a PSBT", Err: err}
				}
				if err := round.AddSigned(d, p); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// finishRound finishes a signing round over base exactly once (see FinishMultisig): a
// transaction recorded under the round's key is completed; otherwise fill adds the
// participants' contributions to a new round, which is finished, recorded and broadcast.
func (m *Manager) finishRound(ctx context.Context, op string, w *multisig.Wallet, base *bitcoin.PSBT, fill func(*multisig.Round) error) (chainhash.Hash, error) {
	if w == nil || base == nil {
		return chainhash.Hash{}, &OpError{Op: op, Field: "wallet", Reason: "a wallet and its round's PSBT are needed"}
	}
	round, err := w.NewRound(base)
	if err != nil {
		return chainhash.Hash{}, err
	}
	unsigned := base.UnsignedTx()
	key := MultisigKey(unsigned.TxHash())
	if rec, err := m.sender.Record(ctx, key); err == nil {
		s, err := m.complete(ctx, rec)
		return s.Txid, err
	} else if !errors.Is(err, bitcoin.ErrNotFound) {
		return chainhash.Hash{}, err
	}
	if err := m.unspentByOthers(ctx, key, unsigned); err != nil {
		return chainhash.Hash{}, err
	}
	if err := fill(round); err != nil {
		return chainhash.Hash{}, err
	}
	tx, err := round.Finish()
	if err != nil {
		return chainhash.Hash{}, err
	}
	addr := w.Address().String()
	s, err := m.recordAndBroadcast(ctx, key, tx, addr)
	if err != nil {
		return chainhash.Hash{}, err
	}
	return s.Txid, nil
}

// unspentByOthers refuses a transaction spending a coin that the transaction recorded under
// another key spends (multisig.ErrSpent).
func (m *Manager) unspentByOthers(ctx context.Context, key string, tx *wire.MsgTx) error {
	ops := make([]wire.OutPoint, len(tx.TxIn))
	for i, in := range tx.TxIn {
		ops[i] = in.PreviousOutPoint
	}
	reserved, err := m.sends.Reserved(ctx, ops)
	if err != nil {
		return err
	}
	for _, op := range ops {
		if k, ok := reserved[op]; ok && k != key {
			return fmt.Errorf("%w: coin %s is spent by the transaction recorded under %s", multisig.ErrSpent, op, k)
		}
	}
	return nil
}
