package anya

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge/multisig"
)

// The signing round of a multisig wallet across hosts (package bridge/multisig), script path —
// sorted P2WSH and tapscript (OP_CHECKSIGADD) wallets (the MuSig2 key path is further down):
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

// The MuSig2 key-path signing round across hosts — the n-of-n key path of a MuSig2 wallet
// (multisig.WithKind(bitcoin.MuSig2KeyPath)) or of a tapscript wallet that has one
// (multisig.WithMuSig2KeyPath) — takes two exchanges (BIP-327):
//
//  1. The coordinator builds the unsigned PSBT (MultisigPSBT) and sends its bytes to every
//     participant.
//  2. Each participant's Manager makes one public nonce per input as its identity
//     (MultisigNonces) and sends them back; the coordinator gathers them by DID.
//  3. The coordinator sends every participant all the nonces (the map by DID); each
//     participant's Manager returns its partial signatures (MultisigPartialSigs).
//  4. The coordinator verifies and aggregates the partial signatures (FinishMultisigKeyPath):
//     one BIP-340 signature per input, for the wallet's aggregate key. The spend is recorded
//     and broadcast exactly once, as FinishMultisig's.
//
// # Never the same nonce twice
//
// A MuSig2 secret nonce that signs two different messages, or one message under two different
// sets of the others' nonces, gives away the signer's key. The Manager's signer side therefore:
//
//   - draws every secret nonce fresh (btcec's musig2.GenNonces over crypto/rand, with the
//     signer's key and the aggregate key as extra input), one per input of one PSBT;
//   - keeps it only in memory, in a session of (identity, wallet, unsigned txid) — never in a
//     store, so neither a restart nor a replayed request can bring one back;
//   - takes the session out before signing, so of concurrent MultisigPartialSigs calls exactly
//     one signs, and erases the secret nonce when it signs (bitcoin.MuSig2Session.Sign);
//   - answers a second MultisigPartialSigs for a session that signed with
//     bitcoin.ErrNonceReused (while it remembers the session: the last
//     DefaultMuSig2Sessions; after that the session is unknown, multisig.ErrRound), signing
//     nothing. A new MultisigNonces starts a new session with fresh nonces.
//
// The coordinator's round refuses a nonce seen twice in it (multisig.Round.AddNonces).

// DefaultMuSig2Sessions is how many MuSig2 signing sessions a Manager keeps: those waiting
// for their partial signatures (the oldest is dropped, its secret nonces with it, when a new
// one would exceed it) and, as many again, those that signed.
const DefaultMuSig2Sessions = 1024

type musigSessionKey struct {
	signer, wallet string
	txid           chainhash.Hash
}

type musigSession struct {
	signer *multisig.Signer
	nonces [][]byte
}

// musigSessions are the MuSig2 sessions of a Manager's identities. The zero value is ready.
type musigSessions struct {
	mu        sync.Mutex
	live      map[musigSessionKey]*musigSession
	liveOrder []musigSessionKey
	used      map[musigSessionKey]bool
	usedOrder []musigSessionKey
}

// start keeps a new session under k, replacing one that has not signed yet.
func (s *musigSessions) start(k musigSessionKey, sess *musigSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == nil {
		s.live, s.used = map[musigSessionKey]*musigSession{}, map[musigSessionKey]bool{}
	}
	if _, ok := s.live[k]; !ok {
		s.liveOrder = append(s.liveOrder, k)
	}
	s.live[k] = sess
	delete(s.used, k)
	for len(s.live) > DefaultMuSig2Sessions {
		old := s.liveOrder[0]
		s.liveOrder = s.liveOrder[1:]
		delete(s.live, old)
	}
}

// peek returns the session under k that has not signed, if any.
func (s *musigSessions) peek(k musigSessionKey) (*musigSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.live[k]
	return sess, ok
}

// take removes and returns the session under k if it is still sess, marking it used; false
// when another call took it first.
func (s *musigSessions) take(k musigSessionKey, sess *musigSession) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live[k] != sess {
		return false
	}
	delete(s.live, k)
	s.liveOrder = slices.DeleteFunc(s.liveOrder, func(o musigSessionKey) bool { return o == k })
	s.used[k] = true
	s.usedOrder = append(s.usedOrder, k)
	for len(s.usedOrder) > DefaultMuSig2Sessions {
		delete(s.used, s.usedOrder[0])
		s.usedOrder = s.usedOrder[1:]
	}
	return true
}

// wasUsed reports whether the session under k signed (as far as the Manager remembers).
func (s *musigSessions) wasUsed(k musigSessionKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used[k]
}

// musigSigner returns the MuSig2 signer of identity signer for the wallet at walletAddress
// kept in signer's store, and the PSBT parsed.
func (m *Manager) musigSigner(ctx context.Context, op, signer, walletAddress string, psbt []byte) (*multisig.Signer, *bitcoin.PSBT, musigSessionKey, error) {
	id, err := m.Identity(signer)
	if err != nil {
		return nil, nil, musigSessionKey{}, err
	}
	if id.key == nil {
		return nil, nil, musigSessionKey{}, fmt.Errorf("%w: identity %s has no Bitcoin key", ErrNoKey, signer)
	}
	w, err := m.storedMultisig(ctx, signer, walletAddress)
	if err != nil {
		return nil, nil, musigSessionKey{}, err
	}
	if !w.HasMuSig2KeyPath() {
		return nil, nil, musigSessionKey{}, fmt.Errorf("%w: the wallet %s has no MuSig2 key path", multisig.ErrRound, walletAddress)
	}
	p, err := bitcoin.ParsePSBT(psbt)
	if err != nil {
		return nil, nil, musigSessionKey{}, &OpError{Op: op, Field: "psbt", Reason: "not a PSBT", Err: err}
	}
	s, err := w.Signer(id.key, nil)
	if err != nil {
		return nil, nil, musigSessionKey{}, err
	}
	return s, p, musigSessionKey{signer: signer, wallet: walletAddress, txid: p.UnsignedTx().TxHash()}, nil
}

// MultisigNonces starts identity signer's side of a MuSig2 key-path round over psbt (the
// bytes, binary or base64, of the round's PSBT) for the multisig wallet at walletAddress kept
// in signer's store: it draws one fresh secret nonce per input, keeps them (in memory only)
// until MultisigPartialSigs, and returns the public nonces, by input, to send to the
// coordinator. Asking again for the same PSBT before signing starts over with fresh nonces
// (the earlier ones are dropped, unused). An identity whose keys the Manager does not hold is
// ErrUnknownIdentity; a wallet not in its store, or a PSBT that does not parse, an *OpError; a
// wallet without a MuSig2 key path, or a PSBT with an input that does not spend the wallet's
// address, multisig.ErrRound.
func (m *Manager) MultisigNonces(ctx context.Context, signer, walletAddress string, psbt []byte) ([][]byte, error) {
	return call(ctx, m, func() ([][]byte, error) {
		s, p, k, err := m.musigSigner(ctx, "MultisigNonces", signer, walletAddress, psbt)
		if err != nil {
			return nil, err
		}
		nonces, err := s.Nonces(p)
		if err != nil {
			return nil, err
		}
		m.br.musig.start(k, &musigSession{signer: s, nonces: nonces})
		return cloneNonces(nonces), nil
	})
}

// MultisigPartialSigs ends identity signer's side of a MuSig2 key-path round over psbt: given
// every participant's public nonces by DID (as the coordinator gathered them), it returns its
// partial signatures, by input, signed with the secret nonces MultisigNonces drew for this
// PSBT. Each secret nonce signs once: a second call for the same session is
// bitcoin.ErrNonceReused and signs nothing. Nonces that leave out a participant, or that do
// not hold this signer's own as it made them, are multisig.ErrRound; a DID that is not a
// participant is multisig.ErrNotParticipant — refused before anything is signed, the session
// kept.
func (m *Manager) MultisigPartialSigs(ctx context.Context, signer, walletAddress string, psbt []byte, nonces map[string][][]byte) ([][]byte, error) {
	return call(ctx, m, func() ([][]byte, error) {
		_, p, k, err := m.musigSigner(ctx, "MultisigPartialSigs", signer, walletAddress, psbt)
		if err != nil {
			return nil, err
		}
		sess, ok := m.br.musig.peek(k)
		if !ok {
			if m.br.musig.wasUsed(k) {
				return nil, fmt.Errorf("%w: %s already signed this PSBT with its nonces; ask for new ones (MultisigNonces)", bitcoin.ErrNonceReused, signer)
			}
			return nil, fmt.Errorf("%w: %s has no nonces for this PSBT (MultisigNonces first)", multisig.ErrRound, signer)
		}
		ordered, err := orderNonces(sess, nonces)
		if err != nil {
			return nil, err
		}
		if !m.br.musig.take(k, sess) {
			if m.br.musig.wasUsed(k) {
				return nil, fmt.Errorf("%w: %s signed this PSBT meanwhile", bitcoin.ErrNonceReused, signer)
			}
			return nil, fmt.Errorf("%w: %s's nonces for this PSBT were replaced meanwhile", multisig.ErrRound, signer)
		}
		return sess.signer.PartialSigs(p, ordered)
	})
}

// orderNonces puts the nonces by DID in the wallet's participant order, checking that every
// participant has some, that no DID is a stranger and that the signer's own are the ones it
// made.
func orderNonces(sess *musigSession, byDID map[string][][]byte) ([][][]byte, error) {
	w := sess.signer.Wallet()
	parts := w.Participants()
	ordered := make([][][]byte, len(parts))
	for i, pt := range parts {
		n, ok := byDID[pt.DID]
		if !ok {
			return nil, fmt.Errorf("%w: no nonces of %s", multisig.ErrRound, pt.DID)
		}
		ordered[i] = n
	}
	for d := range byDID {
		if !slices.ContainsFunc(parts, func(p multisig.Participant) bool { return p.DID == d }) {
			return nil, fmt.Errorf("%w: nonces of %s", multisig.ErrNotParticipant, d)
		}
	}
	own := byDID[sess.signer.Participant().DID]
	if !slices.EqualFunc(own, sess.nonces, bytes.Equal) {
		return nil, fmt.Errorf("%w: the nonces of %s are not the ones it made for this PSBT", multisig.ErrRound, sess.signer.Participant().DID)
	}
	return ordered, nil
}

func cloneNonces(n [][]byte) [][]byte {
	out := make([][]byte, len(n))
	for i := range n {
		out[i] = bytes.Clone(n[i])
	}
	return out
}

// FinishMultisigKeyPath ends the MuSig2 key-path round of multisig wallet w over the unsigned
// PSBT base: it adds every participant's public nonces and partial signatures (by DID),
// verifies each partial signature and aggregates them into one BIP-340 signature per input,
// extracts the transaction — every input run through the script interpreter — and broadcasts
// it, exactly once per round as FinishMultisig does (recorded first under
// MultisigKey(base's unsigned txid); finishing again completes the recorded transaction). A DID
// that is not a participant is multisig.ErrNotParticipant; a nonce seen twice in the round is
// multisig.ErrRound matching bitcoin.ErrNonceReused; a participant missing, multisig.ErrRound;
// a partial signature that does not verify, a *bitcoin.MuSig2Error, in an error naming its
// participant. Nothing is sent after a refusal.
func (m *Manager) FinishMultisigKeyPath(ctx context.Context, w *multisig.Wallet, base *bitcoin.PSBT, nonces, partials map[string][][]byte) (chainhash.Hash, error) {
	return call(ctx, m, func() (chainhash.Hash, error) {
		return m.finishRound(ctx, "FinishMultisigKeyPath", w, base, func(round *multisig.Round) error {
			if !w.HasMuSig2KeyPath() {
				return fmt.Errorf("%w: the wallet %s has no MuSig2 key path", multisig.ErrRound, w.Address())
			}
			for _, d := range slices.Sorted(maps.Keys(nonces)) {
				if err := round.AddNonces(d, nonces[d]); err != nil {
					return err
				}
			}
			for _, d := range slices.Sorted(maps.Keys(partials)) {
				if err := round.AddPartialSigs(d, partials[d]); err != nil {
					return err
				}
			}
			if len(partials) == 0 {
				return fmt.Errorf("%w: no partial signatures", multisig.ErrRound)
			}
			return nil
		})
	})
}
