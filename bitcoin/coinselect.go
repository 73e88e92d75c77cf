package bitcoin

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// feeForWeight returns the fee in satoshis for a weight in weight units, rounded up to
// whole virtual bytes.
func (r FeeRate) feeForWeight(weight int64) int64 { return int64(r.FeeFor((weight + 3) / 4)) }

// Defaults of CreatePSBT.
const (
	// DefaultRBF makes CreatePSBT signal replaceability (BIP-125).
	DefaultRBF = true
	// DefaultMaxFee caps the absolute fee CreatePSBT will build, like Bitcoin Core's
	// -maxtxfee (0.1 BTC).
	DefaultMaxFee btcutil.Amount = 10_000_000
	// DefaultMaxFeeRate caps the fee rate CreatePSBT accepts (1000 sat/vB).
	DefaultMaxFeeRate FeeRate = 1_000_000
	// DustRelayFeeRate is the rate (3 sat/vB) behind the dust threshold, as in Bitcoin Core.
	DustRelayFeeRate FeeRate = 3000
	// maxBnBTries bounds the branch-and-bound search.
	maxBnBTries = 100_000
)

// Transaction size constants, in weight units.
const (
	txOverheadWeight = (4 + 4 + 1 + 1) * 4 // version, lock time, input and output counts
	segwitFlagWeight = 2                   // marker and flag bytes
	inputBaseWeight  = (32 + 4 + 4) * 4    // outpoint and sequence
)

// inputWeight estimates the weight an input spending c adds, including its scriptSig and
// witness (with 72-byte ECDSA and 65-byte Schnorr signatures, the worst cases), and
// whether it has a witness.
func inputWeight(c Coin) (weight int64, segwit bool, err error) {
	pk := c.PkScript
	ws := c.WitnessScript
	if ws == nil && c.Multisig != nil {
		ws = c.Multisig.WitnessScript()
	}
	switch classify(pk) {
	case classP2PKH:
		return inputBaseWeight + (1+1+72+1+33)*4, false, nil
	case classP2WPKH:
		return inputBaseWeight + 4 + witnessWeight(72, 33), true, nil
	case classP2SH:
		if c.RedeemScript != nil && classify(c.RedeemScript) == classP2WPKH {
			return inputBaseWeight + (1+23)*4 + witnessWeight(72, 33), true, nil
		}
		if c.RedeemScript != nil && classify(c.RedeemScript) == classP2WSH && ws != nil {
			k, ok := checkMultisigThreshold(ws)
			if !ok {
				break
			}
			return inputBaseWeight + (1+35)*4 + multisigWitnessWeight(k, ws), true, nil
		}
	case classP2WSH:
		if k, ok := checkMultisigThreshold(ws); ok {
			return inputBaseWeight + 4 + multisigWitnessWeight(k, ws), true, nil
		}
	case classP2TR:
		if m := c.Multisig; m != nil && m.musig == nil && m.leaf != nil {
			// script path: n slots (k signatures, the rest empty), leaf and control block
			n := len(m.keys)
			w := int64(varIntLen(n+2)) + int64(m.threshold)*66 + int64(n-m.threshold)
			w += int64(varIntLen(len(m.leaf.leaf.Script))+len(m.leaf.leaf.Script)) + int64(1+len(m.controlBlock))
			return inputBaseWeight + 4 + w, true, nil
		}
		return inputBaseWeight + 4 + witnessWeight(65), true, nil
	}
	return 0, false, fmt.Errorf("%w: cannot estimate the input size of script %x", ErrUnsupportedScript, truncate(pk, 40))
}

// witnessWeight is the weight of a witness with items of the given sizes.
func witnessWeight(items ...int) int64 {
	w := int64(varIntLen(len(items)))
	for _, n := range items {
		w += int64(varIntLen(n) + n)
	}
	return w
}

func multisigWitnessWeight(k int, ws []byte) int64 {
	items := []int{0}
	for j := 0; j < k; j++ {
		items = append(items, 72)
	}
	return witnessWeight(append(items, len(ws))...)
}

// checkMultisigThreshold returns k of an OP_CHECKMULTISIG script.
func checkMultisigThreshold(ws []byte) (int, bool) {
	if len(ws) < 3 || ws[len(ws)-1] != txscript.OP_CHECKMULTISIG {
		return 0, false
	}
	if ws[0] >= txscript.OP_1 && ws[0] <= txscript.OP_16 {
		return int(ws[0] - txscript.OP_1 + 1), true
	}
	if ws[0] == 1 && len(ws) > 1 { // one-byte push for k > 16
		return int(ws[1]), true
	}
	return 0, false
}

func varIntLen(n int) int {
	switch {
	case n < 0xfd:
		return 1
	case n <= 0xffff:
		return 3
	default:
		return 5
	}
}

func outputWeight(pkScript []byte) int64 {
	return int64(8+varIntLen(len(pkScript))+len(pkScript)) * 4
}

// DustThreshold returns the smallest value an output with pkScript may carry to be
// relayed by default Bitcoin Core policy (546 sat for P2PKH, 294 for P2WPKH, 330 for P2TR).
// OP_RETURN outputs have no threshold.
func DustThreshold(pkScript []byte) btcutil.Amount {
	if classify(pkScript) == classOpReturn {
		return 0
	}
	size := int64(8 + varIntLen(len(pkScript)) + len(pkScript))
	if _, _, ok := witnessProgram(pkScript); ok {
		size += 32 + 4 + 1 + 107/4 + 4
	} else {
		size += 32 + 4 + 1 + 107 + 4
	}
	return DustRelayFeeRate.FeeFor(size)
}

type candidate struct {
	coin      Coin
	weight    int64
	effective int64 // value minus the fee of spending it
}

// CreatePSBT builds an unsigned PSBT paying outputs from coins chosen among candidates at
// feeRate, with change (if worth keeping) to change, and records every chosen coin's
// spending data (AddCoin). Coin selection first searches for a combination needing no
// change (branch and bound, as Bitcoin Core does), then falls back to adding the largest
// coins first. Inputs and outputs are ordered per BIP-69, so the change position leaks
// nothing. Errors: *InsufficientFundsError, ErrDustOutput, ErrFeeTooHigh, ErrUnsupportedScript
// for a candidate whose input size cannot be estimated.
func CreatePSBT(outputs []*wire.TxOut, candidates []Coin, feeRate FeeRate, change Address, opts ...Option) (*PSBT, error) {
	all, err := newConfig(forCreate, opts)
	if err != nil {
		return nil, err
	}
	cfg := all.create
	if feeRate < 0 || feeRate > cfg.maxFeeRate {
		return nil, fmt.Errorf("%w: fee rate %d sat/kvB outside [0, %d]", ErrFeeTooHigh, feeRate, cfg.maxFeeRate)
	}
	if len(outputs) == 0 {
		return nil, &PSBTError{Input: -1, Output: -1, Reason: "no outputs", Err: ErrInvalidPSBT}
	}
	var outSum amountSum
	weight := int64(txOverheadWeight)
	for i, o := range outputs {
		if o == nil {
			return nil, &PSBTError{Input: -1, Output: i, Reason: "nil output", Err: ErrInvalidPSBT}
		}
		if err := outSum.add("output", i, o.Value, ErrInvalidPSBT); err != nil {
			return nil, amountPSBTErr(err, false)
		}
		if btcutil.Amount(o.Value) < DustThreshold(o.PkScript) {
			return nil, &PSBTError{Input: -1, Output: i, Reason: fmt.Sprintf("%d sat is below the dust threshold %d", o.Value, DustThreshold(o.PkScript)), Err: ErrDustOutput}
		}
		weight += outputWeight(o.PkScript)
	}
	target := outSum.total
	var changeScript []byte
	if !change.IsZero() {
		changeScript = change.PkScript()
	}

	// Real coins are distinct and cannot add up to more than the supply; anything else is
	// refused before its values are summed.
	var cands []candidate
	var available int64
	var coinSum amountSum
	seen := make(map[wire.OutPoint]struct{}, len(candidates))
	anySegwit := false
	for i, c := range candidates {
		c, err := c.resolve()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidPSBT, err)
		}
		if _, dup := seen[c.OutPoint]; dup {
			return nil, &PSBTError{Input: -1, Output: -1, Reason: fmt.Sprintf("coin %v is a candidate twice", c.OutPoint), Err: ErrInvalidPSBT}
		}
		seen[c.OutPoint] = struct{}{}
		if err := coinSum.add("coin", i, int64(c.Value), ErrInvalidPSBT); err != nil {
			return nil, &PSBTError{Input: -1, Output: -1, Reason: "candidates", Err: err}
		}
		w, segwit, err := inputWeight(c)
		if err != nil {
			return nil, err
		}
		eff := int64(c.Value) - feeRate.feeForWeight(w)
		if eff <= 0 {
			continue // costs more to spend than it is worth
		}
		anySegwit = anySegwit || segwit
		cands = append(cands, candidate{coin: c, weight: w, effective: eff})
		available += eff
	}
	if anySegwit {
		weight += segwitFlagWeight
	}
	baseFee := feeRate.feeForWeight(weight)
	need := target + baseFee
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].effective > cands[j].effective })

	changeFee := int64(0)
	costOfChange := int64(0)
	minChange := int64(0)
	if changeScript != nil {
		changeFee = feeRate.feeForWeight(outputWeight(changeScript))
		spend, _, err := inputWeight(Coin{PkScript: changeScript})
		if err != nil {
			spend = inputBaseWeight + 4 + witnessWeight(72, 33)
		}
		costOfChange = changeFee + feeRate.feeForWeight(spend)
		minChange = int64(DustThreshold(changeScript))
	}

	selected, ok := selectBnB(cands, need, costOfChange)
	withChange := false
	if !ok {
		var sum int64
		selected = selected[:0]
		for _, c := range cands {
			selected = append(selected, c)
			sum += c.effective
			if changeScript != nil && sum >= need+changeFee+minChange {
				withChange = true
				break
			}
			if changeScript == nil && sum >= need {
				break
			}
		}
		if sum < need {
			return nil, &InsufficientFundsError{Needed: btcutil.Amount(need), Available: btcutil.Amount(available)}
		}
		if !withChange && changeScript != nil {
			// Enough for the outputs but not for a change output above dust: the excess
			// goes to the fee, as long as that stays below the cost of change.
			if sum-need > costOfChange {
				return nil, &InsufficientFundsError{Needed: btcutil.Amount(need + changeFee + minChange), Available: btcutil.Amount(available)}
			}
		}
	}

	tx := wire.NewMsgTx(2)
	tx.LockTime = cfg.lockTime
	seq := wire.MaxTxInSequenceNum - 1
	if cfg.rbf {
		seq = wire.MaxTxInSequenceNum - 2
	}
	var inSum int64
	for _, c := range selected {
		in := wire.NewTxIn(&c.coin.OutPoint, nil, nil)
		in.Sequence = seq
		tx.AddTxIn(in)
		inSum += int64(c.coin.Value)
		weight += c.weight
	}
	for _, o := range outputs {
		tx.AddTxOut(wire.NewTxOut(o.Value, bytes.Clone(o.PkScript)))
	}
	fee := inSum - target
	if withChange {
		weight += outputWeight(changeScript)
		fee = feeRate.feeForWeight(weight)
		tx.AddTxOut(wire.NewTxOut(inSum-target-fee, bytes.Clone(changeScript)))
	}
	if btcutil.Amount(fee) > cfg.maxFee {
		return nil, fmt.Errorf("%w: %d sat exceeds the maximum %d", ErrFeeTooHigh, fee, cfg.maxFee)
	}
	p, err := NewPSBT(tx)
	if err != nil {
		return nil, err
	}
	if err := psbt.InPlaceSort(p.p); err != nil {
		return nil, psbtErr(ErrInvalidPSBT, -1, "sort: %v", err)
	}
	for i, in := range p.p.UnsignedTx.TxIn {
		for _, c := range selected {
			if c.coin.OutPoint == in.PreviousOutPoint {
				if err := p.AddCoin(i, c.coin); err != nil {
					return nil, err
				}
			}
		}
	}
	return p, nil
}

// selectBnB searches depth first for a subset whose effective value lands in
// [need, need+costOfChange], preferring the least excess.
func selectBnB(cands []candidate, need, costOfChange int64) ([]candidate, bool) {
	var best []int
	bestExcess := int64(-1)
	var cur []int
	tries := 0
	remaining := make([]int64, len(cands)+1)
	for i := len(cands) - 1; i >= 0; i-- {
		remaining[i] = remaining[i+1] + cands[i].effective
	}
	var walk func(i int, sum int64)
	walk = func(i int, sum int64) {
		tries++
		if tries > maxBnBTries || bestExcess == 0 {
			return
		}
		if sum > need+costOfChange {
			return
		}
		if sum >= need {
			if excess := sum - need; bestExcess < 0 || excess < bestExcess {
				bestExcess = excess
				best = append(best[:0], cur...)
			}
			return
		}
		if i == len(cands) || sum+remaining[i] < need {
			return
		}
		cur = append(cur, i)
		walk(i+1, sum+cands[i].effective)
		cur = cur[:len(cur)-1]
		walk(i+1, sum)
	}
	walk(0, 0)
	if bestExcess < 0 {
		return nil, false
	}
	out := make([]candidate, len(best))
	for j, i := range best {
		out[j] = cands[i]
	}
	return out, true
}
