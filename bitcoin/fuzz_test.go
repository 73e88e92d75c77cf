package bitcoin

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/btcsuite/btcd/wire"
)

func FuzzParsePSBT(f *testing.F) {
	var v bip174Vectors
	readVector(f, "bip-0174_test-vectors.extracted.json", &v)
	for _, c := range append(v.Invalid, v.Valid...) {
		b, _ := hex.DecodeString(c.Hex)
		f.Add(b)
		f.Add([]byte(c.Base64))
	}
	for _, c := range v.WorkflowSteps {
		b, _ := hex.DecodeString(c.Hex)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePSBT(b)
		if err != nil {
			return
		}
		// Whatever parses re-encodes to something that parses to the same bytes, and the
		// PSBT operations on it return errors rather than panic.
		enc := p.Bytes()
		q, err := ParsePSBT(enc)
		if err != nil {
			t.Fatalf("re-encoding does not parse: %v", err)
		}
		if !bytes.Equal(q.Bytes(), enc) {
			t.Fatal("re-encoding is not stable")
		}
		_, _ = p.Fee()
		_, _ = p.Sign(testKey(t, 1))
		_ = p.Finalize()
		_, _ = p.Extract()
		_ = p.Combine(q)
	})
}

func FuzzVerifyMessage(f *testing.F) {
	var v bip322Vectors
	readVector(f, "bip-0322_basic-test-vectors.json", &v)
	for _, c := range v.Simple {
		for _, s := range c.Signatures {
			f.Add(c.Address, c.Message, s)
		}
	}
	for _, c := range v.Error {
		f.Add(c.Address, c.Message, c.Signature)
	}
	var l legacyVectors
	readVector(f, "legacy-signmessage_bitcoin-core-util_tests.json", &l)
	for _, c := range l.Verify {
		f.Add(c.Address, c.Message, c.Signature)
	}
	f.Fuzz(func(t *testing.T, address, msg, sig string) {
		addr, err := DecodeAddress(address)
		if err != nil {
			return
		}
		res, err := VerifyMessage(context.Background(), addr, msg, sig)
		if err == nil && res.Result > Valid {
			t.Fatalf("result %d", res.Result)
		}
		_ = VerifyMessageLegacy(addr, msg, sig)
	})
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
		"15CRxFdyRpGZLW9w8HnHvVduizdL5jKNbs", "3B5fQsEXEaV8v6U3ejYc8XaKXAkyQj2MjV", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
		"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "BC1SW50QGDZ25J", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := DecodeAddress(s)
		if err != nil {
			return
		}
		b, err := ParseAddress(a.String(), a.Network())
		if err != nil || !b.Equal(a) {
			t.Fatalf("%q decodes to %s, which parses back as %v (%v)", s, a, b, err)
		}
		c, err := AddressFromScript(a.PkScript(), a.Network())
		if err != nil || !c.Equal(a) {
			t.Fatalf("%q: script round trip: %v", s, err)
		}
	})
}

func FuzzTxFeatures(f *testing.F) {
	if raw, err := os.ReadFile("testdata/bip-0341_wallet-test-vectors.json"); err == nil {
		var v bip341Vectors
		_ = jsonUnmarshal(raw, &v)
		for _, c := range v.KeyPathSpending {
			b, _ := hex.DecodeString(c.Auxiliary.FullySignedTx)
			f.Add(b)
		}
	}
	e, _ := NewFeatureExtractor()
	f.Fuzz(func(t *testing.T, b []byte) {
		tx := new(wire.MsgTx)
		if tx.Deserialize(bytes.NewReader(b)) != nil {
			return
		}
		v, err := e.Tx(context.Background(), tx, 100, nil)
		if amountErr := CheckTxAmounts(tx); amountErr != nil {
			// Out-of-range amounts are refused, never turned into features.
			var ae *AmountError
			if !errors.As(err, &ae) {
				t.Fatalf("amounts out of range (%v) gave %v", amountErr, err)
			}
			return
		}
		if err != nil || len(v) != numTxFeatures {
			t.Fatalf("%d features, %v", len(v), err)
		}
		for i, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("feature %s is %v", txFeatureNames[i], x)
			}
		}
		if v[ftOutTotal] < 0 || v[ftOutMin] < 0 {
			t.Fatalf("negative output total %v or minimum %v", v[ftOutTotal], v[ftOutMin])
		}
	})
}
