package bitcoin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bitcoin/internal/zerotest"
)

// wantNotConstructed fails unless err is a NotConstructedError naming constructor.
func wantNotConstructed(t *testing.T, what string, err error, constructor string) {
	t.Helper()
	var nc *bitcoin.NotConstructedError
	if !errors.As(err, &nc) || !errors.Is(err, bitcoin.ErrNotConstructed) || !strings.Contains(nc.Constructor, constructor) ||
		!strings.Contains(err.Error(), constructor) {
		t.Errorf("%s: err = %v, want a NotConstructedError naming %s", what, err, constructor)
	}
}

// Every exported method of the zero value of every exported type returns without panicking;
// the types that need their constructor say which one in every error they return.
func TestZeroValuesNeverPanic(t *testing.T) {
	needConstructor := map[string]struct {
		v           any
		constructor string
		works       []string // methods that succeed on a zero value
	}{
		"Notifier":      {&bitcoin.Notifier{}, "NewNotifier", []string{"Close"}},
		"Sender":        {&bitcoin.Sender{}, "NewSender", nil},
		"HDKey":         {&bitcoin.HDKey{}, "NewMasterKey", nil},
		"Multisig":      {&bitcoin.Multisig{}, "NewSortedMultisig", nil},
		"MuSig2Session": {&bitcoin.MuSig2Session{}, "NewMuSig2Session", nil},
		"PSBT":          {&bitcoin.PSBT{}, "NewPSBT", nil},
		"ConfReg":       {&bitcoin.Registration[bitcoin.ConfEvent]{}, "RegisterConf", nil},
		"SpendReg":      {&bitcoin.Registration[bitcoin.SpendEvent]{}, "RegisterSpend", nil},
		"MempoolReg":    {&bitcoin.Registration[bitcoin.MempoolTx]{}, "WatchMempool", nil},
		"BlockReg":      {&bitcoin.Registration[bitcoin.BlockEvent]{}, "SubscribeBlocks", nil},
	}
	for name, c := range needConstructor {
		t.Run(name, func(t *testing.T) {
			for _, r := range zerotest.Call(t, c.v) {
				err := r.Err()
				if err == nil {
					continue
				}
				if contains(c.works, r.Method) {
					t.Errorf("%s: %v", r.Method, err)
					continue
				}
				wantNotConstructed(t, r.Method, err, c.constructor)
			}
		})
	}

	// These work as zero values (or are plain data): calling their methods with zero
	// arguments may fail on the arguments, but never panics.
	for _, v := range []any{
		&bitcoin.FeatureExtractor{}, &bitcoin.MemSendStore{},
		&bitcoin.Address{}, &bitcoin.BlockStamp{}, &bitcoin.BlockConnected{}, &bitcoin.BlockDisconnected{},
		&bitcoin.FeatureSchema{}, &bitcoin.MempoolEntry{}, &bitcoin.UTXO{}, &bitcoin.Coin{}, &bitcoin.MempoolTx{},
		&bitcoin.OutpointSpent{}, &bitcoin.TxConfirmed{}, &bitcoin.TxConfUpdate{}, &bitcoin.TxReorged{}, &bitcoin.TxFinal{},
		&bitcoin.SpendReorged{}, &bitcoin.SpendFinal{}, &bitcoin.DeepReorg{}, &bitcoin.TxBroadcast{},
		&bitcoin.ChainUpdate{}, &bitcoin.TxInfo{}, &bitcoin.MempoolSnapshot{}, &bitcoin.FeeBucket{}, &bitcoin.FeeEstimate{},
		&bitcoin.SendRecord{}, &bitcoin.Verification{}, &bitcoin.ConfRequest{}, &bitcoin.SpendRequest{},
		new(bitcoin.AddressType), new(bitcoin.UpdateKind), new(bitcoin.FeeRate), new(bitcoin.Purpose),
		new(bitcoin.FeeSource), new(bitcoin.MessageFormat), new(bitcoin.Result), new(bitcoin.MultisigKind),
		new(bitcoin.Network),
		&bitcoin.AddressError{}, &bitcoin.AmountError{}, &bitcoin.FieldError{}, &bitcoin.InsufficientFundsError{},
		&bitcoin.MuSig2Error{}, &bitcoin.PSBTError{}, &bitcoin.RejectError{}, &bitcoin.SignatureError{},
		&bitcoin.OptionError{}, &bitcoin.NotConstructedError{},
	} {
		for _, r := range zerotest.Call(t, v) {
			if r.Method != "Unwrap" && errors.Is(r.Err(), bitcoin.ErrNotConstructed) {
				t.Errorf("%T.%s: %v", v, r.Method, r.Err())
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A zero FeatureExtractor is NewFeatureExtractor() without options: same vectors.
func TestZeroFeatureExtractor(t *testing.T) {
	ctx := context.Background()
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&wire.OutPoint{Index: 1}, nil, nil))
	tx.AddTxOut(wire.NewTxOut(100_000_000, make([]byte, 22)))
	block := &wire.MsgBlock{Transactions: []*wire.MsgTx{tx}}
	ex, err := bitcoin.NewFeatureExtractor()
	if err != nil {
		t.Fatal(err)
	}
	var zero bitcoin.FeatureExtractor
	for name, f := range map[string]func(*bitcoin.FeatureExtractor) ([]float32, error){
		"Tx":    func(e *bitcoin.FeatureExtractor) ([]float32, error) { return e.Tx(ctx, tx, 10, nil) },
		"Block": func(e *bitcoin.FeatureExtractor) ([]float32, error) { return e.Block(ctx, block, 300_000, nil) },
	} {
		want, err := f(ex)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f(&zero)
		if err != nil || len(got) != len(want) {
			t.Fatalf("%s: %v %v", name, got, err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: feature %d = %v, want %v", name, i, got[i], want[i])
			}
		}
	}
}

// The zero values that need a constructor answer their plain accessors with zero values and
// their registrations end at once.
func TestZeroValueAccessors(t *testing.T) {
	ctx := context.Background()
	var n bitcoin.Notifier
	if n.Tip() != (bitcoin.BlockStamp{}) || n.SafetyLimit() != 0 || n.Close() != nil || n.Close() != nil {
		t.Fatal("zero Notifier reports state")
	}
	for ev, err := range n.Blocks(ctx, bitcoin.BlockStamp{}) {
		if ev != nil {
			t.Fatalf("zero Notifier yields %v", ev)
		}
		wantNotConstructed(t, "Blocks", err, "bitcoin.NewNotifier")
	}

	var reg bitcoin.Registration[bitcoin.ConfEvent]
	if _, ok := <-reg.Events(); ok {
		t.Fatal("zero registration delivers an event")
	}
	first, second := reg.Events(), reg.Events()
	if first != second {
		t.Fatal("Events is not the same channel on every call")
	}
	reg.Cancel()
	wantNotConstructed(t, "Registration.Err", reg.Err(), "Notifier.RegisterConf")

	var m bitcoin.Multisig
	if m.Kind() != 0 || m.Threshold() != 0 || m.Keys() != nil || !m.Address().IsZero() || m.PkScript() != nil {
		t.Fatal("zero Multisig has a policy")
	}
	_, err := bitcoin.SignMessageMultisig(nil, &m, "msg")
	wantNotConstructed(t, "SignMessageMultisig", err, "NewSortedMultisig")

	var p bitcoin.PSBT
	if p.Bytes() != nil || p.Base64() != "" || p.UnsignedTx() != nil || p.IsComplete() || p.SignalsRBF() {
		t.Fatal("zero PSBT has content")
	}
	var k bitcoin.HDKey
	if k.PublicKey() != nil || k.IsPrivate() || k.String() != "" || k.Network() != 0 {
		t.Fatal("zero HDKey has a key")
	}
	var s bitcoin.MuSig2Session
	if s.PublicNonce() != nil || s.Index() != -1 {
		t.Fatal("zero MuSig2Session has a nonce or an index")
	}
}
