package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	sdk "github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
)

// psbtMagic starts every PSBT, in binary.
var psbtMagic = []byte("psbt\xff")

// readPSBT reads a PSBT given as arg (the value, @FILE or -) in base64, hex or, from a file or
// standard input, binary, and parses it strictly.
func readPSBT(e *env, arg string) (*bitcoin.PSBT, error) {
	raw, err := e.read(inPSBT, arg)
	if err != nil {
		return nil, err
	}
	var b []byte
	switch text := bytes.TrimSpace(raw); {
	case bytes.HasPrefix(raw, psbtMagic):
		b = raw
	case bytes.HasPrefix(text, []byte("cHNidP8")): // "psbt\xff" in base64
		b, err = base64.StdEncoding.Strict().DecodeString(string(text))
	default:
		b, err = hex.DecodeString(string(text))
	}
	if err != nil {
		return nil, &cliError{Code: "invalid_psbt", Err: fmt.Errorf("%w: PSBT: not base64, hex or binary: %v", bitcoin.ErrInvalidPSBT, err)}
	}
	p, err := bitcoin.ParsePSBT(b)
	if err != nil {
		return nil, bitcoinError(err)
	}
	return p, nil
}

// psbtOut is what the PSBT commands print.
type psbtOut struct {
	PSBT     string `json:"psbt"` // base64
	Complete bool   `json:"complete"`
	Signed   *int   `json:"signed,omitempty"` // psbt sign: the signatures added
	FeeSat   *int64 `json:"fee_sat,omitempty"`
	TxID     string `json:"txid"` // of the unsigned transaction (the final one's, for segwit)
	Tx       string `json:"tx,omitempty"`
}

func psbtResult(p *bitcoin.PSBT) psbtOut {
	out := psbtOut{PSBT: p.Base64(), Complete: p.IsComplete(), TxID: p.UnsignedTx().TxHash().String()}
	if fee, err := p.Fee(); err == nil {
		f := int64(fee)
		out.FeeSat = &f
	}
	return out
}

// parseCoin reads --coin TXID:VOUT:SAT:ADDR[:SCRIPT].
func parseCoin(e *env, s string, net bitcoin.Network) (bitcoin.Coin, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 4 || len(parts) > 5 {
		return bitcoin.Coin{}, usageError("--coin %q: want TXID:VOUT:SAT:ADDR[:SCRIPT]", clip(s))
	}
	txid, err := chainhash.NewHashFromStr(parts[0])
	if err != nil {
		return bitcoin.Coin{}, usageError("--coin %q: txid: %v", clip(s), err)
	}
	vout, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return bitcoin.Coin{}, usageError("--coin %q: output index: %v", clip(s), err)
	}
	sat, err := amount(parts[2])
	if err != nil {
		return bitcoin.Coin{}, usageError("--coin %q: %v", clip(s), err)
	}
	a, err := bitcoin.ParseAddress(parts[3], net)
	if err != nil {
		return bitcoin.Coin{}, bitcoinError(err)
	}
	c := bitcoin.Coin{OutPoint: wire.OutPoint{Hash: *txid, Index: uint32(vout)}, Value: sat, PkScript: a.PkScript()}
	if len(parts) == 5 {
		script, err := hexInput(e, "coin", parts[4])
		if err != nil {
			return bitcoin.Coin{}, err
		}
		switch a.Type() {
		case bitcoin.P2WSH:
			c.WitnessScript = script
		case bitcoin.P2SH:
			c.RedeemScript = script
		default:
			return bitcoin.Coin{}, usageError("--coin %q: a script goes with a p2wsh or p2sh address only", clip(s))
		}
	}
	return c, nil
}

// amount reads a positive amount of satoshis.
func amount(s string) (btcutil.Amount, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > btcutil.MaxSatoshi {
		return 0, fmt.Errorf("amount %q: want satoshis, 1 to %d", s, int64(btcutil.MaxSatoshi))
	}
	return btcutil.Amount(n), nil
}

func runPSBTCreate(_ context.Context, e *env, args []string) error {
	fs := newFlags("psbt create")
	coins := listFlag(fs, "coin", "a coin to choose from, `TXID:VOUT:SAT:ADDR[:SCRIPT]` (SCRIPT: the witness script of a p2wsh coin, the redeem script of a p2sh one); repeat for each")
	outs := listFlag(fs, "to", "an output, `ADDR:SAT`; repeat for each")
	change := fs.String("change", "", "the change `ADDR`ess")
	feeRate := fs.Float64("fee-rate", float64(sdk.DefaultFeeRate)/1000, "the fee rate in `SAT_VB` (satoshis per virtual byte)")
	lockTime := fs.Uint("locktime", 0, "the transaction's lock time `N`")
	rbf := fs.Bool("rbf", bitcoin.DefaultRBF, "signal replaceability (BIP-125)")
	netName := fs.String("network", "", networkUsage+" (default: the change address's)")
	if err := noArgs(fs, args, "change"); err != nil {
		return err
	}
	if len(*coins) == 0 || len(*outs) == 0 {
		return usageError("psbt create: give at least one --coin and one --to")
	}
	if math.IsNaN(*feeRate) || *feeRate < float64(bitcoin.MinRelayFeeRate)/1000 || *feeRate > 1e6 {
		return usageError("psbt create: --fee-rate %v: want %v to 1000000 sat/vB", *feeRate, float64(bitcoin.MinRelayFeeRate)/1000)
	}
	if *lockTime > math.MaxUint32 {
		return usageError("psbt create: --locktime %d does not fit 32 bits", *lockTime)
	}
	changeAddr, err := address(*change, *netName)
	if err != nil {
		return err
	}
	net := changeAddr.Network()
	var candidates []bitcoin.Coin
	for _, s := range *coins {
		c, err := parseCoin(e, s, net)
		if err != nil {
			return err
		}
		candidates = append(candidates, c)
	}
	var outputs []*wire.TxOut
	for _, s := range *outs {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			return usageError("--to %q: want ADDR:SAT", clip(s))
		}
		a, err := bitcoin.ParseAddress(s[:i], net)
		if err != nil {
			return bitcoinError(err)
		}
		sat, err := amount(s[i+1:])
		if err != nil {
			return usageError("--to %q: %v", clip(s), err)
		}
		outputs = append(outputs, wire.NewTxOut(int64(sat), a.PkScript()))
	}
	p, err := bitcoin.CreatePSBT(outputs, candidates, bitcoin.FeeRate(math.Round(*feeRate*1000)), changeAddr,
		bitcoin.WithLockTime(uint32(*lockTime)), bitcoin.WithRBF(*rbf))
	if err != nil {
		return bitcoinError(err)
	}
	return writeJSON(e.stdout, psbtResult(p))
}

func runPSBTSign(_ context.Context, e *env, args []string) error {
	fs := newFlags("psbt sign")
	wif := addSecret(fs, "wif", inWIF, false, "the signing key in WIF")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("psbt sign: want one PSBT (or @FILE, or - for standard input), got %d arguments", len(pos))
	}
	p, err := readPSBT(e, pos[0])
	if err != nil {
		return err
	}
	key, err := readWIF(e, wif, 0)
	if err != nil {
		return err
	}
	n, err := p.Sign(key.PrivKey)
	if err != nil {
		return bitcoinError(err)
	}
	if n == 0 {
		return &cliError{Code: "not_signed", Err: errors.New("psbt sign: the key signs none of the PSBT's inputs (not its key, or signed already)")}
	}
	out := psbtResult(p)
	out.Signed = &n
	return writeJSON(e.stdout, out)
}

func runPSBTCombine(_ context.Context, e *env, args []string) error {
	fs := newFlags("psbt combine")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usageError("psbt combine: want two PSBTs or more, got %d", len(pos))
	}
	var ps []*bitcoin.PSBT
	for _, arg := range pos {
		p, err := readPSBT(e, arg)
		if err != nil {
			return err
		}
		ps = append(ps, p)
	}
	if err := ps[0].Combine(ps[1:]...); err != nil {
		return bitcoinError(err)
	}
	return writeJSON(e.stdout, psbtResult(ps[0]))
}

func runPSBTFinalize(_ context.Context, e *env, args []string) error {
	fs := newFlags("psbt finalize")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("psbt finalize: want one PSBT (or @FILE, or - for standard input), got %d arguments", len(pos))
	}
	p, err := readPSBT(e, pos[0])
	if err != nil {
		return err
	}
	if !p.IsComplete() {
		if err := p.Finalize(); err != nil {
			return bitcoinError(err)
		}
	}
	tx, err := p.Extract()
	if err != nil {
		return bitcoinError(err)
	}
	var raw bytes.Buffer
	if err := tx.Serialize(&raw); err != nil {
		return err
	}
	out := psbtResult(p)
	out.TxID, out.Tx = tx.TxHash().String(), hex.EncodeToString(raw.Bytes())
	return writeJSON(e.stdout, out)
}

// psbtInput and psbtOutput describe a PSBT's inputs and outputs.
type psbtInput struct {
	OutPoint    string       `json:"outpoint"`
	Sequence    uint32       `json:"sequence"`
	ValueSat    *int64       `json:"value_sat,omitempty"`
	Address     *addressJSON `json:"address,omitempty"`
	PartialSigs int          `json:"partial_sigs"`
	TaprootSigs int          `json:"taproot_sigs"`
	Final       bool         `json:"final"`
}

type psbtOutput struct {
	ValueSat  int64  `json:"value_sat"`
	Address   string `json:"address,omitempty"`
	Script    string `json:"script"`
	ScriptAsm string `json:"script_asm"`
}

func runPSBTDecode(_ context.Context, e *env, args []string) error {
	fs := newFlags("psbt decode")
	netName := fs.String("network", "", networkUsage+": the network of the addresses shown (default mainnet)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("psbt decode: want one PSBT (or @FILE, or - for standard input), got %d arguments", len(pos))
	}
	net, err := network(*netName, bitcoin.Mainnet)
	if err != nil {
		return err
	}
	p, err := readPSBT(e, pos[0])
	if err != nil {
		return err
	}
	// The PSBT parsed strictly above; btcd's reader gives its fields.
	pkt, err := psbt.NewFromRawBytes(bytes.NewReader(p.Bytes()), false)
	if err != nil {
		return &cliError{Code: "invalid_psbt", Err: err}
	}
	tx := p.UnsignedTx()
	ins := make([]psbtInput, len(tx.TxIn))
	for i, in := range tx.TxIn {
		pi := pkt.Inputs[i]
		d := psbtInput{OutPoint: in.PreviousOutPoint.String(), Sequence: in.Sequence, PartialSigs: len(pi.PartialSigs),
			TaprootSigs: len(pi.TaprootScriptSpendSig), Final: len(pi.FinalScriptSig) > 0 || len(pi.FinalScriptWitness) > 0}
		if len(pi.TaprootKeySpendSig) > 0 {
			d.TaprootSigs++
		}
		var prev *wire.TxOut
		switch {
		case pi.WitnessUtxo != nil:
			prev = pi.WitnessUtxo
		case pi.NonWitnessUtxo != nil && int(in.PreviousOutPoint.Index) < len(pi.NonWitnessUtxo.TxOut):
			prev = pi.NonWitnessUtxo.TxOut[in.PreviousOutPoint.Index]
		}
		if prev != nil {
			v := prev.Value
			d.ValueSat = &v
			if a, err := bitcoin.AddressFromScript(prev.PkScript, net); err == nil {
				da := describeAddress(a)
				d.Address = &da
			}
		}
		ins[i] = d
	}
	outs := make([]psbtOutput, len(tx.TxOut))
	for i, o := range tx.TxOut {
		d := psbtOutput{ValueSat: o.Value, Script: hex.EncodeToString(o.PkScript), ScriptAsm: disasm(o.PkScript)}
		if a, err := bitcoin.AddressFromScript(o.PkScript, net); err == nil {
			d.Address = a.String()
		}
		outs[i] = d
	}
	out := struct {
		psbtOut
		Version  int32        `json:"version"`
		LockTime uint32       `json:"locktime"`
		RBF      bool         `json:"rbf"`
		Inputs   []psbtInput  `json:"inputs"`
		Outputs  []psbtOutput `json:"outputs"`
	}{psbtResult(p), tx.Version, tx.LockTime, p.SignalsRBF(), ins, outs}
	return writeJSON(e.stdout, out)
}
