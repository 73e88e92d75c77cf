package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/txscript"

	"github.com/anya-org/anya-go/bitcoin"
)

// networkUsage is the usage of --network where it picks the network of what is built.
const networkUsage = "mainnet, testnet, signet or regtest (`N`)"

// addressJSON describes an address.
type addressJSON struct {
	Address        string   `json:"address"`
	Network        string   `json:"network"`
	Networks       []string `json:"networks"` // every network whose addresses are written this way
	Type           string   `json:"type"`
	WitnessVersion *int     `json:"witness_version,omitempty"`
	Program        string   `json:"program"`
	Script         string   `json:"script"`
	ScriptAsm      string   `json:"script_asm"`
}

func describeAddress(a bitcoin.Address) addressJSON {
	script := a.PkScript()
	out := addressJSON{Address: a.String(), Network: a.Network().String(), Networks: []string{}, Type: a.Type().String(),
		Program: hex.EncodeToString(a.Program()), Script: hex.EncodeToString(script), ScriptAsm: disasm(script)}
	switch a.Type() {
	case bitcoin.P2WPKH, bitcoin.P2WSH, bitcoin.P2TR, bitcoin.WitnessUnknown:
		v := a.WitnessVersion()
		out.WitnessVersion = &v
	}
	for _, n := range bitcoin.Networks() {
		if _, err := bitcoin.ParseAddress(a.String(), n); err == nil {
			out.Networks = append(out.Networks, n.String())
		}
	}
	return out
}

func disasm(script []byte) string {
	s, err := txscript.DisasmString(script)
	if err != nil {
		return s + " [error: " + err.Error() + "]"
	}
	return s
}

// network reads a --network value; def is the network when none is given.
func network(s string, def bitcoin.Network) (bitcoin.Network, error) {
	if s == "" {
		return def, nil
	}
	n, err := bitcoin.ParseNetwork(s)
	if err != nil {
		return 0, bitcoinError(err)
	}
	return n, nil
}

func runAddressDecode(_ context.Context, e *env, args []string) error {
	fs := newFlags("address decode")
	net := fs.String("network", "", networkUsage+": read the address as one of this network (default: the network its encoding names; testnet for the encodings testnet and signet share)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("address decode: want one address, got %d arguments", len(pos))
	}
	a, err := address(strings.TrimSpace(pos[0]), *net)
	if err != nil {
		return err
	}
	return writeJSON(e.stdout, describeAddress(a))
}

// hexInput reads a hex argument (a script or a key) within the script limit.
func hexInput(e *env, flagName, s string) ([]byte, error) {
	if _, err := e.read(inScript, s); err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, &cliError{Code: "invalid_hex", Err: fmt.Errorf("--%s: %v", flagName, err)}
	}
	return b, nil
}

// parsePubKey reads a public key in hex: compressed (33 bytes), uncompressed (65) or, where
// xOnly, BIP-340 x-only (32).
func parsePubKey(e *env, s string, xOnly bool) (*btcec.PublicKey, error) {
	b, err := hexInput(e, "pubkey", s)
	if err != nil {
		return nil, err
	}
	var pub *btcec.PublicKey
	if xOnly && len(b) == schnorr.PubKeyBytesLen {
		pub, err = schnorr.ParsePubKey(b)
	} else {
		pub, err = btcec.ParsePubKey(b)
	}
	if err != nil {
		return nil, &cliError{Code: "invalid_key", Err: fmt.Errorf("%w: public key %s: %v", bitcoin.ErrInvalidKey, clip(s), err)}
	}
	return pub, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func runAddressEncode(_ context.Context, e *env, args []string) error {
	fs := newFlags("address encode")
	script := fs.String("script", "", "the output script (`SCRIPT`, hex) the address pays to")
	pubkey := fs.String("pubkey", "", "a public key (`HEX`: 33 or 65 bytes; 32-byte x-only for p2tr)")
	typ := fs.String("type", "p2wpkh", "with --pubkey, the address type `p2pkh|p2wpkh|p2sh-p2wpkh|p2tr` (p2tr: BIP-86 key path)")
	witness := fs.String("witness-script", "", "a witness script (`SCRIPT`, hex): its P2WSH address")
	redeem := fs.String("redeem-script", "", "a redeem script (`SCRIPT`, hex): its P2SH address")
	netName := fs.String("network", "", networkUsage+" (default mainnet)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	given := 0
	for _, v := range []string{*script, *pubkey, *witness, *redeem} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return usageError("address encode: give one of --script, --pubkey, --witness-script and --redeem-script")
	}
	net, err := network(*netName, bitcoin.Mainnet)
	if err != nil {
		return err
	}
	var a bitcoin.Address
	switch {
	case *script != "":
		b, err := hexInput(e, "script", *script)
		if err != nil {
			return err
		}
		a, err = bitcoin.AddressFromScript(b, net)
		if err != nil {
			return bitcoinError(err)
		}
	case *pubkey != "":
		pub, err := parsePubKey(e, *pubkey, *typ == "p2tr")
		if err != nil {
			return err
		}
		switch *typ {
		case "p2pkh":
			a, err = bitcoin.NewP2PKH(pub, net)
		case "p2wpkh":
			a, err = bitcoin.NewP2WPKH(pub, net)
		case "p2sh-p2wpkh":
			a, err = bitcoin.NewP2SHP2WPKH(pub, net)
		case "p2tr":
			a, err = bitcoin.NewP2TR(pub, nil, net)
		default:
			return usageError("address encode: --type must be p2pkh, p2wpkh, p2sh-p2wpkh or p2tr, not %q", *typ)
		}
		if err != nil {
			return bitcoinError(err)
		}
	case *witness != "":
		b, err := hexInput(e, "witness-script", *witness)
		if err != nil {
			return err
		}
		if a, err = bitcoin.NewP2WSH(b, net); err != nil {
			return bitcoinError(err)
		}
	default:
		b, err := hexInput(e, "redeem-script", *redeem)
		if err != nil {
			return err
		}
		if a, err = bitcoin.NewP2SH(b, net); err != nil {
			return bitcoinError(err)
		}
	}
	return writeJSON(e.stdout, describeAddress(a))
}

// multisigJSON describes a multisig.
type multisigJSON struct {
	Kind         string      `json:"kind"`
	Threshold    int         `json:"threshold"`
	Keys         []string    `json:"keys"` // in script (or aggregation) order
	Address      addressJSON `json:"address"`
	Witness      string      `json:"witness_script,omitempty"`
	WitnessAsm   string      `json:"witness_script_asm,omitempty"`
	InternalKey  string      `json:"internal_key,omitempty"`
	Leaf         string      `json:"leaf_script,omitempty"`
	LeafAsm      string      `json:"leaf_script_asm,omitempty"`
	ControlBlock string      `json:"control_block,omitempty"`
}

func runMultisigCreate(_ context.Context, e *env, args []string) error {
	fs := newFlags("multisig create")
	k := fs.Int("threshold", 0, "how many signatures (`K`) spend; musig2: all of them")
	keys := listFlag(fs, "pubkey", "a participant's public key (`HEX`, compressed); repeat for each")
	kind := fs.String("kind", "p2wsh", "the kind, `p2wsh|taproot|musig2`: sorted OP_CHECKMULTISIG, one OP_CHECKSIGADD leaf, or an n-of-n MuSig2 taproot key path")
	keyPath := fs.Bool("musig2-keypath", false, "taproot: let all n signers together also spend through the MuSig2 key path")
	netName := fs.String("network", "", networkUsage+" (default mainnet)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if len(*keys) == 0 {
		return usageError("multisig create: give the keys with --pubkey, once for each")
	}
	if *kind != "musig2" && !flagSet(fs, "threshold") {
		return usageError("multisig create: --threshold is required")
	}
	net, err := network(*netName, bitcoin.Mainnet)
	if err != nil {
		return err
	}
	pubs := make([]*btcec.PublicKey, len(*keys))
	for i, s := range *keys {
		if pubs[i], err = parsePubKey(e, s, false); err != nil {
			return err
		}
	}
	var m *bitcoin.Multisig
	switch *kind {
	case "p2wsh":
		m, err = bitcoin.NewSortedMultisig(*k, pubs, net)
	case "taproot":
		var opts []bitcoin.Option
		if *keyPath {
			opts = append(opts, bitcoin.WithMuSig2KeyPath())
		}
		m, err = bitcoin.NewTaprootMultisig(*k, pubs, net, opts...)
	case "musig2":
		if flagSet(fs, "threshold") && *k != len(pubs) {
			return usageError("multisig create: a musig2 key path is %d-of-%d; --threshold %d cannot be met", len(pubs), len(pubs), *k)
		}
		m, err = bitcoin.NewMuSig2Multisig(pubs, net)
	default:
		return usageError("multisig create: --kind must be p2wsh, taproot or musig2, not %q", *kind)
	}
	if err != nil {
		if errors.Is(err, bitcoin.ErrInvalidMultisig) {
			return &cliError{Code: "invalid_multisig", Err: err}
		}
		return bitcoinError(err)
	}
	out := multisigJSON{Kind: m.Kind().String(), Threshold: m.Threshold(), Address: describeAddress(m.Address())}
	for _, p := range m.Keys() {
		out.Keys = append(out.Keys, hex.EncodeToString(p.SerializeCompressed()))
	}
	if w := m.WitnessScript(); len(w) > 0 {
		out.Witness, out.WitnessAsm = hex.EncodeToString(w), disasm(w)
	}
	if ik := m.InternalKey(); ik != nil {
		out.InternalKey = hex.EncodeToString(schnorr.SerializePubKey(ik))
	}
	if l := m.LeafScript(); len(l) > 0 {
		out.Leaf, out.LeafAsm = hex.EncodeToString(l), disasm(l)
		out.ControlBlock = hex.EncodeToString(m.ControlBlock())
	}
	return writeJSON(e.stdout, out)
}
