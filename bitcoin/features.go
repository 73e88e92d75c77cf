package bitcoin

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
)

// Feature extraction for ML: a named, versioned []float32 per transaction and per block,
// with no dependency on the ml packages. Amounts are in BTC, sizes in bytes, fee rates in
// sat/vB, ages in blocks. Values a transaction alone cannot give (input values, fee, input
// ages, address reuse) come from an optional FeatureLookup; each such group has a "…_known"
// flag and is 0 when unknown, so vectors never hold NaN or ±Inf.

// Feature schema versions. A version changes whenever names, order or meaning change.
const (
	TxFeatureVersion    = 1
	BlockFeatureVersion = 1
)

// DefaultFeatureNetwork is the network whose subsidy schedule a FeatureExtractor assumes.
const DefaultFeatureNetwork = Mainnet

// RoundAmountSats is the granularity below which an output value counts as round: a
// multiple of 10,000 sat (0.0001 BTC).
const RoundAmountSats = 10_000

// FeatureSchema names the elements of a feature vector.
type FeatureSchema struct {
	Name    string   // "bitcoin.tx" or "bitcoin.block"
	Version int      // TxFeatureVersion or BlockFeatureVersion
	Names   []string // one per element, in vector order
}

// Index returns the position of the named feature, or -1.
func (s FeatureSchema) Index(name string) int {
	for i, n := range s.Names {
		if n == name {
			return i
		}
	}
	return -1
}

// tx feature indices.
const (
	ftVersion = iota
	ftLockTime
	ftLockTimeIsHeight
	ftLockTimeIsTime
	ftRBF
	ftIsCoinbase
	ftHasWitness
	ftInputs
	ftOutputs
	ftSize
	ftVSize
	ftWeight
	ftOutTotal
	ftOutMin
	ftOutMax
	ftOutMean
	ftOutStd
	ftOutRoundCount
	ftOutRoundFrac
	ftOutP2PKH
	ftOutP2SH
	ftOutP2WPKH
	ftOutP2WSH
	ftOutP2TR
	ftOutOpReturn
	ftOutOther
	ftInP2PKH
	ftInP2SH
	ftInP2WPKH
	ftInP2WSH
	ftInP2TR
	ftInOther
	ftChangeSameType
	ftChangeUniqueNonRound
	ftLargestOutFrac
	ftInputsKnown
	ftInTotal
	ftInMin
	ftInMax
	ftInMean
	ftFee
	ftFeeRate
	ftAgesKnown
	ftAgeMin
	ftAgeMean
	ftAgeMax
	ftReuseKnown
	ftOutReused
	ftOutToInputScript
	numTxFeatures
)

var txFeatureNames = [numTxFeatures]string{
	"version", "locktime", "locktime_is_height", "locktime_is_time", "rbf", "is_coinbase", "has_witness",
	"n_inputs", "n_outputs", "size", "vsize", "weight",
	"out_total_btc", "out_min_btc", "out_max_btc", "out_mean_btc", "out_std_btc", "out_round_count", "out_round_frac",
	"out_p2pkh", "out_p2sh", "out_p2wpkh", "out_p2wsh", "out_p2tr", "out_op_return", "out_other",
	"in_p2pkh", "in_p2sh", "in_p2wpkh", "in_p2wsh", "in_p2tr", "in_other",
	"change_same_type_count", "change_unique_nonround", "largest_output_frac",
	"inputs_known", "in_total_btc", "in_min_btc", "in_max_btc", "in_mean_btc", "fee_btc", "fee_rate_sat_vb",
	"ages_known", "in_age_min_blocks", "in_age_mean_blocks", "in_age_max_blocks",
	"reuse_known", "out_reused_count", "out_to_input_script_count",
}

// TxFeatureSchema returns the schema of transaction feature vectors.
func TxFeatureSchema() FeatureSchema {
	return FeatureSchema{Name: "bitcoin.tx", Version: TxFeatureVersion, Names: append([]string(nil), txFeatureNames[:]...)}
}

// block feature indices.
const (
	fbVersion = iota
	fbTime
	fbTxCount
	fbSize
	fbStrippedSize
	fbWeight
	fbInputs
	fbOutputs
	fbOutTotal
	fbCoinbaseOut
	fbFeeTotalKnown
	fbFeeTotal
	fbSegwitFrac
	fbRBFFrac
	fbOpReturnCount
	fbTxVSizeMean
	fbTxVSizeMax
	fbFeeRatesKnownFrac
	fbFeeRateMin
	fbFeeRateMedian
	fbFeeRateMean
	fbFeeRateMax
	numBlockFeatures
)

var blockFeatureNames = [numBlockFeatures]string{
	"header_version", "header_time", "tx_count", "size", "stripped_size", "weight", "n_inputs", "n_outputs",
	"out_total_btc", "coinbase_out_btc", "fee_total_known", "fee_total_btc",
	"segwit_tx_frac", "rbf_tx_frac", "op_return_count", "tx_vsize_mean", "tx_vsize_max",
	"fee_rates_known_frac", "fee_rate_min_sat_vb", "fee_rate_median_sat_vb", "fee_rate_mean_sat_vb", "fee_rate_max_sat_vb",
}

// BlockFeatureSchema returns the schema of block feature vectors.
func BlockFeatureSchema() FeatureSchema {
	return FeatureSchema{Name: "bitcoin.block", Version: BlockFeatureVersion, Names: append([]string(nil), blockFeatureNames[:]...)}
}

// FeatureLookup supplies what a transaction does not say about itself: the outputs its
// inputs spend and how often a script was paid before. A chain index (the package's chain
// backends) can implement it. Implementations must be safe for concurrent use.
type FeatureLookup interface {
	// PrevOutput returns the output op refers to and the height of the block that
	// created it (-1 when unconfirmed). found is false when the output is unknown.
	PrevOutput(ctx context.Context, op wire.OutPoint) (out *wire.TxOut, height int32, found bool, err error)
	// ScriptUses returns how many outputs paid to pkScript before the transaction being
	// described; known is false when the index cannot tell.
	ScriptUses(ctx context.Context, pkScript []byte) (n int, known bool, err error)
}

// FeatureExtractor computes feature vectors. It holds no per-call state and is safe for
// concurrent use. The zero value works: it is an extractor without a [FeatureLookup] for
// [DefaultFeatureNetwork], as [NewFeatureExtractor] returns without options.
type FeatureExtractor struct {
	lookup FeatureLookup
	net    Network
}

// NewFeatureExtractor returns an extractor, configured by [WithFeatureLookup] and
// [WithFeatureNetwork].
func NewFeatureExtractor(opts ...Option) (*FeatureExtractor, error) {
	cfg, err := newConfig(forFeatures, opts)
	if err != nil {
		return nil, err
	}
	return &FeatureExtractor{lookup: cfg.lookup, net: cfg.featureNet}, nil
}

// network is the extractor's network: the default for a zero extractor.
func (e *FeatureExtractor) network() Network {
	if e == nil || e.net == 0 {
		return DefaultFeatureNetwork
	}
	return e.net
}

const satPerBTC = 1e8

// Tx appends tx's feature vector (TxFeatureSchema) to dst and returns it. height is the
// height of the block that contains tx, or for an unconfirmed transaction the next block's,
// and dates input ages; pass -1 when unknown. Without a FeatureLookup Tx does not allocate
// when dst has room.
func (e *FeatureExtractor) Tx(ctx context.Context, tx *wire.MsgTx, height int32, dst []float32) ([]float32, error) {
	return e.tx(ctx, tx, height, dst, nil)
}

// tx is Tx with prevouts optionally resolved from the same block first.
func (e *FeatureExtractor) tx(ctx context.Context, tx *wire.MsgTx, height int32, dst []float32, inBlock map[chainhash.Hash]*wire.MsgTx) ([]float32, error) {
	if tx == nil {
		return dst, fmt.Errorf("%w: nil transaction", ErrInvalidTransaction)
	}
	// Amounts out of range would wrap the sums below (two outputs of 2^63-1 sat total -2).
	if err := checkOutputs(tx.TxOut, ErrInvalidTransaction); err != nil {
		return dst, err
	}
	start := len(dst)
	if cap(dst)-start < numTxFeatures {
		grown := make([]float32, start, start+numTxFeatures)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:start+numTxFeatures]
	f := dst[start:]
	clear(f)

	f[ftVersion] = float32(tx.Version)
	f[ftLockTime] = float32(tx.LockTime)
	switch {
	case tx.LockTime == 0:
	case tx.LockTime < 500_000_000:
		f[ftLockTimeIsHeight] = 1
	default:
		f[ftLockTimeIsTime] = 1
	}
	coinbase := len(tx.TxIn) == 1 && tx.TxIn[0].PreviousOutPoint.Index == wire.MaxPrevOutIndex &&
		tx.TxIn[0].PreviousOutPoint.Hash == (chainhash.Hash{})
	f[ftRBF] = b2f(!coinbase && signalsRBF(tx))
	f[ftIsCoinbase] = b2f(coinbase)
	f[ftHasWitness] = b2f(tx.HasWitness())
	f[ftInputs] = float32(len(tx.TxIn))
	f[ftOutputs] = float32(len(tx.TxOut))
	size := tx.SerializeSize()
	stripped := tx.SerializeSizeStripped()
	weight := stripped*3 + size
	vsize := (weight + 3) / 4
	f[ftSize] = float32(size)
	f[ftVSize] = float32(vsize)
	f[ftWeight] = float32(weight)

	// Outputs: value stats, round amounts, script types.
	var outTotal, outMax int64
	outMin := int64(math.MaxInt64)
	var mean, m2 float64
	round := 0
	for i, o := range tx.TxOut {
		v := o.Value
		outTotal += v
		outMax = max(outMax, v)
		outMin = min(outMin, v)
		x := float64(v) / satPerBTC
		d := x - mean
		mean += d / float64(i+1)
		m2 += d * (x - mean)
		if v > 0 && v%RoundAmountSats == 0 {
			round++
		}
		f[ftOutP2PKH+outClassSlot(classify(o.PkScript))]++
	}
	if n := len(tx.TxOut); n > 0 {
		f[ftOutTotal] = float32(float64(outTotal) / satPerBTC)
		f[ftOutMin] = float32(float64(outMin) / satPerBTC)
		f[ftOutMax] = float32(float64(outMax) / satPerBTC)
		f[ftOutMean] = float32(mean)
		f[ftOutStd] = float32(math.Sqrt(m2 / float64(n)))
		f[ftOutRoundCount] = float32(round)
		f[ftOutRoundFrac] = float32(round) / float32(n)
		if outTotal > 0 {
			f[ftLargestOutFrac] = float32(float64(outMax) / float64(outTotal))
		}
	}

	// Inputs: script types (from the spent output when known, else from the spending
	// data's shape), values and ages through the lookup.
	known := !coinbase && len(tx.TxIn) > 0
	agesKnown := known && height >= 0
	var inSum amountSum
	var inMax int64
	inMin := int64(math.MaxInt64)
	var ageSum, ageMax int64
	ageMin := int64(math.MaxInt64)
	var inCounts [numScriptClasses]int
	var inScriptsBuf [16][]byte
	inScripts := inScriptsBuf[:0]
	for i, in := range tx.TxIn {
		var prev *wire.TxOut
		prevHeight := int32(-1)
		if !coinbase {
			if src, ok := inBlock[in.PreviousOutPoint.Hash]; ok && int(in.PreviousOutPoint.Index) < len(src.TxOut) {
				prev, prevHeight = src.TxOut[in.PreviousOutPoint.Index], height
			} else if e.lookup != nil {
				o, h, found, err := e.lookup.PrevOutput(ctx, in.PreviousOutPoint)
				if err != nil {
					return dst[:start], fmt.Errorf("bitcoin: feature lookup of %v: %w", in.PreviousOutPoint, err)
				}
				if found && o != nil {
					prev, prevHeight = o, h
				}
			}
		}
		var class scriptClass
		if prev != nil {
			class = classify(prev.PkScript)
			inScripts = append(inScripts, prev.PkScript)
			v := prev.Value
			if err := inSum.add("input", i, v, ErrInvalidTransaction); err != nil {
				return dst[:start], err
			}
			inMax = max(inMax, v)
			inMin = min(inMin, v)
			if prevHeight >= 0 && height >= 0 {
				age := int64(height - prevHeight)
				ageSum += age
				ageMax = max(ageMax, age)
				ageMin = min(ageMin, age)
			} else {
				agesKnown = false
			}
		} else {
			known, agesKnown = false, false
			class = inferInputClass(in)
		}
		inCounts[class]++
		f[ftInP2PKH+inClassSlot(class)]++
	}

	// Change heuristics: outputs of the inputs' dominant script type, and a unique
	// non-round output next to round ones.
	dominant, best := classNonStandard, 0
	for c, n := range inCounts {
		if n > best {
			dominant, best = scriptClass(c), n
		}
	}
	sameType, nonRound := 0, 0
	for _, o := range tx.TxOut {
		if best > 0 && classify(o.PkScript) == dominant {
			sameType++
		}
		if o.Value%RoundAmountSats != 0 {
			nonRound++
		}
	}
	f[ftChangeSameType] = float32(sameType)
	f[ftChangeUniqueNonRound] = b2f(len(tx.TxOut) >= 2 && nonRound == 1)

	inTotal := inSum.total
	if known {
		n := len(tx.TxIn)
		fee := inTotal - outTotal
		if fee < 0 {
			return dst[:start], &AmountError{What: "fee", Index: -1, Value: fee, Err: ErrInvalidTransaction}
		}
		f[ftInputsKnown] = 1
		f[ftInTotal] = float32(float64(inTotal) / satPerBTC)
		f[ftInMin] = float32(float64(inMin) / satPerBTC)
		f[ftInMax] = float32(float64(inMax) / satPerBTC)
		f[ftInMean] = float32(float64(inTotal) / float64(n) / satPerBTC)
		f[ftFee] = float32(float64(fee) / satPerBTC)
		f[ftFeeRate] = float32(float64(fee) / float64(vsize))
		if agesKnown {
			f[ftAgesKnown] = 1
			f[ftAgeMin] = float32(ageMin)
			f[ftAgeMean] = float32(float64(ageSum) / float64(n))
			f[ftAgeMax] = float32(ageMax)
		}
		// Outputs paying back to a script the inputs spend.
		back := 0
		for _, o := range tx.TxOut {
			for _, p := range inScripts {
				if string(p) == string(o.PkScript) {
					back++
					break
				}
			}
		}
		f[ftOutToInputScript] = float32(back)
	}
	if e.lookup != nil {
		reuseKnown := true
		reused := 0
		for _, o := range tx.TxOut {
			if classify(o.PkScript) == classOpReturn {
				continue
			}
			n, ok, err := e.lookup.ScriptUses(ctx, o.PkScript)
			if err != nil {
				return dst[:start], fmt.Errorf("bitcoin: feature lookup of script reuse: %w", err)
			}
			if !ok {
				reuseKnown = false
				break
			}
			if n > 0 {
				reused++
			}
		}
		if reuseKnown {
			f[ftReuseKnown] = 1
			f[ftOutReused] = float32(reused)
		}
	}
	return dst, nil
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// outClassSlot maps a script class to its offset in the out_* features.
func outClassSlot(c scriptClass) int {
	switch c {
	case classP2PKH:
		return 0
	case classP2SH:
		return 1
	case classP2WPKH:
		return 2
	case classP2WSH:
		return 3
	case classP2TR:
		return 4
	case classOpReturn:
		return 5
	}
	return 6
}

// inClassSlot maps a script class to its offset in the in_* features.
func inClassSlot(c scriptClass) int {
	switch c {
	case classP2PKH:
		return 0
	case classP2SH:
		return 1
	case classP2WPKH:
		return 2
	case classP2WSH:
		return 3
	case classP2TR:
		return 4
	}
	return 5
}

// inferInputClass guesses the type of output an input spends from its scriptSig and
// witness alone.
func inferInputClass(in *wire.TxIn) scriptClass {
	ss, wit := in.SignatureScript, in.Witness
	if len(wit) == 0 {
		if len(ss) == 0 {
			return classNonStandard
		}
		// P2PKH: <sig> <pubkey>; the key is the last push (33 or 65 bytes) and ends the script.
		n := len(ss)
		if n >= 34 && (ss[n-34] == 33 && (ss[n-33] == 2 || ss[n-33] == 3) ||
			n >= 66 && ss[n-66] == 65 && ss[n-65] == 4) {
			return classP2PKH
		}
		return classP2SH
	}
	if len(ss) > 0 {
		return classP2SH // nested segwit
	}
	items := len(wit)
	last := wit[items-1]
	if items >= 2 && len(last) > 0 && last[0] == 0x50 { // taproot annex
		items--
		last = wit[items-1]
	}
	switch {
	case items == 1 && (len(wit[0]) == 64 || len(wit[0]) == 65):
		return classP2TR // key path
	case items == 2 && len(last) == 33 && (last[0] == 2 || last[0] == 3) && len(wit[0]) >= 9 && len(wit[0]) <= 73:
		return classP2WPKH
	case items >= 2 && len(last) >= 33 && (len(last)-33)%32 == 0 && last[0]&0xfe == 0xc0:
		return classP2TR // script path: the last item is a control block
	case items >= 2:
		return classP2WSH
	}
	return classNonStandard
}

// Block appends b's feature vector (BlockFeatureSchema) to dst and returns it. height is
// the block's height, used for its subsidy and thus its fee total; pass -1 to read it from
// the coinbase (BIP-34). Per-transaction fee rates come from outputs created in the block
// and from the lookup.
func (e *FeatureExtractor) Block(ctx context.Context, b *wire.MsgBlock, height int32, dst []float32) ([]float32, error) {
	if b == nil || len(b.Transactions) == 0 {
		return dst, fmt.Errorf("%w: block without transactions", ErrInvalidTransaction)
	}
	start := len(dst)
	dst = append(dst, make([]float32, numBlockFeatures)...)
	f := dst[start:]
	f[fbVersion] = float32(b.Header.Version)
	f[fbTime] = float32(b.Header.Timestamp.Unix())
	f[fbTxCount] = float32(len(b.Transactions))
	size, stripped := b.SerializeSize(), b.SerializeSizeStripped()
	f[fbSize] = float32(size)
	f[fbStrippedSize] = float32(stripped)
	f[fbWeight] = float32(stripped*3 + size)
	if height < 0 {
		height = coinbaseHeight(b.Transactions[0])
	}

	inBlock := make(map[chainhash.Hash]*wire.MsgTx, len(b.Transactions))
	for _, tx := range b.Transactions {
		inBlock[tx.TxHash()] = tx
	}
	var outSum amountSum
	var coinbaseOut int64
	var segwit, rbf, opReturn, inputs, outputs int
	var vsizeSum float64
	var vsizeMax int
	var rates []float64
	var txf [numTxFeatures]float32
	for i, tx := range b.Transactions {
		v, err := e.tx(ctx, tx, height, txf[:0], inBlock)
		if err != nil {
			return dst[:start], err
		}
		for _, o := range tx.TxOut {
			// Each transaction's outputs are in range (e.tx checked them); all the coins a
			// block creates cannot exceed the supply either.
			if err := outSum.add("output", -1, o.Value, ErrInvalidTransaction); err != nil {
				return dst[:start], fmt.Errorf("bitcoin: block outputs: %w", err)
			}
			if i == 0 {
				coinbaseOut += o.Value
			}
			if classify(o.PkScript) == classOpReturn {
				opReturn++
			}
		}
		inputs += len(tx.TxIn)
		outputs += len(tx.TxOut)
		segwit += int(v[ftHasWitness])
		rbf += int(v[ftRBF])
		vs := int(v[ftVSize])
		vsizeSum += float64(vs)
		vsizeMax = max(vsizeMax, vs)
		if i > 0 && v[ftInputsKnown] == 1 {
			rates = append(rates, float64(v[ftFeeRate]))
		}
	}
	n := float32(len(b.Transactions))
	f[fbInputs] = float32(inputs)
	f[fbOutputs] = float32(outputs)
	f[fbOutTotal] = float32(float64(outSum.total) / satPerBTC)
	f[fbCoinbaseOut] = float32(float64(coinbaseOut) / satPerBTC)
	if height >= 0 {
		f[fbFeeTotalKnown] = 1
		f[fbFeeTotal] = float32(float64(max(coinbaseOut-subsidy(height, e.network()), 0)) / satPerBTC)
	}
	f[fbSegwitFrac] = float32(segwit) / n
	f[fbRBFFrac] = float32(rbf) / n
	f[fbOpReturnCount] = float32(opReturn)
	f[fbTxVSizeMean] = float32(vsizeSum / float64(n))
	f[fbTxVSizeMax] = float32(vsizeMax)
	if nonCoinbase := len(b.Transactions) - 1; nonCoinbase > 0 && len(rates) > 0 {
		sort.Float64s(rates)
		var sum float64
		for _, r := range rates {
			sum += r
		}
		f[fbFeeRatesKnownFrac] = float32(len(rates)) / float32(nonCoinbase)
		f[fbFeeRateMin] = float32(rates[0])
		f[fbFeeRateMedian] = float32(rates[len(rates)/2])
		f[fbFeeRateMean] = float32(sum / float64(len(rates)))
		f[fbFeeRateMax] = float32(rates[len(rates)-1])
	}
	return dst, nil
}

// coinbaseHeight reads the BIP-34 height from a coinbase scriptSig, -1 when absent.
func coinbaseHeight(cb *wire.MsgTx) int32 {
	if len(cb.TxIn) != 1 {
		return -1
	}
	ss := cb.TxIn[0].SignatureScript
	if len(ss) == 0 {
		return -1
	}
	op := ss[0]
	switch {
	case op >= 0x51 && op <= 0x60: // OP_1..OP_16
		return int32(op - 0x50)
	case op >= 1 && op <= 4 && len(ss) > int(op):
		var h int32
		for i := int(op); i >= 1; i-- {
			h = h<<8 | int32(ss[i])
		}
		return h
	}
	return -1
}

// subsidy returns the block reward at height on net.
func subsidy(height int32, net Network) int64 {
	interval := net.Params().SubsidyReductionInterval
	halvings := int64(height) / int64(interval)
	if halvings >= 64 {
		return 0
	}
	return (50 * satPerBTC) >> halvings
}
