package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/btcsuite/btcd/btcutil"
)

// bitcoinError gives a bitcoin package error its CLI code.
func bitcoinError(err error) error {
	for _, m := range []struct {
		sentinel error
		code     string
	}{
		{bitcoin.ErrWrongNetwork, "wrong_network"},
		{bitcoin.ErrInvalidAddress, "invalid_address"},
		{bitcoin.ErrInvalidNetwork, "invalid_network"},
		{bitcoin.ErrMalformedSignature, "malformed_signature"},
		{bitcoin.ErrInvalidKey, "invalid_key"},
		{bitcoin.ErrUnsupportedScript, "unsupported_address"},
		{bitcoin.ErrAddressNoKey, "unsupported_address"},
		{bitcoin.ErrInvalidTransaction, "invalid_transaction"},
		{bitcoin.ErrInvalidPSBT, "invalid_psbt"},
		{bitcoin.ErrPSBTMismatch, "psbt_mismatch"},
		{bitcoin.ErrPSBTIncomplete, "psbt_incomplete"},
		{bitcoin.ErrSignerCheck, "signer_check"},
		{bitcoin.ErrInvalidMultisig, "invalid_multisig"},
		{bitcoin.ErrInsufficientFunds, "insufficient_funds"},
		{bitcoin.ErrDustOutput, "dust_output"},
		{bitcoin.ErrFeeTooHigh, "fee_too_high"},
		{bitcoin.ErrRejected, "rejected"},
		{bitcoin.ErrDisconnected, "unreachable"},
	} {
		if errors.Is(err, m.sentinel) {
			return &cliError{Code: m.code, Err: err}
		}
	}
	return err
}

// address decodes addr, for network when one is named, else for the network its encoding
// belongs to.
func address(addr, network string) (bitcoin.Address, error) {
	if network == "" {
		a, err := bitcoin.DecodeAddress(addr)
		return a, bitcoinError(err)
	}
	net, err := bitcoin.ParseNetwork(network)
	if err != nil {
		return bitcoin.Address{}, bitcoinError(err)
	}
	a, err := bitcoin.ParseAddress(addr, net)
	return a, bitcoinError(err)
}

// readWIF reads a private key in WIF from its secret flags; net, when valid, is the network
// the key must be for.
func readWIF(e *env, s *secret, net bitcoin.Network) (*btcutil.WIF, error) {
	raw, err := s.read(e)
	if err != nil {
		return nil, err
	}
	key, err := btcutil.DecodeWIF(strings.TrimSpace(string(raw)))
	if err != nil {
		// The key's text is never repeated in an error.
		return nil, &cliError{Code: "invalid_key", Err: errors.New("bitcoin: invalid WIF private key")}
	}
	if net.Valid() && !key.IsForNet(net.Params()) {
		return nil, &cliError{Code: "wrong_network", Err: fmt.Errorf("bitcoin: the WIF key is not a %s key", net)}
	}
	return key, nil
}

func runMessageSign(_ context.Context, e *env, args []string) error {
	fs := newFlags("message sign")
	wif := addSecret(fs, "wif", inWIF, false, "the private key in WIF")
	addr := fs.String("address", "", "the address (`ADDR`) to sign for")
	msg := fs.String("message", "", "the message (`MSG`) to sign")
	format := fs.String("format", "", "the signature format, `simple|full|legacy` (default: simple for native segwit, full otherwise)")
	network := fs.String("network", "", "the network `N`: mainnet, testnet, signet or regtest (default: the address's)")
	if err := noArgs(fs, args, "address", "message"); err != nil {
		return err
	}
	if _, err := e.read(inMessage, *msg); err != nil {
		return err
	}
	a, err := address(*addr, *network)
	if err != nil {
		return err
	}
	key, err := readWIF(e, wif, 0)
	if err != nil {
		return err
	}
	if !key.IsForNet(a.Network().Params()) {
		return &cliError{Code: "wrong_network", Err: errors.New("bitcoin: the WIF key is for another network than the address")}
	}
	var opts []bitcoin.Option
	if *format != "" {
		f, err := bitcoin.ParseMessageFormat(*format)
		if err != nil || f == bitcoin.FormatProofOfFunds {
			return usageError("message sign: --format must be simple, full or legacy")
		}
		opts = append(opts, bitcoin.WithFormat(f))
	}
	sig, err := bitcoin.SignMessage(key.PrivKey, a, *msg, opts...)
	if err != nil {
		return bitcoinError(err)
	}
	return writeJSON(e.stdout, struct {
		Signature string `json:"signature"`
	}{sig})
}

func runMessageVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags("message verify")
	addr := fs.String("address", "", "the address (`ADDR`) the message was signed for")
	msg := fs.String("message", "", "the message (`MSG`)")
	sig := fs.String("signature", "", "the signature (`SIG`; or @FILE, or - for standard input)")
	network := fs.String("network", "", "the network `N`: mainnet, testnet, signet or regtest (default: the address's)")
	if err := noArgs(fs, args, "address", "message", "signature"); err != nil {
		return err
	}
	if _, err := e.read(inMessage, *msg); err != nil {
		return err
	}
	sigText, err := e.read(inSignature, *sig)
	if err != nil {
		return err
	}
	a, err := address(*addr, *network)
	if err != nil {
		return err
	}
	v, err := bitcoin.VerifyMessage(ctx, a, *msg, strings.TrimSpace(string(sigText)))
	if err != nil {
		return bitcoinError(err)
	}
	return writeJSON(e.stdout, struct {
		Result string `json:"result"`
		Format string `json:"format"`
		Reason string `json:"reason"`
	}{v.Result.String(), v.Format.String(), v.Reason})
}
