package anya

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/simchain"
)

// Funding on the embedded chain (Fund). The faucet's coins are the coinbases of blocks it mines
// to simchain's anyone-can-spend script, and their change: each Fund spends them in one
// transaction paying the address, mined at once.
const (
	// coinbaseMaturity is how many blocks make a coinbase spendable (100 confirmations).
	coinbaseMaturity = 100
	// faucetFeePerInput and faucetFeeBase make the faucet transaction's fee, well above the
	// minimum relay fee for its size.
	faucetFeeBase, faucetFeePerInput = 1_000, 500
	// maxFaucetInputs bounds the coinbases one Fund gathers.
	maxFaucetInputs = 200
)

// faucetCoin is a coin of the faucet: anyone-can-spend, mature (or a faucet transaction's
// change).
type faucetCoin struct {
	op    wire.OutPoint
	value int64
}

// EmbeddedChain returns the Manager's chain as the simchain it is — the embedded regtest chain
// New creates without WithChain, or a simchain the host gave — for tests and demos to mine on
// (simchain.Chain.Mine, Reorg). On any other chain it returns ErrNotEmbedded.
func (m *Manager) EmbeddedChain() (*simchain.Chain, error) {
	if m == nil || !m.built {
		return nil, notConstructed()
	}
	sim, ok := m.rawChain.(*simchain.Chain)
	if !ok {
		return nil, fmt.Errorf("%w: the Manager runs on a %T", ErrNotEmbedded, m.rawChain)
	}
	return sim, nil
}

// Fund pays amountSat to address on the embedded chain (see EmbeddedChain) and mines the
// payment into a block, so that the coins are confirmed — and spendable by the Manager's wallet
// when address is one of its identities' — when Fund returns. It returns the funding
// transaction's ID. The coins come from the chain itself: the coinbases of blocks Fund mines
// (and matures: 101 blocks at a time) and their change. On another chain it returns
// ErrNotEmbedded: fund an address there as on any Bitcoin network.
func (m *Manager) Fund(ctx context.Context, address string, amountSat int64) (string, error) {
	return call(ctx, m, func() (string, error) {
		sim, err := m.EmbeddedChain()
		if err != nil {
			return "", err
		}
		addr, err := bitcoin.ParseAddress(address, m.net)
		if err != nil {
			return "", &OpError{Op: "Fund", Field: "address", Reason: "not a " + m.net.String() + " address", Err: err}
		}
		if amountSat < int64(bitcoin.DustThreshold(addr.PkScript())) || amountSat > btcutil.MaxSatoshi {
			return "", &OpError{Op: "Fund", Field: "amountSat", Reason: fmt.Sprintf("must be %d to %d satoshis",
				bitcoin.DustThreshold(addr.PkScript()), int64(btcutil.MaxSatoshi))}
		}
		m.faucetMu.Lock()
		defer m.faucetMu.Unlock()
		tx, err := m.faucetTx(ctx, sim, addr.PkScript(), amountSat)
		if err != nil {
			return "", err
		}
		txid, err := sim.Broadcast(ctx, tx)
		if errors.Is(err, bitcoin.ErrRejected) {
			// The faucet's coins were spent by someone else (a host that mines on its simchain
			// and spends anyone-can-spend coins): start again from new coinbases.
			m.faucet = nil
			if tx, err = m.faucetTx(ctx, sim, addr.PkScript(), amountSat); err != nil {
				return "", err
			}
			txid, err = sim.Broadcast(ctx, tx)
		}
		if err != nil {
			return "", fmt.Errorf("anya: fund %s on the embedded chain: %w", address, err)
		}
		m.faucet = nil
		if out := tx.TxOut[1]; bytes.Equal(out.PkScript, simchain.AnyoneCanSpendScript()) {
			m.faucet = []faucetCoin{{op: wire.OutPoint{Hash: txid, Index: 1}, value: out.Value}}
		}
		if _, err := sim.Mine(1, simchain.PayTo(simchain.AnyoneCanSpendScript())); err != nil {
			return "", err
		}
		// The next payment from the address sees its coins at once, whenever the block triggers
		// run.
		m.wallet.Invalidate(address)
		m.invalidateUTXOs(address)
		return txid.String(), nil
	})
}

// faucetTx builds the transaction paying amount to pkScript from the faucet's coins, mining
// and maturing coinbases when they do not suffice. Callers hold faucetMu.
func (m *Manager) faucetTx(ctx context.Context, sim *simchain.Chain, pkScript []byte, amount int64) (*wire.MsgTx, error) {
	change := simchain.AnyoneCanSpendScript()
	need := func() int64 { return amount + faucetFeeBase + faucetFeePerInput*int64(len(m.faucet)+1) }
	have := int64(0)
	for _, c := range m.faucet {
		have += c.value
	}
	if have < need() {
		var mined int
		for have < need() {
			if len(m.faucet) >= maxFaucetInputs {
				return nil, fmt.Errorf("anya: fund %d sat: more than %d coinbases of the embedded chain: %w", amount, maxFaucetInputs,
					bitcoin.ErrInsufficientFunds)
			}
			hashes, err := sim.Mine(1, simchain.PayTo(change))
			if err != nil {
				return nil, err
			}
			blk, err := sim.Block(ctx, hashes[0])
			if err != nil {
				return nil, err
			}
			cb := blk.Transactions[0]
			if cb.TxOut[0].Value == 0 {
				return nil, fmt.Errorf("anya: fund %d sat: the embedded chain's block subsidy is spent: %w", amount, bitcoin.ErrInsufficientFunds)
			}
			m.faucet = append(m.faucet, faucetCoin{op: wire.OutPoint{Hash: cb.TxHash(), Index: 0}, value: cb.TxOut[0].Value})
			have += cb.TxOut[0].Value
			mined++
		}
		if mined > 0 {
			if _, err := sim.Mine(coinbaseMaturity, simchain.PayTo(change)); err != nil {
				return nil, err
			}
		}
	}
	tx := wire.NewMsgTx(2)
	for _, c := range m.faucet {
		tx.AddTxIn(wire.NewTxIn(&c.op, nil, simchain.AnyoneCanSpendWitness()))
	}
	tx.AddTxOut(wire.NewTxOut(amount, pkScript))
	fee := faucetFeeBase + faucetFeePerInput*int64(len(m.faucet))
	if rest := have - amount - fee; rest >= int64(bitcoin.DustThreshold(change)) {
		tx.AddTxOut(wire.NewTxOut(rest, change))
	}
	// A random tag makes every funding a new coin, even on a simchain that starts again from
	// its genesis block under a data directory whose earlier payments reserved the coins of the
	// same funding then.
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	tag, err := txscript.NullDataScript(nonce)
	if err != nil {
		return nil, err
	}
	tx.AddTxOut(wire.NewTxOut(0, tag))
	return tx, nil
}
