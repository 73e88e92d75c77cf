package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge/monitor"
	"github.com/anya-org/anya-go/ml"
	"github.com/anya-org/anya-go/models"
)

// blockScoreJSON is what score block prints.
type blockScoreJSON struct {
	Block        string  `json:"block"`
	Height       *int32  `json:"height,omitempty"` // from the coinbase (BIP-34), when it has one
	Transactions int     `json:"transactions"`
	Scored       int     `json:"scored"` // every transaction but the coinbase
	Alerts       int     `json:"alerts"`
	Threshold    float64 `json:"threshold"`
	Clamped      int     `json:"clamped"` // transactions with a feature outside the model's range
	Model        string  `json:"model"`
	Backend      string  `json:"backend"`
	// LatencyUS is the time to score one transaction — its features, its vector and the
	// model — in microseconds.
	LatencyUS latencyJSON  `json:"latency_us"`
	ElapsedMS float64      `json:"elapsed_ms"`
	Scores    []txRiskJSON `json:"scores,omitempty"` // with --all, in block order
}

type latencyJSON struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type txRiskJSON struct {
	Txid    string   `json:"txid"`
	Risk    float64  `json:"risk"`
	Alert   bool     `json:"alert"`
	Clamped []string `json:"clamped,omitempty"`
}

// readBlock reads BLOCK: a file name, @FILE, - or the block in hex; a file or standard input
// holds the block in binary or in hex.
func readBlock(e *env, arg string) (*wire.MsgBlock, error) {
	var text []byte
	var err error
	switch {
	case arg == "-" || strings.HasPrefix(arg, "@"):
		text, err = e.read(inBlock, arg)
	case len(arg) > maxBlock || hexDigits(arg):
		text, err = e.read(inBlock, arg) // refused when over the limit
	default:
		text, err = e.readFile(inBlock, arg)
	}
	if err != nil {
		return nil, err
	}
	raw := text
	if t := bytes.TrimSpace(text); hexDigits(string(t)) {
		if raw, err = hex.DecodeString(string(t)); err != nil {
			return nil, &cliError{Code: "invalid_hex", Err: fmt.Errorf("BLOCK: %v", err)}
		}
	}
	var b wire.MsgBlock
	r := bytes.NewReader(raw)
	if err := b.Deserialize(r); err != nil || r.Len() != 0 {
		if err == nil {
			err = fmt.Errorf("%d trailing bytes", r.Len())
		}
		return nil, &cliError{Code: "invalid_block", Err: fmt.Errorf("BLOCK: %v", err)}
	}
	if len(b.Transactions) == 0 {
		return nil, &cliError{Code: "invalid_block", Err: fmt.Errorf("BLOCK: no transactions")}
	}
	if err := bitcoin.CheckBlockAmounts(&b); err != nil {
		return nil, &cliError{Code: "invalid_block", Err: fmt.Errorf("BLOCK: %w", err)}
	}
	return &b, nil
}

// hexDigits reports whether s is made of hex digits only (and is not empty).
func hexDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// bip34Height reads the height a coinbase's script starts with (BIP-34), if it does.
func bip34Height(cb *wire.MsgTx) (int32, bool) {
	if len(cb.TxIn) != 1 {
		return 0, false
	}
	s := cb.TxIn[0].SignatureScript
	if len(s) < 2 || s[0] < 1 || s[0] > 4 || len(s) < int(s[0])+1 {
		return 0, false
	}
	var h int64
	for i := int(s[0]); i >= 1; i-- {
		h = h<<8 | int64(s[i])
	}
	if h > math.MaxInt32 || s[s[0]]&0x80 != 0 {
		return 0, false
	}
	return int32(h), true
}

// runScoreBlock scores every transaction of a block (the coinbase excepted) with the fraud
// model, each on its own, as the fraud monitor builds its vectors: the outputs a transaction
// spends are known when a transaction of the same block created them; senders are unknown.
func runScoreBlock(ctx context.Context, e *env, args []string) error {
	flags := newFlags("score block")
	backend := flags.String("backend", "ort", "the backend, `ort|go`: ONNX Runtime (install it with anya setup first) or the pure-Go evaluator")
	all := flags.Bool("all", false, "print every transaction's score, in block order")
	dir := flags.String("dir", "", "the registry directory (`DIR`; default ./models when it holds the model, else the models built into anya)")
	pos, err := parse(flags, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("score block: want exactly one argument, the block: a file, @FILE, - for standard input (binary or hex), or hex")
	}
	blk, err := readBlock(e, pos[0])
	if err != nil {
		return err
	}
	m, err := loadModel(ctx, models.Fraud, *dir)
	if err != nil {
		return err
	}
	opts := []ml.Option{ml.WithWorkers(1)}
	switch *backend {
	case "ort":
	case "go":
		opts = append(opts, ml.WithBackend(ml.NewGoBackend()))
	default:
		return usageError("score block: backend %q: want ort or go", *backend)
	}
	eng, err := ml.NewEngine(m, opts...)
	if err != nil {
		return &cliError{Code: "backend", Err: err}
	}
	defer eng.Close()
	vz, err := monitor.NewVectorizer(m.Schema())
	if err != nil {
		return &cliError{Code: "model", Err: err}
	}
	height := int32(-1)
	out := blockScoreJSON{Block: blk.BlockHash().String(), Transactions: len(blk.Transactions), Threshold: monitor.DefaultThreshold,
		Model: m.ID(), Backend: eng.Backend()}
	if h, ok := bip34Height(blk.Transactions[0]); ok {
		height, out.Height = h, &h
	}
	fx, err := bitcoin.NewFeatureExtractor(bitcoin.WithFeatureLookup(monitor.BlockLookup(blk, height, nil)))
	if err != nil {
		return err
	}
	lat := make([]time.Duration, 0, len(blk.Transactions)-1)
	buf := make([]float32, 0, len(bitcoin.TxFeatureSchema().Names))
	start := time.Now()
	for _, tx := range blk.Transactions[1:] {
		t0 := time.Now()
		vals, err := fx.Tx(ctx, tx, height, buf[:0])
		if err != nil {
			return bitcoinError(fmt.Errorf("transaction %s: %w", tx.TxHash(), err))
		}
		v, clamped, err := vz.Vector(vals, nil)
		if err != nil {
			return &cliError{Code: "invalid_features", Err: err}
		}
		r, err := eng.Score(ctx, v)
		if err != nil {
			if ctx.Err() != nil {
				return &cliError{Code: "canceled", Err: ctx.Err()}
			}
			return &cliError{Code: "score", Err: err}
		}
		lat = append(lat, time.Since(t0))
		risk := round6(r.Score)
		alert := float64(r.Score) >= out.Threshold
		out.Scored++
		if alert {
			out.Alerts++
		}
		if clamped != nil {
			out.Clamped++
		}
		if *all {
			out.Scores = append(out.Scores, txRiskJSON{Txid: tx.TxHash().String(), Risk: risk, Alert: alert, Clamped: clamped})
		}
	}
	out.ElapsedMS = math.Round(float64(time.Since(start).Microseconds())) / 1000
	if len(lat) > 0 {
		slices.Sort(lat)
		us := func(d time.Duration) float64 { return math.Round(float64(d.Nanoseconds())/10) / 100 }
		out.LatencyUS = latencyJSON{P50: us(lat[len(lat)/2]), P99: us(lat[(len(lat)*99)/100]), Max: us(lat[len(lat)-1])}
	}
	return writeJSON(e.stdout, out)
}
