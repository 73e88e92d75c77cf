package bitcoin

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

// checkSigner applies BIP-174's "data signers check for" rules to input i.
func (p *PSBT) checkSigner(i int) error {
	in := &p.p.Inputs[i]
	if err := p.checkNonWitnessUTXO(i); err != nil {
		return psbtErr(ErrSignerCheck, i, "%v", err.(*PSBTError).Reason)
	}
	var prevScript []byte
	if in.NonWitnessUtxo != nil {
		o := in.NonWitnessUtxo.TxOut[p.p.UnsignedTx.TxIn[i].PreviousOutPoint.Index]
		prevScript = o.PkScript
		if in.WitnessUtxo != nil && (in.WitnessUtxo.Value != o.Value || !bytes.Equal(in.WitnessUtxo.PkScript, o.PkScript)) {
			return psbtErr(ErrSignerCheck, i, "witness and non-witness utxo disagree")
		}
	} else if in.WitnessUtxo != nil {
		prevScript = in.WitnessUtxo.PkScript
	} else {
		return nil // nothing to sign against; the signer skips the input
	}
	target := prevScript
	if in.RedeemScript != nil {
		if classify(prevScript) != classP2SH || !bytes.Equal(prevScript[2:22], hash160(in.RedeemScript)) {
			return psbtErr(ErrSignerCheck, i, "redeem script does not match the output script")
		}
		target = in.RedeemScript
	}
	if in.WitnessScript != nil {
		h := sha256.Sum256(in.WitnessScript)
		if classify(target) != classP2WSH || !bytes.Equal(target[2:], h[:]) {
			return psbtErr(ErrSignerCheck, i, "witness script does not match the output or redeem script")
		}
	}
	if _, _, segwit := witnessProgram(target); !segwit && in.WitnessUtxo != nil {
		return psbtErr(ErrSignerCheck, i, "witness utxo given for a non-witness input")
	}
	return nil
}

// Sign adds every signature the keys can make (BIP-174 signer) and returns how many it
// added. It first applies BIP-174's signer checks to every input; if any fails, nothing
// is signed and a *PSBTError wrapping ErrSignerCheck names the input. It signs P2PKH,
// P2SH-P2WPKH, P2WPKH, P2SH and P2WSH scripts containing a key (multisig), taproot key
// path (BIP-86 or with the input's merkle root) and tapscript leaves containing a key.
// Signatures use the input's sighash type, SIGHASH_ALL (ECDSA) or SIGHASH_DEFAULT
// (Schnorr) when none is set.
func (p *PSBT) Sign(keys ...*btcec.PrivateKey) (int, error) {
	if err := p.constructed(); err != nil {
		return 0, err
	}
	for i := range p.p.Inputs {
		if err := p.checkSigner(i); err != nil {
			return 0, err
		}
	}
	work := p.Clone()
	fetcher, allKnown := work.fetcher()
	tx := work.p.UnsignedTx
	hashes := txscript.NewTxSigHashes(tx, fetcher)
	n := 0
	for i := range work.p.Inputs {
		in := &work.p.Inputs[i]
		if in.FinalScriptSig != nil || in.FinalScriptWitness != nil {
			continue
		}
		prev, ok := work.prevOut(i)
		if !ok {
			continue
		}
		for _, key := range keys {
			if key == nil {
				continue
			}
			added, err := work.signInput(i, key, prev, hashes, fetcher, allKnown)
			if err != nil {
				return 0, err
			}
			n += added
		}
	}
	p.p = work.p
	return n, nil
}

func (p *PSBT) signInput(i int, key *btcec.PrivateKey, prev *wire.TxOut, hashes *txscript.TxSigHashes,
	fetcher txscript.PrevOutputFetcher, allKnown bool) (int, error) {

	in := &p.p.Inputs[i]
	tx := p.p.UnsignedTx
	pub := key.PubKey()
	comp := pub.SerializeCompressed()
	hashType := in.SighashType

	if classify(prev.PkScript) == classP2TR {
		if !allKnown {
			return 0, psbtErr(ErrPSBTIncomplete, i, "taproot signing needs the UTXO of every input")
		}
		return p.signTaproot(i, key, prev, hashes, fetcher)
	}
	if hashType == txscript.SigHashDefault {
		hashType = txscript.SigHashAll
	}
	target := prev.PkScript
	if in.RedeemScript != nil {
		target = in.RedeemScript
	}
	var scriptCode []byte
	witness := false
	switch classify(target) {
	case classP2PKH:
		if !bytes.Equal(target[3:23], hash160(comp)) {
			if !bytes.Equal(target[3:23], hash160(pub.SerializeUncompressed())) {
				return 0, nil
			}
			comp = pub.SerializeUncompressed()
		}
		scriptCode = target
	case classP2WPKH:
		if !bytes.Equal(target[2:], hash160(comp)) {
			return 0, nil
		}
		scriptCode, witness = target, true
	case classP2WSH:
		if in.WitnessScript == nil || !scriptPushesData(in.WitnessScript, comp) {
			return 0, nil
		}
		scriptCode, witness = in.WitnessScript, true
	default:
		if in.RedeemScript == nil || !scriptPushesData(in.RedeemScript, comp) {
			return 0, nil
		}
		scriptCode = in.RedeemScript
	}
	for _, ps := range in.PartialSigs {
		if bytes.Equal(ps.PubKey, comp) {
			return 0, nil // already signed by this key
		}
	}
	var digest []byte
	var err error
	if witness {
		digest, err = txscript.CalcWitnessSigHash(scriptCode, hashes, hashType, tx, i, prev.Value)
	} else {
		digest, err = txscript.CalcSignatureHash(scriptCode, hashType, tx, i)
	}
	if err != nil {
		return 0, psbtErr(ErrInvalidPSBT, i, "sighash: %v", err)
	}
	sig := ecdsa.Sign(key, digest)
	in.PartialSigs = append(in.PartialSigs, &psbt.PartialSig{
		PubKey:    bytes.Clone(comp),
		Signature: append(sig.Serialize(), byte(hashType)),
	})
	return 1, nil
}

func (p *PSBT) signTaproot(i int, key *btcec.PrivateKey, prev *wire.TxOut, hashes *txscript.TxSigHashes,
	fetcher txscript.PrevOutputFetcher) (int, error) {

	in := &p.p.Inputs[i]
	tx := p.p.UnsignedTx
	n := 0
	// Key path: our key, tweaked with the input's merkle root (none for BIP-86), is the
	// output key.
	out := txscript.ComputeTaprootOutputKey(key.PubKey(), in.TaprootMerkleRoot)
	if bytes.Equal(xOnly(out), prev.PkScript[2:]) && in.TaprootKeySpendSig == nil {
		digest, err := txscript.CalcTaprootSignatureHash(hashes, in.SighashType, tx, i, fetcher)
		if err != nil {
			return 0, psbtErr(ErrInvalidPSBT, i, "taproot sighash: %v", err)
		}
		tweaked := txscript.TweakTaprootPrivKey(*key, in.TaprootMerkleRoot)
		sig, err := SignSchnorr(tweaked, digest, nil)
		if err != nil {
			return 0, err
		}
		if in.SighashType != txscript.SigHashDefault {
			sig = append(sig, byte(in.SighashType))
		}
		in.TaprootKeySpendSig = sig
		n++
	}
	// Script path: every leaf that pushes our x-only key.
	x := xOnly(key.PubKey())
	for _, leaf := range in.TaprootLeafScript {
		if !scriptPushesData(leaf.Script, x) {
			continue
		}
		tl := txscript.NewTapLeaf(leaf.LeafVersion, leaf.Script)
		lh := tl.TapHash()
		have := false
		for _, s := range in.TaprootScriptSpendSig {
			if bytes.Equal(s.XOnlyPubKey, x) && bytes.Equal(s.LeafHash, lh[:]) {
				have = true
			}
		}
		if have {
			continue
		}
		digest, err := txscript.CalcTapscriptSignaturehash(hashes, in.SighashType, tx, i, fetcher, tl)
		if err != nil {
			return 0, psbtErr(ErrInvalidPSBT, i, "tapscript sighash: %v", err)
		}
		sig, err := SignSchnorr(key, digest, nil)
		if err != nil {
			return 0, err
		}
		in.TaprootScriptSpendSig = append(in.TaprootScriptSpendSig, &psbt.TaprootScriptSpendSig{
			XOnlyPubKey: x, LeafHash: bytes.Clone(lh[:]), Signature: sig, SigHash: in.SighashType,
		})
		n++
	}
	return n, nil
}

// TaprootKeySpendSigHash returns the BIP-341 signature hash that a key-path signature of
// taproot input i must sign — the message for a MuSig2 session. Every input's UTXO must be
// known.
func (p *PSBT) TaprootKeySpendSigHash(i int) ([]byte, error) {
	if err := p.constructed(); err != nil {
		return nil, err
	}
	if i < 0 || i >= len(p.p.Inputs) {
		return nil, psbtErr(ErrInvalidPSBT, i, "no such input")
	}
	prev, ok := p.prevOut(i)
	if !ok || classify(prev.PkScript) != classP2TR {
		return nil, psbtErr(ErrInvalidPSBT, i, "not a taproot input with known UTXO")
	}
	fetcher, all := p.fetcher()
	if !all {
		return nil, psbtErr(ErrPSBTIncomplete, i, "taproot signing needs the UTXO of every input")
	}
	hashes := txscript.NewTxSigHashes(p.p.UnsignedTx, fetcher)
	return txscript.CalcTaprootSignatureHash(hashes, p.p.Inputs[i].SighashType, p.p.UnsignedTx, i, fetcher)
}

// SetTaprootKeySpendSig stores a complete key-path signature (for example a combined
// MuSig2 signature) for taproot input i after checking it against the output key.
func (p *PSBT) SetTaprootKeySpendSig(i int, sig []byte) error {
	digest, err := p.TaprootKeySpendSigHash(i)
	if err != nil {
		return err
	}
	prev, _ := p.prevOut(i)
	want := 64
	if p.p.Inputs[i].SighashType != txscript.SigHashDefault {
		want = 65
	}
	if len(sig) != want || !VerifySchnorr(prev.PkScript[2:], digest, sig[:64]) ||
		(want == 65 && sig[64] != byte(p.p.Inputs[i].SighashType)) {
		return psbtErr(ErrSignerCheck, i, "signature does not verify for the output key")
	}
	p.p.Inputs[i].TaprootKeySpendSig = bytes.Clone(sig)
	return nil
}

// Finalize turns the signatures of every input into final scriptSigs and witnesses (BIP-174
// input finalizer). It is all or nothing: if an input lacks signatures or data, a
// *PSBTError wrapping ErrPSBTIncomplete names it and p is unchanged.
func (p *PSBT) Finalize() error {
	if err := p.constructed(); err != nil {
		return err
	}
	work := p.Clone()
	for i := range work.p.Inputs {
		if err := work.finalizeInput(i); err != nil {
			return err
		}
	}
	p.p = work.p
	return nil
}

func (p *PSBT) finalizeInput(i int) error {
	in := &p.p.Inputs[i]
	if in.FinalScriptSig != nil || in.FinalScriptWitness != nil {
		return nil
	}
	prev, ok := p.prevOut(i)
	if !ok {
		return psbtErr(ErrPSBTIncomplete, i, "no UTXO data")
	}
	if classify(prev.PkScript) == classP2TR {
		return p.finalizeTaproot(i)
	}
	// btcd's finalizer reads the script from the witness UTXO when both are present and
	// indexes the non-witness one otherwise; both were validated by ParsePSBT/AddCoin.
	if err := finalizeWithBtcd(p.p, i); err != nil {
		return psbtErr(ErrPSBTIncomplete, i, "%v", err)
	}
	return nil
}

func finalizeWithBtcd(pk *psbt.Packet, i int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("finalizer panic: %v", r)
		}
	}()
	ok, err := psbt.MaybeFinalize(pk, i)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("not finalizable")
	}
	return nil
}

// finalizeTaproot builds the witness of a taproot input: the key-path signature if there
// is one, otherwise a satisfied leaf (single key, or OP_CHECKSIGADD multisig).
func (p *PSBT) finalizeTaproot(i int) error {
	in := &p.p.Inputs[i]
	var wit wire.TxWitness
	switch {
	case in.TaprootKeySpendSig != nil:
		wit = wire.TxWitness{bytes.Clone(in.TaprootKeySpendSig)}
	default:
		for _, leaf := range in.TaprootLeafScript {
			if w, ok := satisfyLeaf(leaf, in.TaprootScriptSpendSig); ok {
				wit = w
				break
			}
		}
	}
	if wit == nil {
		return psbtErr(ErrPSBTIncomplete, i, "not enough taproot signatures")
	}
	var buf bytes.Buffer
	if err := psbt.WriteTxWitness(&buf, wit); err != nil {
		return psbtErr(ErrInvalidPSBT, i, "%v", err)
	}
	*in = psbt.PInput{WitnessUtxo: in.WitnessUtxo, NonWitnessUtxo: in.NonWitnessUtxo, FinalScriptWitness: buf.Bytes(), Unknowns: in.Unknowns}
	return nil
}

// satisfyLeaf builds the witness for a leaf from the signatures available, for leaves of
// the forms <x> OP_CHECKSIG and <x1> OP_CHECKSIG <x2> OP_CHECKSIGADD … <k> OP_NUMEQUAL.
func satisfyLeaf(leaf *psbt.TaprootTapLeafScript, sigs []*psbt.TaprootScriptSpendSig) (wire.TxWitness, bool) {
	keys, k, ok := parseTapscriptMultisig(leaf.Script)
	if !ok {
		return nil, false
	}
	lh := txscript.NewTapLeaf(leaf.LeafVersion, leaf.Script).TapHash()
	find := func(x []byte) []byte {
		for _, s := range sigs {
			if bytes.Equal(s.XOnlyPubKey, x) && bytes.Equal(s.LeafHash, lh[:]) {
				sig := bytes.Clone(s.Signature)
				if s.SigHash != txscript.SigHashDefault {
					sig = append(sig, byte(s.SigHash))
				}
				return sig
			}
		}
		return nil
	}
	// The first key's signature is consumed first, so it sits on top of the stack: the
	// witness lists signatures in reverse key order, empty for keys that do not sign.
	wit := make(wire.TxWitness, len(keys))
	have := 0
	for j, x := range keys {
		if have == k {
			wit[len(keys)-1-j] = []byte{}
			continue
		}
		if s := find(x); s != nil {
			wit[len(keys)-1-j] = s
			have++
		} else {
			wit[len(keys)-1-j] = []byte{}
		}
	}
	if have < k {
		return nil, false
	}
	return append(wit, bytes.Clone(leaf.Script), bytes.Clone(leaf.ControlBlock)), true
}

// parseTapscriptMultisig recognises <x> OP_CHECKSIG (k=1 of 1) and the OP_CHECKSIGADD
// k-of-n form.
func parseTapscriptMultisig(script []byte) (keys [][]byte, k int, ok bool) {
	tok := txscript.MakeScriptTokenizer(0, script)
	var ops []byte
	var datas [][]byte
	for tok.Next() {
		ops = append(ops, tok.Opcode())
		datas = append(datas, tok.Data())
	}
	if tok.Err() != nil || len(ops) < 2 {
		return nil, 0, false
	}
	if len(ops) == 2 && len(datas[0]) == 32 && ops[1] == txscript.OP_CHECKSIG {
		return [][]byte{datas[0]}, 1, true
	}
	// n pairs (push32, CHECKSIG/CHECKSIGADD) then <k> NUMEQUAL
	if len(ops)%2 != 0 || ops[len(ops)-1] != txscript.OP_NUMEQUAL {
		return nil, 0, false
	}
	n := (len(ops) - 2) / 2
	for j := 0; j < n; j++ {
		want := byte(txscript.OP_CHECKSIGADD)
		if j == 0 {
			want = txscript.OP_CHECKSIG
		}
		if len(datas[2*j]) != 32 || ops[2*j+1] != want {
			return nil, 0, false
		}
		keys = append(keys, datas[2*j])
	}
	kop, kdata := ops[len(ops)-2], datas[len(ops)-2]
	switch {
	case kop >= txscript.OP_1 && kop <= txscript.OP_16:
		k = int(kop - txscript.OP_1 + 1)
	case len(kdata) > 0 && len(kdata) <= 2:
		for b := len(kdata) - 1; b >= 0; b-- {
			k = k<<8 | int(kdata[b])
		}
	default:
		return nil, 0, false
	}
	return keys, k, k >= 1 && k <= n
}

// Extract returns the final signed transaction (BIP-174 extractor) after running every
// input through the script interpreter against its UTXO, so a transaction that would be
// rejected by the network is never handed out. Every input must be finalized and have UTXO
// data.
func (p *PSBT) Extract() (*wire.MsgTx, error) {
	if err := p.constructed(); err != nil {
		return nil, err
	}
	if !p.p.IsComplete() {
		for i := range p.p.Inputs {
			if p.p.Inputs[i].FinalScriptSig == nil && p.p.Inputs[i].FinalScriptWitness == nil {
				return nil, psbtErr(ErrPSBTIncomplete, i, "not finalized")
			}
		}
	}
	tx, err := psbt.Extract(p.p)
	if err != nil {
		return nil, psbtErr(ErrPSBTIncomplete, -1, "%v", err)
	}
	fetcher, all := p.fetcher()
	if !all {
		for i := range p.p.Inputs {
			if _, ok := p.prevOut(i); !ok {
				return nil, psbtErr(ErrPSBTIncomplete, i, "no UTXO data to verify the input against")
			}
		}
	}
	if err := verifyTxScripts(tx, fetcher, txscript.StandardVerifyFlags); err != nil {
		return nil, err
	}
	return tx, nil
}

// verifyTxScripts runs every input of tx, except those skip names, through the script
// engine.
func verifyTxScripts(tx *wire.MsgTx, fetcher txscript.PrevOutputFetcher, flags txscript.ScriptFlags, skip ...int) error {
	hashes := txscript.NewTxSigHashes(tx, fetcher)
inputs:
	for i, in := range tx.TxIn {
		for _, s := range skip {
			if s == i {
				continue inputs
			}
		}
		prev := fetcher.FetchPrevOutput(in.PreviousOutPoint)
		vm, err := txscript.NewEngine(prev.PkScript, tx, i, flags, nil, hashes, prev.Value, fetcher)
		if err == nil {
			err = vm.Execute()
		}
		if err != nil {
			return psbtErr(ErrSignerCheck, i, "script verification failed: %v", err)
		}
	}
	return nil
}
