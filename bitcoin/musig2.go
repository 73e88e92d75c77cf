package bitcoin

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcec/v2/schnorr/musig2"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
)

// MuSig2 (BIP-327). Key aggregation (with tweaks), key sorting and nonce generation come
// from btcec/v2/schnorr/musig2. Partial signing, partial verification and aggregation are
// the BIP's algorithms written out here over btcec's field types because btcec's versions
// take a fixed 32-byte message and BIP-327 signs messages of any length.

// Sizes of MuSig2 values on the wire.
const (
	MuSig2PubNonceSize   = musig2.PubNonceSize // 66: two compressed points
	MuSig2PartialSigSize = 32
)

// keyAggCtx is BIP-327's KeyAgg context: the aggregate key Q with its tweak accumulators,
// plus what signing needs to recompute each key's coefficient.
type keyAggCtx struct {
	keys     []*btcec.PublicKey
	keysHash []byte
	second   []byte // compressed second distinct key, nil when all keys are equal
	q        *btcec.PublicKey
	gacc     btcec.ModNScalar
	tacc     btcec.ModNScalar
}

// parseMuSigKey parses a plain (33-byte compressed) public key as BIP-327's cpoint does.
func parseMuSigKey(b []byte) (*btcec.PublicKey, error) {
	if len(b) != 33 || (b[0] != 2 && b[0] != 3) {
		return nil, errors.New("not a 33-byte compressed point")
	}
	return btcec.ParsePubKey(b)
}

// musigKeyAgg aggregates keys in the order given and applies tweaks. Key errors blame the
// signer at fault.
func musigKeyAgg(pks [][]byte, tweaks []musig2.KeyTweakDesc) (*keyAggCtx, error) {
	if len(pks) == 0 {
		return nil, &MuSig2Error{Signer: -1, Reason: "no public keys"}
	}
	keys := make([]*btcec.PublicKey, len(pks))
	for i, b := range pks {
		k, err := parseMuSigKey(b)
		if err != nil {
			return nil, &MuSig2Error{Signer: i, Contribution: "pubkey", Reason: err.Error()}
		}
		keys[i] = k
	}
	return musigKeyAggKeys(keys, tweaks)
}

func musigKeyAggKeys(keys []*btcec.PublicKey, tweaks []musig2.KeyTweakDesc) (*keyAggCtx, error) {
	agg, gacc, tacc, err := musig2.AggregateKeys(keys, false, musig2.WithKeyTweaks(tweaks...))
	if err != nil {
		switch {
		case errors.Is(err, musig2.ErrTweakedKeyOverflows):
			return nil, &MuSig2Error{Signer: -1, Reason: "the tweak must be less than n"}
		case errors.Is(err, musig2.ErrTweakedKeyIsInfinity):
			return nil, &MuSig2Error{Signer: -1, Reason: "the result of tweaking cannot be infinity"}
		}
		return nil, &MuSig2Error{Signer: -1, Reason: err.Error()}
	}
	ctx := &keyAggCtx{keys: keys, q: agg.FinalKey, gacc: *gacc, tacc: *tacc}
	var list bytes.Buffer
	first := keys[0].SerializeCompressed()
	for _, k := range keys {
		c := k.SerializeCompressed()
		list.Write(c)
		if ctx.second == nil && !bytes.Equal(c, first) {
			ctx.second = c
		}
	}
	ctx.keysHash = chainhash.TaggedHash(musig2.KeyAggTagList, list.Bytes())[:]
	return ctx, nil
}

// coefficient returns KeyAggCoeff for pk, or ok=false when pk is not among the keys.
func (c *keyAggCtx) coefficient(pk []byte) (a btcec.ModNScalar, ok bool) {
	for _, k := range c.keys {
		if bytes.Equal(k.SerializeCompressed(), pk) {
			ok = true
			break
		}
	}
	if !ok {
		return a, false
	}
	if c.second != nil && bytes.Equal(pk, c.second) {
		a.SetInt(1)
		return a, true
	}
	h := chainhash.TaggedHash(musig2.KeyAggTagCoeff, c.keysHash, pk)
	a.SetByteSlice(h[:])
	return a, true
}

// cpointExt parses a 33-byte point, where 33 zero bytes encode infinity.
func cpointExt(b []byte) (btcec.JacobianPoint, error) {
	var p btcec.JacobianPoint
	if bytes.Equal(b, make([]byte, 33)) {
		return p, nil
	}
	k, err := parseMuSigKey(b)
	if err != nil {
		return p, err
	}
	k.AsJacobian(&p)
	return p, nil
}

// musigNonceAgg sums the signers' public nonces (BIP-327 NonceAgg).
func musigNonceAgg(pubnonces [][]byte) ([MuSig2PubNonceSize]byte, error) {
	var out [MuSig2PubNonceSize]byte
	for half := 0; half < 2; half++ {
		var sum btcec.JacobianPoint
		for i, n := range pubnonces {
			if len(n) != MuSig2PubNonceSize {
				return out, &MuSig2Error{Signer: i, Contribution: "pubnonce", Reason: fmt.Sprintf("%d bytes, want 66", len(n))}
			}
			k, err := parseMuSigKey(n[half*33 : half*33+33])
			if err != nil {
				return out, &MuSig2Error{Signer: i, Contribution: "pubnonce", Reason: err.Error()}
			}
			var p btcec.JacobianPoint
			k.AsJacobian(&p)
			btcec.AddNonConst(&sum, &p, &sum)
		}
		if !isInfinity(&sum) {
			sum.ToAffine()
			copy(out[half*33:], btcec.NewPublicKey(&sum.X, &sum.Y).SerializeCompressed())
		}
	}
	return out, nil
}

// musigSessionValues are BIP-327's GetSessionValues: Q, b, R and e for one message.
type musigSessionValues struct {
	kc *keyAggCtx
	b  btcec.ModNScalar
	r  btcec.JacobianPoint // affine
	e  btcec.ModNScalar
}

func newMusigSession(kc *keyAggCtx, aggnonce []byte, msg []byte) (*musigSessionValues, error) {
	if len(aggnonce) != MuSig2PubNonceSize {
		return nil, &MuSig2Error{Signer: -1, Contribution: "aggnonce", Reason: "wrong length"}
	}
	r1, err := cpointExt(aggnonce[:33])
	if err != nil {
		return nil, &MuSig2Error{Signer: -1, Contribution: "aggnonce", Reason: err.Error()}
	}
	r2, err := cpointExt(aggnonce[33:])
	if err != nil {
		return nil, &MuSig2Error{Signer: -1, Contribution: "aggnonce", Reason: err.Error()}
	}
	qx := schnorr.SerializePubKey(kc.q)
	s := &musigSessionValues{kc: kc}
	bh := chainhash.TaggedHash(musig2.NonceBlindTag, aggnonce, qx, msg)
	s.b.SetByteSlice(bh[:])
	var br2 btcec.JacobianPoint
	btcec.ScalarMultNonConst(&s.b, &r2, &br2)
	btcec.AddNonConst(&r1, &br2, &s.r)
	if isInfinity(&s.r) {
		btcec.GeneratorJacobian(&s.r)
	}
	s.r.ToAffine()
	rx := xBytes(&s.r)
	s.e = challenge(rx[:], qx, msg)
	return s, nil
}

// g returns 1 if Q has even Y, n-1 otherwise.
func (s *musigSessionValues) g() btcec.ModNScalar {
	var g btcec.ModNScalar
	g.SetInt(1)
	if s.kc.q.SerializeCompressed()[0] == 0x03 {
		g.Negate()
	}
	return g
}

// musigSign is BIP-327 Sign. secnonce (97 bytes: k1, k2, pk) is zeroed on every path.
func musigSign(secnonce []byte, priv *btcec.PrivateKey, s *musigSessionValues) ([]byte, error) {
	defer clear(secnonce)
	if len(secnonce) != musig2.SecNonceSize {
		return nil, &MuSig2Error{Signer: -1, Reason: "secret nonce is not 97 bytes"}
	}
	var k1, k2 btcec.ModNScalar
	if overflow := k1.SetByteSlice(secnonce[:32]); overflow || k1.IsZero() {
		return nil, &MuSig2Error{Signer: -1, Reason: "first secnonce value is out of range"}
	}
	if overflow := k2.SetByteSlice(secnonce[32:64]); overflow || k2.IsZero() {
		return nil, &MuSig2Error{Signer: -1, Reason: "second secnonce value is out of range"}
	}
	if s.r.Y.IsOdd() {
		k1.Negate()
		k2.Negate()
	}
	if priv == nil || priv.Key.IsZero() {
		return nil, &MuSig2Error{Signer: -1, Reason: "secret key is out of range"}
	}
	pk := priv.PubKey().SerializeCompressed()
	if !bytes.Equal(pk, secnonce[64:]) {
		return nil, &MuSig2Error{Signer: -1, Reason: "public key does not match nonce_gen argument"}
	}
	a, ok := s.kc.coefficient(pk)
	if !ok {
		return nil, &MuSig2Error{Signer: -1, Reason: "the signer's pubkey must be included in the list of pubkeys"}
	}
	g := s.g()
	// d = g*gacc*d'; s = k1 + b*k2 + e*a*d
	d := priv.Key
	d.Mul(&g).Mul(&s.kc.gacc)
	var ead, bk2 btcec.ModNScalar
	ead.Mul2(&s.e, &a).Mul(&d)
	bk2.Mul2(&s.b, &k2)
	sum := new(btcec.ModNScalar).Add2(&k1, &bk2).Add(&ead)
	psig := sum.Bytes()
	d.Zero()
	k1.Zero()
	k2.Zero()
	return psig[:], nil
}

// musigPartialVerify is BIP-327 PartialSigVerifyInternal. signer indexes errors.
func musigPartialVerify(psig, pubnonce, pk []byte, s *musigSessionValues, signer int) error {
	var sc btcec.ModNScalar
	if len(psig) != MuSig2PartialSigSize || sc.SetByteSlice(psig) {
		return &MuSig2Error{Signer: signer, Contribution: "psig", Reason: "partial signature out of range"}
	}
	if len(pubnonce) != MuSig2PubNonceSize {
		return &MuSig2Error{Signer: signer, Contribution: "pubnonce", Reason: "wrong length"}
	}
	var rs [2]btcec.JacobianPoint
	for half := range rs {
		k, err := parseMuSigKey(pubnonce[half*33 : half*33+33])
		if err != nil {
			return &MuSig2Error{Signer: signer, Contribution: "pubnonce", Reason: err.Error()}
		}
		k.AsJacobian(&rs[half])
	}
	// Re = R1 + b*R2, negated when R has odd Y.
	var re, br2 btcec.JacobianPoint
	btcec.ScalarMultNonConst(&s.b, &rs[1], &br2)
	btcec.AddNonConst(&rs[0], &br2, &re)
	if s.r.Y.IsOdd() {
		negate(&re)
	}
	p, err := parseMuSigKey(pk)
	if err != nil {
		return &MuSig2Error{Signer: signer, Contribution: "pubkey", Reason: err.Error()}
	}
	a, ok := s.kc.coefficient(pk)
	if !ok {
		return &MuSig2Error{Signer: signer, Contribution: "pubkey", Reason: "not among the aggregated keys"}
	}
	g := s.g()
	g.Mul(&s.kc.gacc)
	// s*G == Re + e*a*g'*P
	var lhs, rhs, pj, eagP btcec.JacobianPoint
	btcec.ScalarBaseMultNonConst(&sc, &lhs)
	p.AsJacobian(&pj)
	var k btcec.ModNScalar
	k.Mul2(&s.e, &a).Mul(&g)
	btcec.ScalarMultNonConst(&k, &pj, &eagP)
	btcec.AddNonConst(&re, &eagP, &rhs)
	if !pointsEqual(&lhs, &rhs) {
		return &MuSig2Error{Signer: signer, Contribution: "psig", Reason: "partial signature does not verify"}
	}
	return nil
}

// musigPartialAgg is BIP-327 PartialSigAgg: the final BIP-340 signature.
func musigPartialAgg(psigs [][]byte, s *musigSessionValues) ([]byte, error) {
	var sum btcec.ModNScalar
	for i, ps := range psigs {
		var v btcec.ModNScalar
		if len(ps) != MuSig2PartialSigSize || v.SetByteSlice(ps) {
			return nil, &MuSig2Error{Signer: i, Contribution: "psig", Reason: "partial signature out of range"}
		}
		sum.Add(&v)
	}
	g := s.g()
	var et btcec.ModNScalar
	et.Mul2(&s.e, &g).Mul(&s.kc.tacc)
	sum.Add(&et)
	rx := xBytes(&s.r)
	sig := make([]byte, 64)
	copy(sig, rx[:])
	sum.PutBytesUnchecked(sig[32:])
	return sig, nil
}

func negate(p *btcec.JacobianPoint) {
	p.ToAffine()
	p.Y.Negate(1)
	p.Y.Normalize()
}

func pointsEqual(a, b *btcec.JacobianPoint) bool {
	ai, bi := isInfinity(a), isInfinity(b)
	if ai || bi {
		return ai == bi
	}
	a.ToAffine()
	b.ToAffine()
	return a.X.Equals(&b.X) && a.Y.Equals(&b.Y)
}

// MuSig2AggregateKey returns the BIP-327 aggregate of keys after sorting them (KeySort):
// the untweaked key a MuSig2 taproot output uses as its internal key.
func MuSig2AggregateKey(keys []*btcec.PublicKey) (*btcec.PublicKey, error) {
	sorted, err := sortedPubKeys(keys)
	if err != nil {
		return nil, err
	}
	kc, err := musigKeyAggKeys(sorted, nil)
	if err != nil {
		return nil, err
	}
	return kc.q, nil
}

// MuSig2Session is one signer's state for producing one MuSig2 partial signature. It
// holds a fresh secret nonce, which Sign consumes: a session signs exactly once, and a
// second Sign returns ErrNonceReused. Sessions are not safe for concurrent use. Create one
// with [Multisig.NewMuSig2Session]: a zero session has no nonce (Index is -1) and Sign
// returns a [*NotConstructedError].
type MuSig2Session struct {
	priv     *btcec.PrivateKey
	kc       *keyAggCtx
	index    int // this signer's position in the multisig's Keys
	secnonce []byte
	pubnonce [MuSig2PubNonceSize]byte
	used     bool
}

func newMuSig2Session(priv *btcec.PrivateKey, kc *keyAggCtx, order []*btcec.PublicKey, rnd io.Reader) (*MuSig2Session, error) {
	if priv == nil {
		return nil, fmt.Errorf("%w: nil private key", ErrInvalidKey)
	}
	pk := priv.PubKey().SerializeCompressed()
	idx := -1
	for i, k := range order {
		if bytes.Equal(k.SerializeCompressed(), pk) {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, &MuSig2Error{Signer: -1, Contribution: "pubkey", Reason: "signing key is not one of the multisig keys"}
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	n, err := musig2.GenNonces(
		musig2.WithPublicKey(priv.PubKey()),
		musig2.WithNonceSecretKeyAux(priv),
		musig2.WithNonceCombinedKeyAux(kc.q),
		musig2.WithCustomRand(rnd),
	)
	if err != nil {
		return nil, &MuSig2Error{Signer: -1, Reason: "nonce generation: " + err.Error()}
	}
	s := &MuSig2Session{priv: priv, kc: kc, index: idx, secnonce: n.SecNonce[:], pubnonce: n.PubNonce}
	return s, nil
}

// PublicNonce returns the 66-byte public nonce to send to the other signers.
func (s *MuSig2Session) PublicNonce() []byte {
	if s.constructed() != nil {
		return nil
	}
	return bytes.Clone(s.pubnonce[:])
}

// Index returns this signer's position in the multisig's Keys, which is where its public
// nonce and partial signature go in the slices Sign and Combine take; -1 for a zero
// session.
func (s *MuSig2Session) Index() int {
	if s.constructed() != nil {
		return -1
	}
	return s.index
}

// constructed returns a [*NotConstructedError] for a zero MuSig2Session.
func (s *MuSig2Session) constructed() error {
	if s == nil || s.kc == nil {
		return notConstructed("MuSig2Session", "Multisig.NewMuSig2Session")
	}
	return nil
}

// Sign returns this signer's 32-byte partial signature of msg (any length). pubNonces
// holds every signer's public nonce in key order (Keys of the multisig); this signer's
// own must be at Index. The secret nonce is erased whatever the outcome.
func (s *MuSig2Session) Sign(msg []byte, pubNonces [][]byte) ([]byte, error) {
	if err := s.constructed(); err != nil {
		return nil, err
	}
	if s.used {
		return nil, ErrNonceReused
	}
	s.used = true
	defer clear(s.secnonce)
	if len(pubNonces) != len(s.kc.keys) {
		return nil, &MuSig2Error{Signer: -1, Reason: fmt.Sprintf("%d public nonces for %d keys", len(pubNonces), len(s.kc.keys))}
	}
	if !bytes.Equal(pubNonces[s.index], s.pubnonce[:]) {
		return nil, &MuSig2Error{Signer: s.index, Contribution: "pubnonce", Reason: "own public nonce is not at this signer's index"}
	}
	agg, err := musigNonceAgg(pubNonces)
	if err != nil {
		return nil, err
	}
	sv, err := newMusigSession(s.kc, agg[:], msg)
	if err != nil {
		return nil, err
	}
	return musigSign(s.secnonce, s.priv, sv)
}

// musigCombine verifies every partial signature (blaming the signer of a bad one),
// aggregates them and checks the result against the aggregate key. Nonces and partial
// signatures are indexed like order.
func musigCombine(kc *keyAggCtx, order []*btcec.PublicKey, msg []byte, pubNonces, partials [][]byte) ([]byte, error) {
	if len(pubNonces) != len(kc.keys) || len(partials) != len(kc.keys) {
		return nil, &MuSig2Error{Signer: -1, Reason: fmt.Sprintf("%d nonces and %d partial signatures for %d keys", len(pubNonces), len(partials), len(kc.keys))}
	}
	agg, err := musigNonceAgg(pubNonces)
	if err != nil {
		return nil, err
	}
	sv, err := newMusigSession(kc, agg[:], msg)
	if err != nil {
		return nil, err
	}
	for i := range partials {
		if err := musigPartialVerify(partials[i], pubNonces[i], order[i].SerializeCompressed(), sv, i); err != nil {
			return nil, err
		}
	}
	sig, err := musigPartialAgg(partials, sv)
	if err != nil {
		return nil, err
	}
	if !VerifySchnorr(schnorr.SerializePubKey(kc.q), msg, sig) {
		return nil, &MuSig2Error{Signer: -1, Reason: "aggregate signature does not verify"}
	}
	return sig, nil
}
