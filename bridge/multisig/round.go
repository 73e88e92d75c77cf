package multisig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
)

// Signer is one participant's side of a signing round: it holds the participant's private
// key, which never leaves it. Script-path wallets (P2WSH, tapscript) need one call, SignPSBT;
// MuSig2 key-path spends need two: Nonces, then PartialSigs. A Signer is not safe for
// concurrent use; use one per round.
type Signer struct {
	w        *Wallet
	key      *btcec.PrivateKey
	idx      int
	rnd      io.Reader
	txid     chainhash.Hash
	sessions []*bitcoin.MuSig2Session
}

// Signer returns the signer of the participant whose Bitcoin key is key. rnd supplies MuSig2
// nonce randomness; nil means crypto/rand. A key that is not a participant's is
// ErrNotParticipant.
func (w *Wallet) Signer(key *btcec.PrivateKey, rnd io.Reader) (*Signer, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: nil key", ErrNotParticipant)
	}
	i := w.index(key.PubKey())
	if i < 0 {
		return nil, fmt.Errorf("%w: key %x", ErrNotParticipant, key.PubKey().SerializeCompressed())
	}
	return &Signer{w: w, key: key, idx: i, rnd: rnd}, nil
}

// Participant returns the signer's participant.
func (s *Signer) Participant() Participant { return s.w.participants[s.idx] }

// checkInputs refuses a PSBT with an input that does not spend the wallet's address: a
// participant signs only the wallet's coins.
func (s *Signer) checkInputs(p *bitcoin.PSBT) error {
	want := s.w.ms.PkScript()
	prev, err := prevScripts(p)
	if err != nil {
		return err
	}
	for i, script := range prev {
		if !bytes.Equal(script, want) {
			return fmt.Errorf("%w: input %d does not spend the wallet's address", ErrRound, i)
		}
	}
	return nil
}

// prevScripts returns the output scripts the PSBT's inputs spend, from their UTXO fields.
func prevScripts(p *bitcoin.PSBT) ([][]byte, error) {
	pk, err := psbt.NewFromRawBytes(bytes.NewReader(p.Bytes()), false)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRound, err)
	}
	out := make([][]byte, len(pk.Inputs))
	for i, in := range pk.Inputs {
		switch {
		case in.WitnessUtxo != nil:
			out[i] = in.WitnessUtxo.PkScript
		case in.NonWitnessUtxo != nil:
			idx := pk.UnsignedTx.TxIn[i].PreviousOutPoint.Index
			if int(idx) >= len(in.NonWitnessUtxo.TxOut) {
				return nil, fmt.Errorf("%w: input %d: previous output out of range", ErrRound, i)
			}
			out[i] = in.NonWitnessUtxo.TxOut[idx].PkScript
		default:
			return nil, fmt.Errorf("%w: input %d: the output it spends is not in the PSBT", ErrRound, i)
		}
	}
	return out, nil
}

// SignPSBT returns a copy of p with this participant's signatures on every input (the script
// path of P2WSH and tapscript wallets). p is not changed.
func (s *Signer) SignPSBT(p *bitcoin.PSBT) (*bitcoin.PSBT, error) {
	if s.w.kind == bitcoin.MuSig2KeyPath {
		return nil, fmt.Errorf("%w: a MuSig2 key-path wallet signs with Nonces and PartialSigs", ErrRound)
	}
	if err := s.checkInputs(p); err != nil {
		return nil, err
	}
	c := p.Clone()
	n, err := c.Sign(s.key)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: no input could be signed", ErrRound)
	}
	return c, nil
}

// Nonces starts the MuSig2 key-path signing of p: one session per input, and their public
// nonces (66 bytes each, by input) to send to the coordinator.
func (s *Signer) Nonces(p *bitcoin.PSBT) ([][]byte, error) {
	if !s.w.musigPath {
		return nil, fmt.Errorf("%w: the wallet has no MuSig2 key path", ErrRound)
	}
	if s.sessions != nil {
		return nil, fmt.Errorf("%w: nonces already made in this round", ErrRound)
	}
	if err := s.checkInputs(p); err != nil {
		return nil, err
	}
	n := len(p.UnsignedTx().TxIn)
	sessions := make([]*bitcoin.MuSig2Session, n)
	nonces := make([][]byte, n)
	for i := range n {
		sess, err := s.w.ms.NewMuSig2Session(s.key, s.rnd)
		if err != nil {
			return nil, err
		}
		sessions[i], nonces[i] = sess, sess.PublicNonce()
	}
	s.sessions, s.txid = sessions, p.UnsignedTx().TxHash()
	return nonces, nil
}

// PartialSigs signs p's inputs with the sessions Nonces started. nonces[j][i] is participant
// j's (in Participants order) public nonce for input i, as the coordinator's Round.Nonces
// returns them. p must be the PSBT the nonces were made for; each session signs once.
func (s *Signer) PartialSigs(p *bitcoin.PSBT, nonces [][][]byte) ([][]byte, error) {
	if s.sessions == nil {
		return nil, fmt.Errorf("%w: PartialSigs before Nonces", ErrRound)
	}
	if p.UnsignedTx().TxHash() != s.txid {
		return nil, fmt.Errorf("%w: the PSBT is not the one the nonces were made for", ErrRound)
	}
	if len(nonces) != len(s.w.participants) {
		return nil, fmt.Errorf("%w: nonces of %d participants, want %d", ErrRound, len(nonces), len(s.w.participants))
	}
	out := make([][]byte, len(s.sessions))
	for i, sess := range s.sessions {
		msg, err := p.TaprootKeySpendSigHash(i)
		if err != nil {
			return nil, err
		}
		byInput := make([][]byte, len(nonces))
		for j := range nonces {
			if len(nonces[j]) != len(s.sessions) {
				return nil, fmt.Errorf("%w: participant %d sent %d nonces for %d inputs", ErrRound, j, len(nonces[j]), len(s.sessions))
			}
			byInput[j] = nonces[j][i]
		}
		if out[i], err = sess.Sign(msg, byInput); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Round is the coordinator's side of a signing round over one PSBT: it collects the
// participants' signed copies (script path) or nonces and partial signatures (MuSig2 key
// path) and assembles the transaction. It is safe for concurrent use.
type Round struct {
	w    *Wallet
	base *bitcoin.PSBT

	mu       sync.Mutex
	signed   map[int]*bitcoin.PSBT
	nonces   map[int][][]byte
	partials map[int][][]byte
}

// NewRound starts a round over p, an unsigned PSBT spending the wallet's coins (see
// Wallet.Coin and bitcoin.CreatePSBT).
func (w *Wallet) NewRound(p *bitcoin.PSBT) (*Round, error) {
	prev, err := prevScripts(p)
	if err != nil {
		return nil, err
	}
	for i, script := range prev {
		if !bytes.Equal(script, w.ms.PkScript()) {
			return nil, fmt.Errorf("%w: input %d does not spend the wallet's address", ErrRound, i)
		}
	}
	return &Round{w: w, base: p.Clone(), signed: map[int]*bitcoin.PSBT{}, nonces: map[int][][]byte{}, partials: map[int][][]byte{}}, nil
}

// PSBT returns a copy of the round's unsigned PSBT, to send to the participants.
func (r *Round) PSBT() *bitcoin.PSBT { return r.base.Clone() }

func (r *Round) participant(d string) (int, error) {
	for i, p := range r.w.participants {
		if p.DID == d {
			return i, nil
		}
	}
	return -1, fmt.Errorf("%w: %s", ErrNotParticipant, d)
}

// AddSigned adds participant d's signed copy of the round's PSBT (Signer.SignPSBT).
func (r *Round) AddSigned(d string, p *bitcoin.PSBT) error {
	i, err := r.participant(d)
	if err != nil {
		return err
	}
	if p.UnsignedTx().TxHash() != r.base.UnsignedTx().TxHash() {
		return fmt.Errorf("%w: %s signed another transaction", ErrRound, d)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.signed[i] = p.Clone()
	return nil
}

// AddNonces adds participant d's public nonces (Signer.Nonces), one per input. A nonce already
// in the round (another input's, another participant's) is refused (ErrRound and
// bitcoin.ErrNonceReused).
func (r *Round) AddNonces(d string, nonces [][]byte) error {
	i, err := r.participant(d)
	if err != nil {
		return err
	}
	if n := len(r.base.UnsignedTx().TxIn); len(nonces) != n {
		return fmt.Errorf("%w: %s sent %d nonces for %d inputs", ErrRound, d, len(nonces), n)
	}
	for _, n := range nonces {
		if len(n) != bitcoin.MuSig2PubNonceSize {
			return fmt.Errorf("%w: %s sent a nonce of %d bytes", ErrRound, d, len(n))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.nonces[i]; dup {
		return fmt.Errorf("%w: %s already sent its nonces", ErrRound, d)
	}
	// A nonce seen twice in a round — for two inputs, or from two participants — was not
	// drawn fresh: signing with it would reveal a key. The round refuses it.
	seen := map[string]bool{}
	for _, ns := range r.nonces {
		for _, n := range ns {
			seen[string(n)] = true
		}
	}
	for in, n := range nonces {
		if seen[string(n)] {
			return fmt.Errorf("%w: %w: %s's nonce for input %d is already in the round", ErrRound, bitcoin.ErrNonceReused, d, in)
		}
		seen[string(n)] = true
	}
	r.nonces[i] = cloneAll(nonces)
	return nil
}

func cloneAll(b [][]byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = bytes.Clone(b[i])
	}
	return out
}

// Nonces returns every participant's nonces (by participant, then input), once all have
// sent theirs.
func (r *Round) Nonces() ([][][]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][][]byte, len(r.w.participants))
	for i := range out {
		n, ok := r.nonces[i]
		if !ok {
			return nil, fmt.Errorf("%w: no nonces from %s yet", ErrRound, r.w.participants[i].DID)
		}
		out[i] = cloneAll(n)
	}
	return out, nil
}

// AddPartialSigs adds participant d's partial signatures (Signer.PartialSigs), one per input.
func (r *Round) AddPartialSigs(d string, sigs [][]byte) error {
	i, err := r.participant(d)
	if err != nil {
		return err
	}
	if n := len(r.base.UnsignedTx().TxIn); len(sigs) != n {
		return fmt.Errorf("%w: %s sent %d partial signatures for %d inputs", ErrRound, d, len(sigs), n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.nonces[i]; !ok {
		return fmt.Errorf("%w: %s sent partial signatures before its nonces", ErrRound, d)
	}
	r.partials[i] = cloneAll(sigs)
	return nil
}

// Finish assembles the signed transaction: for a script path, it combines the signed
// copies (at least the threshold's worth), finalizes and extracts; for a MuSig2 key path, it
// verifies and aggregates every participant's partial signatures (a bad one is a
// *bitcoin.MuSig2Error naming its signer). Extract runs every input through the script
// interpreter.
func (r *Round) Finish() (*wire.MsgTx, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.base.Clone()
	if len(r.partials) > 0 || r.w.kind == bitcoin.MuSig2KeyPath {
		if len(r.partials) != len(r.w.participants) {
			return nil, fmt.Errorf("%w: partial signatures from %d of %d participants", ErrRound, len(r.partials), len(r.w.participants))
		}
		for in := range p.UnsignedTx().TxIn {
			msg, err := p.TaprootKeySpendSigHash(in)
			if err != nil {
				return nil, err
			}
			nonces := make([][]byte, len(r.w.participants))
			sigs := make([][]byte, len(r.w.participants))
			for j := range r.w.participants {
				nonces[j], sigs[j] = r.nonces[j][in], r.partials[j][in]
			}
			sig, err := r.w.ms.CombineMuSig2(msg, nonces, sigs)
			if err != nil {
				var me *bitcoin.MuSig2Error
				if errors.As(err, &me) && me.Signer >= 0 && me.Signer < len(r.w.participants) {
					return nil, fmt.Errorf("multisig: input %d, participant %s: %w", in, r.w.participants[me.Signer].DID, err)
				}
				return nil, err
			}
			if err := p.SetTaprootKeySpendSig(in, sig); err != nil {
				return nil, err
			}
		}
	} else {
		if len(r.signed) < r.w.threshold {
			return nil, fmt.Errorf("%w: %d of %d signatures", ErrRound, len(r.signed), r.w.threshold)
		}
		others := make([]*bitcoin.PSBT, 0, len(r.signed))
		for j := range r.w.participants {
			if s, ok := r.signed[j]; ok {
				others = append(others, s)
			}
		}
		if err := p.Combine(others...); err != nil {
			return nil, err
		}
	}
	if err := p.Finalize(); err != nil {
		return nil, err
	}
	return p.Extract()
}

// Wallet returns the signer's wallet.
func (s *Signer) Wallet() *Wallet { return s.w }
