package bitcoin

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr/musig2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

func readVector(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

// BIP-340: all 19 rows, signing where a secret key is given and verification everywhere,
// including rows 15–18 whose messages are not 32 bytes.
func TestBIP340Vectors(t *testing.T) {
	f, err := os.Open("testdata/bip-0340_test-vectors.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[1:]
	if len(rows) != 19 {
		t.Fatalf("%d rows, want 19", len(rows))
	}
	for _, r := range rows {
		t.Run("row"+r[0], func(t *testing.T) {
			pub, msg, sig := unhex(t, r[2]), unhex(t, r[4]), unhex(t, r[5])
			want := r[6] == "TRUE"
			if r[1] != "" {
				priv, _ := btcec.PrivKeyFromBytes(unhex(t, r[1]))
				got, err := SignSchnorr(priv, msg, unhex(t, r[3]))
				if err != nil {
					t.Fatalf("sign: %v", err)
				}
				if !bytes.Equal(got, sig) {
					t.Fatalf("signature\n got %x\nwant %x", got, sig)
				}
				if !bytes.Equal(xOnly(priv.PubKey()), pub) {
					t.Fatalf("public key %x, want %x", xOnly(priv.PubKey()), pub)
				}
			}
			if got := VerifySchnorr(pub, msg, sig); got != want {
				t.Fatalf("verify = %v, want %v (%s)", got, want, r[7])
			}
		})
	}
}

type bip341Vectors struct {
	ScriptPubKey []struct {
		Given struct {
			InternalPubkey string          `json:"internalPubkey"`
			ScriptTree     json.RawMessage `json:"scriptTree"`
		} `json:"given"`
		Intermediary struct {
			LeafHashes    []string `json:"leafHashes"`
			MerkleRoot    *string  `json:"merkleRoot"`
			Tweak         string   `json:"tweak"`
			TweakedPubkey string   `json:"tweakedPubkey"`
		} `json:"intermediary"`
		Expected struct {
			ScriptPubKey            string   `json:"scriptPubKey"`
			Bip350Address           string   `json:"bip350Address"`
			ScriptPathControlBlocks []string `json:"scriptPathControlBlocks"`
		} `json:"expected"`
	} `json:"scriptPubKey"`
	KeyPathSpending []struct {
		Given struct {
			RawUnsignedTx string `json:"rawUnsignedTx"`
			UtxosSpent    []struct {
				ScriptPubKey string `json:"scriptPubKey"`
				AmountSats   int64  `json:"amountSats"`
			} `json:"utxosSpent"`
		} `json:"given"`
		InputSpending []struct {
			Given struct {
				TxinIndex       int     `json:"txinIndex"`
				InternalPrivkey string  `json:"internalPrivkey"`
				MerkleRoot      *string `json:"merkleRoot"`
				HashType        int     `json:"hashType"`
			} `json:"given"`
			Intermediary struct {
				InternalPubkey string `json:"internalPubkey"`
				TweakedPrivkey string `json:"tweakedPrivkey"`
				SigHash        string `json:"sigHash"`
			} `json:"intermediary"`
			Expected struct {
				Witness []string `json:"witness"`
			} `json:"expected"`
		} `json:"inputSpending"`
		Auxiliary struct {
			FullySignedTx string `json:"fullySignedTx"`
		} `json:"auxiliary"`
	} `json:"keyPathSpending"`
}

// parseTapTree decodes BIP-341's JSON tree: a leaf object or a two-element array.
func parseTapTree(t *testing.T, raw json.RawMessage) *tapNode {
	t.Helper()
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) == nil {
		if len(arr) != 2 {
			t.Fatalf("branch with %d children", len(arr))
		}
		return tapBranchNode(parseTapTree(t, arr[0]), parseTapTree(t, arr[1]))
	}
	var leaf struct {
		Script      string `json:"script"`
		LeafVersion int    `json:"leafVersion"`
	}
	if err := json.Unmarshal(raw, &leaf); err != nil {
		t.Fatal(err)
	}
	return tapLeafNode(unhex(t, leaf.Script), txscript.TapscriptLeafVersion(leaf.LeafVersion))
}

func TestBIP341WalletVectors(t *testing.T) {
	var v bip341Vectors
	readVector(t, "bip-0341_wallet-test-vectors.json", &v)
	for n, c := range v.ScriptPubKey {
		internal, err := schnorrParse(unhex(t, c.Given.InternalPubkey))
		if err != nil {
			t.Fatal(err)
		}
		var root []byte
		var leaves []tapLeafPath
		if string(c.Given.ScriptTree) != "null" {
			tree := parseTapTree(t, c.Given.ScriptTree)
			h := tree.hash()
			root = h[:]
			leaves = tree.leaves()
			if got := hex.EncodeToString(root); c.Intermediary.MerkleRoot == nil || got != *c.Intermediary.MerkleRoot {
				t.Errorf("case %d: merkle root %s", n, got)
			}
			for j, lp := range leaves {
				lh := lp.leaf.TapHash()
				if got := hex.EncodeToString(lh[:]); got != c.Intermediary.LeafHashes[j] {
					t.Errorf("case %d leaf %d: hash %s, want %s", n, j, got, c.Intermediary.LeafHashes[j])
				}
				if got := hex.EncodeToString(lp.controlBlock(internal, root)); got != c.Expected.ScriptPathControlBlocks[j] {
					t.Errorf("case %d leaf %d: control block %s, want %s", n, j, got, c.Expected.ScriptPathControlBlocks[j])
				}
			}
		}
		addr, err := NewP2TR(internal, root, Mainnet)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(addr.PkScript()); got != c.Expected.ScriptPubKey {
			t.Errorf("case %d: scriptPubKey %s, want %s", n, got, c.Expected.ScriptPubKey)
		}
		if addr.String() != c.Expected.Bip350Address {
			t.Errorf("case %d: address %s, want %s", n, addr, c.Expected.Bip350Address)
		}
		back, err := ParseAddress(c.Expected.Bip350Address, Mainnet)
		if err != nil || !back.Equal(addr) {
			t.Errorf("case %d: parse back: %v", n, err)
		}
	}

	for _, c := range v.KeyPathSpending {
		tx := new(wire.MsgTx)
		if err := tx.Deserialize(bytes.NewReader(unhex(t, c.Given.RawUnsignedTx))); err != nil {
			t.Fatal(err)
		}
		prevs := map[wire.OutPoint]*wire.TxOut{}
		for i, u := range c.Given.UtxosSpent {
			prevs[tx.TxIn[i].PreviousOutPoint] = wire.NewTxOut(u.AmountSats, unhex(t, u.ScriptPubKey))
		}
		fetcher := txscript.NewMultiPrevOutFetcher(prevs)
		hashes := txscript.NewTxSigHashes(tx, fetcher)
		for _, in := range c.InputSpending {
			priv, _ := btcec.PrivKeyFromBytes(unhex(t, in.Given.InternalPrivkey))
			if got := hex.EncodeToString(xOnly(priv.PubKey())); got != in.Intermediary.InternalPubkey {
				t.Errorf("input %d: internal key %s", in.Given.TxinIndex, got)
			}
			var root []byte
			if in.Given.MerkleRoot != nil {
				root = unhex(t, *in.Given.MerkleRoot)
			}
			tweaked := txscript.TweakTaprootPrivKey(*priv, root)
			if got := hex.EncodeToString(tweaked.Serialize()); got != in.Intermediary.TweakedPrivkey {
				t.Errorf("input %d: tweaked key %s", in.Given.TxinIndex, got)
			}
			ht := txscript.SigHashType(in.Given.HashType)
			digest, err := txscript.CalcTaprootSignatureHash(hashes, ht, tx, in.Given.TxinIndex, fetcher)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(digest); got != in.Intermediary.SigHash {
				t.Errorf("input %d: sighash %s", in.Given.TxinIndex, got)
			}
			sig, err := SignSchnorr(tweaked, digest, make([]byte, 32))
			if err != nil {
				t.Fatal(err)
			}
			if ht != txscript.SigHashDefault {
				sig = append(sig, byte(ht))
			}
			if got := hex.EncodeToString(sig); got != in.Expected.Witness[0] {
				t.Errorf("input %d: witness %s, want %s", in.Given.TxinIndex, got, in.Expected.Witness[0])
			}
			tx.TxIn[in.Given.TxinIndex].Witness = wire.TxWitness{sig}
		}
		// The published fully signed transaction also has non-taproot inputs signed with
		// keys the vectors do not give: check that our taproot witnesses are the ones in it
		// and that every input of it passes the script interpreter.
		full := new(wire.MsgTx)
		if err := full.Deserialize(bytes.NewReader(unhex(t, c.Auxiliary.FullySignedTx))); err != nil {
			t.Fatal(err)
		}
		for _, in := range c.InputSpending {
			i := in.Given.TxinIndex
			if !bytes.Equal(full.TxIn[i].Witness[0], tx.TxIn[i].Witness[0]) {
				t.Errorf("input %d: witness differs from the fully signed transaction", i)
			}
		}
		if err := verifyTxScripts(full, fetcher, txscript.StandardVerifyFlags); err != nil {
			t.Errorf("fully signed transaction: %v", err)
		}
	}
}

type musigKeyAggVectors struct {
	Pubkeys    []string `json:"pubkeys"`
	Tweaks     []string `json:"tweaks"`
	ValidCases []struct {
		KeyIndices []int  `json:"key_indices"`
		Expected   string `json:"expected"`
	} `json:"valid_test_cases"`
	ErrorCases []struct {
		KeyIndices   []int  `json:"key_indices"`
		TweakIndices []int  `json:"tweak_indices"`
		IsXOnly      []bool `json:"is_xonly"`
		Error        struct {
			Type    string `json:"type"`
			Signer  *int   `json:"signer"`
			Contrib string `json:"contrib"`
			Message string `json:"message"`
		} `json:"error"`
		Comment string `json:"comment"`
	} `json:"error_test_cases"`
}

func TestBIP327KeyAggVectors(t *testing.T) {
	var v musigKeyAggVectors
	readVector(t, "bip-0327_key_agg_vectors.json", &v)
	pks := func(idx []int) [][]byte {
		out := make([][]byte, len(idx))
		for i, j := range idx {
			out[i] = unhex(t, v.Pubkeys[j])
		}
		return out
	}
	for n, c := range v.ValidCases {
		kc, err := musigKeyAgg(pks(c.KeyIndices), nil)
		if err != nil {
			t.Fatalf("valid %d: %v", n, err)
		}
		if got := strings.ToUpper(hex.EncodeToString(xOnly(kc.q))); got != c.Expected {
			t.Errorf("valid %d: %s, want %s", n, got, c.Expected)
		}
	}
	for n, c := range v.ErrorCases {
		var tweaks []musig2.KeyTweakDesc
		for j, ti := range c.TweakIndices {
			var tw [32]byte
			copy(tw[:], unhex(t, v.Tweaks[ti]))
			tweaks = append(tweaks, musig2.KeyTweakDesc{Tweak: tw, IsXOnly: c.IsXOnly[j]})
		}
		_, err := musigKeyAgg(pks(c.KeyIndices), tweaks)
		var me *MuSig2Error
		if !errors.As(err, &me) {
			t.Fatalf("error %d (%s): got %v", n, c.Comment, err)
		}
		switch c.Error.Type {
		case "invalid_contribution":
			if me.Contribution != c.Error.Contrib || c.Error.Signer == nil || me.Signer != *c.Error.Signer {
				t.Errorf("error %d (%s): %+v", n, c.Comment, me)
			}
		case "value":
			if !strings.Contains(strings.ToLower(me.Reason), strings.ToLower(strings.TrimSuffix(c.Error.Message, "."))) {
				t.Errorf("error %d (%s): reason %q, want %q", n, c.Comment, me.Reason, c.Error.Message)
			}
		}
	}
}

type musigSignVerifyVectors struct {
	SK         string   `json:"sk"`
	Pubkeys    []string `json:"pubkeys"`
	SecNonces  []string `json:"secnonces"`
	PNonces    []string `json:"pnonces"`
	AggNonces  []string `json:"aggnonces"`
	Msgs       []string `json:"msgs"`
	ValidCases []struct {
		KeyIndices    []int  `json:"key_indices"`
		NonceIndices  []int  `json:"nonce_indices"`
		AggNonceIndex int    `json:"aggnonce_index"`
		MsgIndex      int    `json:"msg_index"`
		SignerIndex   int    `json:"signer_index"`
		Expected      string `json:"expected"`
	} `json:"valid_test_cases"`
	SignErrorCases []struct {
		KeyIndices    []int `json:"key_indices"`
		AggNonceIndex int   `json:"aggnonce_index"`
		MsgIndex      int   `json:"msg_index"`
		SecNonceIndex int   `json:"secnonce_index"`
		Error         musigVectorError
		Comment       string `json:"comment"`
	} `json:"sign_error_test_cases"`
	VerifyFailCases []struct {
		Sig          string `json:"sig"`
		KeyIndices   []int  `json:"key_indices"`
		NonceIndices []int  `json:"nonce_indices"`
		MsgIndex     int    `json:"msg_index"`
		SignerIndex  int    `json:"signer_index"`
		Comment      string `json:"comment"`
	} `json:"verify_fail_test_cases"`
	VerifyErrorCases []struct {
		Sig          string `json:"sig"`
		KeyIndices   []int  `json:"key_indices"`
		NonceIndices []int  `json:"nonce_indices"`
		MsgIndex     int    `json:"msg_index"`
		SignerIndex  int    `json:"signer_index"`
		Error        musigVectorError
		Comment      string `json:"comment"`
	} `json:"verify_error_test_cases"`
}

type musigVectorError struct {
	Type    string `json:"type"`
	Signer  *int   `json:"signer"`
	Contrib string `json:"contrib"`
	Message string `json:"message"`
}

func (e musigVectorError) matches(err error) bool {
	var me *MuSig2Error
	if !errors.As(err, &me) {
		return false
	}
	if e.Type == "invalid_contribution" {
		signer := -1
		if e.Signer != nil {
			signer = *e.Signer
		}
		return me.Contribution == e.Contrib && me.Signer == signer
	}
	return strings.Contains(strings.ToLower(me.Reason), strings.ToLower(strings.TrimSuffix(e.Message, ".")))
}

// musigVerify is BIP-327 PartialSigVerify: aggregate the nonces and keys, then verify
// signer i's partial signature.
func musigVerify(psig []byte, pubnonces, pks [][]byte, msg []byte, i int) error {
	agg, err := musigNonceAgg(pubnonces)
	if err != nil {
		return err
	}
	kc, err := musigKeyAgg(pks, nil)
	if err != nil {
		return err
	}
	s, err := newMusigSession(kc, agg[:], msg)
	if err != nil {
		return err
	}
	return musigPartialVerify(psig, pubnonces[i], pks[i], s, i)
}

func TestBIP327SignVerifyVectors(t *testing.T) {
	var v musigSignVerifyVectors
	readVector(t, "bip-0327_sign_verify_vectors.json", &v)
	priv, _ := btcec.PrivKeyFromBytes(unhex(t, v.SK))
	sel := func(all []string, idx []int) [][]byte {
		out := make([][]byte, len(idx))
		for i, j := range idx {
			out[i] = unhex(t, all[j])
		}
		return out
	}
	for n, c := range v.ValidCases {
		pks := sel(v.Pubkeys, c.KeyIndices)
		pnonces := sel(v.PNonces, c.NonceIndices)
		agg, err := musigNonceAgg(pnonces)
		if err != nil {
			t.Fatalf("valid %d: nonce agg: %v", n, err)
		}
		if !bytes.Equal(agg[:], unhex(t, v.AggNonces[c.AggNonceIndex])) {
			t.Fatalf("valid %d: aggregate nonce %x", n, agg)
		}
		kc, err := musigKeyAgg(pks, nil)
		if err != nil {
			t.Fatal(err)
		}
		msg := unhex(t, v.Msgs[c.MsgIndex])
		s, err := newMusigSession(kc, agg[:], msg)
		if err != nil {
			t.Fatal(err)
		}
		secnonce := unhex(t, v.SecNonces[0])
		psig, err := musigSign(secnonce, priv, s)
		if err != nil {
			t.Fatalf("valid %d: sign: %v", n, err)
		}
		if got := strings.ToUpper(hex.EncodeToString(psig)); got != c.Expected {
			t.Errorf("valid %d: psig %s, want %s", n, got, c.Expected)
		}
		if !bytes.Equal(secnonce, make([]byte, len(secnonce))) {
			t.Errorf("valid %d: secret nonce not erased", n)
		}
		if err := musigVerify(psig, pnonces, pks, msg, c.SignerIndex); err != nil {
			t.Errorf("valid %d: verify: %v", n, err)
		}
	}
	for n, c := range v.SignErrorCases {
		pks := sel(v.Pubkeys, c.KeyIndices)
		kc, err := musigKeyAgg(pks, nil)
		if err == nil {
			var s *musigSessionValues
			s, err = newMusigSession(kc, unhex(t, v.AggNonces[c.AggNonceIndex]), unhex(t, v.Msgs[c.MsgIndex]))
			if err == nil {
				_, err = musigSign(unhex(t, v.SecNonces[c.SecNonceIndex]), priv, s)
			}
		}
		if !c.Error.matches(err) {
			t.Errorf("sign error %d (%s): got %v, want %+v", n, c.Comment, err, c.Error)
		}
	}
	for n, c := range v.VerifyFailCases {
		err := musigVerify(unhex(t, c.Sig), sel(v.PNonces, c.NonceIndices), sel(v.Pubkeys, c.KeyIndices), unhex(t, v.Msgs[c.MsgIndex]), c.SignerIndex)
		var me *MuSig2Error
		if !errors.As(err, &me) || me.Contribution != "psig" {
			t.Errorf("verify fail %d (%s): got %v", n, c.Comment, err)
		}
	}
	for n, c := range v.VerifyErrorCases {
		err := musigVerify(unhex(t, c.Sig), sel(v.PNonces, c.NonceIndices), sel(v.Pubkeys, c.KeyIndices), unhex(t, v.Msgs[c.MsgIndex]), c.SignerIndex)
		if !c.Error.matches(err) {
			t.Errorf("verify error %d (%s): got %v, want %+v", n, c.Comment, err, c.Error)
		}
	}
}

type bip322Vectors struct {
	TxHashes []struct {
		Message       string `json:"message"`
		Address       string `json:"address"`
		MessageHash   string `json:"message_hash"`
		ToSpendTxHash string `json:"to_spend_tx_hash"`
		ToSignTxHash  string `json:"to_sign_tx_hash"`
	} `json:"tx_hashes"`
	Simple []struct {
		Message       string   `json:"message"`
		PrivateKeys   []string `json:"private_keys"`
		Address       string   `json:"address"`
		Type          string   `json:"type"`
		WitnessScript string   `json:"witness_script"`
		Signatures    []string `json:"bip322_signatures"`
	} `json:"simple"`
	Error []struct {
		Description string `json:"description"`
		Message     string `json:"message"`
		Address     string `json:"address"`
		Signature   string `json:"signature"`
		ErrorSubstr string `json:"error_substr"`
	} `json:"error"`
}

func TestBIP322Vectors(t *testing.T) {
	var v bip322Vectors
	readVector(t, "bip-0322_basic-test-vectors.json", &v)
	ctx := context.Background()
	for n, c := range v.TxHashes {
		addr, err := ParseAddress(c.Address, Mainnet)
		if err != nil {
			t.Fatal(err)
		}
		h := messageHash(c.Message)
		if got := hex.EncodeToString(h[:]); got != c.MessageHash {
			t.Errorf("hash %d: message hash %s", n, got)
		}
		toSpend := buildToSpend(addr.PkScript(), c.Message)
		if got := toSpend.TxHash().String(); got != c.ToSpendTxHash {
			t.Errorf("hash %d: to_spend %s, want %s", n, got, c.ToSpendTxHash)
		}
		if got := buildToSign(toSpend).TxHash().String(); got != c.ToSignTxHash {
			t.Errorf("hash %d: to_sign %s, want %s", n, got, c.ToSignTxHash)
		}
	}
	for n, c := range v.Simple {
		addr, err := ParseAddress(c.Address, Mainnet)
		if err != nil {
			t.Fatal(err)
		}
		for _, sig := range c.Signatures {
			res, err := VerifyMessage(ctx, addr, c.Message, sig)
			if err != nil || res.Result != Valid || res.Format != FormatSimple {
				t.Errorf("simple %d (%s): %+v, %v", n, c.Type, res, err)
			}
		}
		// Sign it ourselves and verify; ECDSA is deterministic (RFC 6979), so an ECDSA
		// signature must equal one of the published ones.
		var keys []*btcec.PrivateKey
		for _, w := range c.PrivateKeys {
			wif, err := btcutil.DecodeWIF(w)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, wif.PrivKey)
		}
		var sig string
		switch c.Type {
		case "p2wsh-multisig-3of3":
			ws := unhex(t, c.WitnessScript)
			p, err := NewMessagePSBT(addr, c.Message, WithMessageScripts(nil, ws))
			if err != nil {
				t.Fatal(err)
			}
			if k, err := p.Sign(keys...); err != nil || k != 3 {
				t.Fatalf("multisig sign: %d, %v", k, err)
			}
			if err := p.Finalize(); err != nil {
				t.Fatal(err)
			}
			if sig, err = p.MessageSignature(FormatSimple); err != nil {
				t.Fatal(err)
			}
		default:
			if sig, err = SignMessage(keys[0], addr, c.Message); err != nil {
				t.Fatalf("simple %d: sign: %v", n, err)
			}
		}
		if c.Type != "p2tr" && !contains(c.Signatures, sig) {
			t.Errorf("simple %d (%s): our signature %s is not among the published ones", n, c.Type, sig)
		}
		if res, err := VerifyMessage(ctx, addr, c.Message, sig); err != nil || res.Result != Valid {
			t.Errorf("simple %d: own signature: %+v, %v", n, res, err)
		}
	}
	for n, c := range v.Error {
		addr, err := ParseAddress(c.Address, Mainnet)
		if err != nil {
			t.Fatal(err)
		}
		res, err := VerifyMessage(ctx, addr, c.Message, c.Signature)
		switch {
		case err != nil:
			if !errors.Is(err, ErrMalformedSignature) || !strings.Contains(err.Error(), c.ErrorSubstr) {
				t.Errorf("error %d (%s): error %q lacks %q", n, c.Description, err, c.ErrorSubstr)
			}
		case res.Result != Invalid || !strings.Contains(res.Reason, c.ErrorSubstr):
			t.Errorf("error %d (%s): %+v, want invalid with %q", n, c.Description, res, c.ErrorSubstr)
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

type legacyVectors struct {
	Sign []struct {
		PrivkeyHex string `json:"privkey_hex"`
		Compressed bool   `json:"compressed"`
		Address    string `json:"address"`
		Message    string `json:"message"`
		Signature  string `json:"signature"`
	} `json:"sign"`
	Verify []struct {
		Address   string `json:"address"`
		Signature string `json:"signature"`
		Message   string `json:"message"`
		Result    string `json:"result"`
	} `json:"verify"`
}

func TestLegacySignMessageVectors(t *testing.T) {
	var v legacyVectors
	readVector(t, "legacy-signmessage_bitcoin-core-util_tests.json", &v)
	for _, c := range v.Sign {
		priv, _ := btcec.PrivKeyFromBytes(unhex(t, c.PrivkeyHex))
		addr, err := ParseAddress(c.Address, Mainnet)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := SignMessageLegacy(priv, addr, c.Message)
		if err != nil || sig != c.Signature {
			t.Errorf("sign: %q, %v; want %q", sig, err, c.Signature)
		}
		// The same through BIP-322's legacy format.
		sig, err = SignMessage(priv, addr, c.Message, WithFormat(FormatLegacy))
		if err != nil || sig != c.Signature {
			t.Errorf("bip322 legacy sign: %q, %v", sig, err)
		}
	}
	for n, c := range v.Verify {
		addr, err := DecodeAddress(c.Address)
		if c.Result == "ERR_INVALID_ADDRESS" {
			if !errors.Is(err, ErrInvalidAddress) {
				t.Errorf("verify %d: %v, want ErrInvalidAddress", n, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("verify %d: %v", n, err)
		}
		err = VerifyMessageLegacy(addr, c.Message, c.Signature)
		var want error
		switch c.Result {
		case "OK":
		case "ERR_ADDRESS_NO_KEY":
			want = ErrAddressNoKey
		case "ERR_MALFORMED_SIGNATURE":
			want = ErrMalformedSignature
		case "ERR_PUBKEY_NOT_RECOVERED":
			want = ErrPubKeyNotRecovered
		case "ERR_NOT_SIGNED":
			want = ErrNotSigned
		default:
			t.Fatalf("unknown result %s", c.Result)
		}
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("verify %d: %v, want %s", n, err, c.Result)
		}
	}
}
