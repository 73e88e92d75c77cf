package bitcoin_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/bitcointest"
)

// Every function that takes options refuses, before doing anything, an option that
// configures another function and an option whose value is out of range, with an
// OptionError naming the option.
func TestOptionErrors(t *testing.T) {
	ctx := context.Background()
	s := bitcointest.NewSim(t)
	key, _ := btcec.NewPrivateKey()
	addr, err := bitcoin.NewP2WPKH(key.PubKey(), bitcoin.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := bitcoin.NewSortedMultisig(1, []*btcec.PublicKey{key.PubKey()}, bitcoin.Regtest)
	if err != nil {
		t.Fatal(err)
	}
	out := []*wire.TxOut{wire.NewTxOut(10_000, addr.PkScript())}
	fns := map[string]func(...bitcoin.Option) error{
		"NewNotifier": func(o ...bitcoin.Option) error {
			n, err := bitcoin.NewNotifier(ctx, s.Chain(), o...)
			if err == nil {
				n.Close()
			}
			return err
		},
		"NewSender": func(o ...bitcoin.Option) error {
			_, err := bitcoin.NewSender(s.Chain(), bitcoin.NewMemSendStore(), o...)
			return err
		},
		"NewFeatureExtractor": func(o ...bitcoin.Option) error { _, err := bitcoin.NewFeatureExtractor(o...); return err },
		"NewTaprootMultisig": func(o ...bitcoin.Option) error {
			_, err := bitcoin.NewTaprootMultisig(1, []*btcec.PublicKey{key.PubKey()}, bitcoin.Regtest, o...)
			return err
		},
		"CreatePSBT":     func(o ...bitcoin.Option) error { _, err := bitcoin.CreatePSBT(out, nil, 1000, addr, o...); return err },
		"EstimateFee":    func(o ...bitcoin.Option) error { _, err := bitcoin.EstimateFee(ctx, s.Chain(), 2, o...); return err },
		"SignMessage":    func(o ...bitcoin.Option) error { _, err := bitcoin.SignMessage(key, addr, "m", o...); return err },
		"NewMessagePSBT": func(o ...bitcoin.Option) error { _, err := bitcoin.NewMessagePSBT(addr, "m", o...); return err },
		"SignMessageMultisig": func(o ...bitcoin.Option) error {
			_, err := bitcoin.SignMessageMultisig([]*btcec.PrivateKey{key}, ms, "m", o...)
			return err
		},
		"VerifyMessage": func(o ...bitcoin.Option) error { _, err := bitcoin.VerifyMessage(ctx, addr, "m", "", o...); return err },
	}
	// One option per function that configures it, and another one it does not take.
	misuse := map[string]struct {
		own, other bitcoin.Option
		otherName  string
	}{
		"NewNotifier":         {bitcoin.WithSafetyLimit(6), bitcoin.WithClock(time.Now), "WithClock"},
		"NewSender":           {bitcoin.WithLogger(slog.New(slog.DiscardHandler)), bitcoin.WithRBF(false), "WithRBF"},
		"NewFeatureExtractor": {bitcoin.WithFeatureNetwork(bitcoin.Regtest), bitcoin.WithLogger(nil), "WithLogger"},
		"NewTaprootMultisig":  {bitcoin.WithMuSig2KeyPath(), bitcoin.WithFeatureLookup(nil), "WithFeatureLookup"},
		"CreatePSBT":          {bitcoin.WithLockTime(5), bitcoin.WithFallbackFeeRate(5000), "WithFallbackFeeRate"},
		"EstimateFee":         {bitcoin.WithFallbackFeeRate(5000), bitcoin.WithMaxFee(1), "WithMaxFee"},
		"SignMessage":         {bitcoin.WithFormat(bitcoin.FormatFull), bitcoin.WithMessageMultisig(ms), "WithMessageMultisig"},
		"NewMessagePSBT":      {bitcoin.WithMessageMultisig(nil), bitcoin.WithFormat(bitcoin.FormatFull), "WithFormat"},
		"SignMessageMultisig": {bitcoin.WithFormat(bitcoin.FormatFull), bitcoin.WithMuSig2KeyPath(), "WithMuSig2KeyPath"},
		"VerifyMessage":       {bitcoin.WithUTXOLookup(nil), bitcoin.WithCheckpoint(bitcoin.BlockStamp{}), "WithCheckpoint"},
	}
	for fn, m := range misuse {
		call := fns[fn]
		err := call(m.own, m.other)
		var oe *bitcoin.OptionError
		if !errors.As(err, &oe) || oe.Option != m.otherName || !strings.Contains(oe.Reason, "does not apply to "+fn) ||
			!errors.Is(err, bitcoin.ErrInvalidOption) {
			t.Errorf("%s with %s: %v", fn, m.otherName, err)
		}
		// Without the stray option, the function's own option is accepted (the call may still
		// fail on its other arguments, never on the option).
		if err := call(m.own); errors.Is(err, bitcoin.ErrInvalidOption) {
			t.Errorf("%s: %v", fn, err)
		}
	}

	outOfRange := []struct {
		fn, option string
		opt        bitcoin.Option
	}{
		{"NewNotifier", "WithSafetyLimit", bitcoin.WithSafetyLimit(bitcoin.MaxSafetyLimit + 1)},
		{"NewNotifier", "WithRetryBackoff", bitcoin.WithRetryBackoff(time.Second, time.Millisecond)},
		{"NewSender", "WithClock", bitcoin.WithClock(nil)},
		{"NewFeatureExtractor", "WithFeatureNetwork", bitcoin.WithFeatureNetwork(0)},
		{"CreatePSBT", "WithMaxFee", bitcoin.WithMaxFee(-1)},
		{"CreatePSBT", "WithMaxFee", bitcoin.WithMaxFee(btcutil.MaxSatoshi + 1)},
		{"CreatePSBT", "WithMaxFeeRate", bitcoin.WithMaxFeeRate(-1)},
		{"EstimateFee", "WithFallbackFeeRate", bitcoin.WithFallbackFeeRate(bitcoin.MinRelayFeeRate - 1)},
		{"SignMessage", "WithFormat", bitcoin.WithFormat(bitcoin.FormatProofOfFunds + 1)},
	}
	for _, c := range outOfRange {
		err := fns[c.fn](c.opt)
		var oe *bitcoin.OptionError
		if !errors.As(err, &oe) || oe.Option != c.option || strings.Contains(oe.Reason, "does not apply") ||
			!errors.Is(err, bitcoin.ErrInvalidArgument) {
			t.Errorf("%s with a bad %s: %v", c.fn, c.option, err)
		}
	}
	// nil options are ignored.
	if _, err := bitcoin.NewFeatureExtractor(nil); err != nil {
		t.Fatal(err)
	}
}

// An option given to a function it does not configure is refused, naming the option.
func ExampleOptionError() {
	_, err := bitcoin.NewFeatureExtractor(bitcoin.WithRBF(false))
	var oe *bitcoin.OptionError
	fmt.Println(errors.As(err, &oe), oe.Option)
	fmt.Println(err)
	// Output:
	// true WithRBF
	// bitcoin: option WithRBF = false: does not apply to NewFeatureExtractor (it configures CreatePSBT)
}
