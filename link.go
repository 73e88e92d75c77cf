package anya

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge/link"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didpkh"
	"github.com/anya-org/anya-go/web5/jose"
	"github.com/anya-org/anya-go/web5/vc"
)

// LinkCredentialType is the type of the credentials that link a DID to a Bitcoin address.
const LinkCredentialType = "BitcoinAddressLinkCredential"

// challengeHeader starts every one-way address-link challenge: the proof inside credentials
// of other issuers (WithTrustedIssuers) that carry only a BIP-322 signature.
const challengeHeader = "anya address link"

// Challenge returns a message that proves, once signed by both sides, that whoever controls
// address and the DID d links them: a BIP-322 signature by the key of address
// (Identity.SignChallenge, or any BIP-322 wallet) and a JWS by a key of d listed under
// authentication (the Manager makes it for the identities it holds keys for). It names both,
// the time, and a nonce only this Manager can compute (the two-way challenge of package
// bridge/link), and can be answered for DefaultChallengeTTL.
func (m *Manager) Challenge(d, address string) (string, error) {
	if m == nil || !m.built {
		return "", notConstructed()
	}
	if _, err := did.Parse(d); err != nil {
		return "", &OpError{Op: "Challenge", Field: "DID", Reason: "not a DID", Err: err}
	}
	if _, err := bitcoin.ParseAddress(address, m.net); err != nil {
		return "", &OpError{Op: "Challenge", Field: "Address", Reason: "not a " + m.net.String() + " address", Err: err}
	}
	return m.br.linker.Challenge(d, address)
}

// parsedChallenge is a one-way challenge's fields.
type parsedChallenge struct{ DID, Address, Issued, Nonce string }

func parseChallenge(ch string) (parsedChallenge, error) {
	lines := strings.Split(ch, "\n")
	if len(lines) != 5 || lines[0] != challengeHeader {
		return parsedChallenge{}, fmt.Errorf("%w: not an address-link challenge", ErrChallenge)
	}
	var p parsedChallenge
	for i, f := range []struct {
		name string
		dst  *string
	}{{"DID", &p.DID}, {"Address", &p.Address}, {"Issued", &p.Issued}, {"Nonce", &p.Nonce}} {
		v, ok := strings.CutPrefix(lines[i+1], f.name+": ")
		if !ok || v == "" {
			return parsedChallenge{}, fmt.Errorf("%w: line %d is not %q", ErrChallenge, i+2, f.name+": ...")
		}
		*f.dst = v
	}
	return p, nil
}

// BitcoinToWeb5 links a Bitcoin address to a DID, both ways (package bridge/link): Signature
// must be a BIP-322 signature by the address over Challenge (issued by Manager.Challenge for
// this DID and address), and JWS a compact JWS over the same challenge by a key of the DID
// listed under authentication — which the Manager makes itself, when JWS is empty, for an
// identity it holds keys for (NewIdentity, AddIdentity). The host then issues an address-link
// credential (issuer: the host's DID; subject: the DID; claims: the address as a did:pkh and a
// CAIP-10 account, the DID's verification method, both proofs; an entry in the host's
// revocation list), stores it in the DID's records store (bridge.PathLink), indexes it
// (Links().Index(): address → DIDs) and starts keeping the address's UTXOs as records in the
// DID's store (UTXOs). Execute returns a *Link.
type BitcoinToWeb5 struct {
	DID       string
	Address   string
	Challenge string
	Signature string
	JWS       string // optional for an identity the Manager holds keys for
}

// Link is an address linked to a DID (the result of BitcoinToWeb5).
type Link struct {
	DID        string
	Address    string
	Account    string    // the address as a did:pkh
	CAIP10     string    // the address as a CAIP-10 account id: bip122:<chain>:<address>
	Method     string    // the DID's verification method that signed the challenge
	Credential string    // the address-link credential, a VC-JWT
	RecordID   string    // the credential's record in the DID's records store (bridge.PathLink)
	LinkedAt   time.Time // when the credential was issued
	ValidUntil time.Time // the credential's expiry
}

func (*Link) direction() Direction { return DirectionBitcoinToWeb5 }

func (op BitcoinToWeb5) name() string { return "BitcoinToWeb5" }

func (op BitcoinToWeb5) execute(ctx context.Context, m *Manager) (Result, error) {
	return result(m.link(ctx, op))
}

func (m *Manager) link(ctx context.Context, op BitcoinToWeb5) (*Link, error) {
	if _, err := did.Parse(op.DID); err != nil {
		return nil, &OpError{Op: op.name(), Field: "DID", Reason: "not a DID", Err: err}
	}
	addr, err := bitcoin.ParseAddress(op.Address, m.net)
	if err != nil {
		return nil, &OpError{Op: op.name(), Field: "Address", Reason: "not a " + m.net.String() + " address", Err: err}
	}
	jws := op.JWS
	if jws == "" {
		// The DID's half of the proof, for an identity whose keys the Manager holds. The JWS
		// leaves the Manager only inside a credential, issued once the challenge and the
		// address's proof verified.
		m.idsMu.Lock()
		id := m.ids[op.DID]
		m.idsMu.Unlock()
		if id != nil {
			if jws, err = signChallenge(ctx, id.DID, op.Challenge); err != nil {
				return nil, err
			}
		}
	}
	// The proof is Bitcoin data crossing into Web5: it passes the boundary (and is audited).
	if _, err := m.cross(ctx, security.Bitcoin, security.Web5, ActionLinkAddress,
		map[string]any{"did": op.DID, "address": op.Address}); err != nil {
		return nil, err
	}
	lk, err := m.br.linker.Link(ctx, link.Proof{DID: op.DID, Address: op.Address, Challenge: op.Challenge, BIP322: op.Signature, JWS: jws})
	if err != nil {
		return nil, linkError(op.name(), err)
	}
	if err := m.state.addStats(ctx, op.DID, stats{Links: 1, Credentials: 1, Records: 1}); err != nil {
		return nil, err
	}
	m.invalidateIdentity(op.DID)
	if err := m.br.utxo.Track(ctx, op.DID, addr); err != nil {
		// The link stands; the next start tracks every linked address again.
		m.log.Warn("anya: track the UTXOs of a linked address", "did", op.DID, "address", op.Address, "err", err)
	}
	// Published once the UTXO record exists, so that the host applying the blocks finds it.
	m.publishLink(ctx, LinkChange{DID: lk.DID, Address: lk.Address})
	m.watchLinked(addr)
	return &Link{DID: lk.DID, Address: lk.Address, Account: lk.Account, CAIP10: strings.TrimPrefix(lk.Account, "did:pkh:"),
		Method: lk.Method, Credential: lk.Credential, RecordID: lk.RecordID, LinkedAt: lk.LinkedAt, ValidUntil: lk.ValidUntil}, nil
}

// signChallenge signs a link challenge as b, with a key listed under authentication.
func signChallenge(ctx context.Context, b *did.BearerDID, challenge string) (string, error) {
	s, err := b.Signer(ctx, did.ForRelationship(did.Authentication))
	if err != nil {
		return "", fmt.Errorf("%w: %s cannot sign the challenge: %w", ErrProof, b.DID, err)
	}
	return jose.SignJWS(ctx, s, []byte(challenge))
}

// linkError turns a link package failure into the Manager's errors: ErrChallenge, ErrProof or
// an *OpError, wrapping the *link.CheckError.
func linkError(op string, err error) error {
	var ce *link.CheckError
	switch {
	case !errors.As(err, &ce):
		return err
	case errors.Is(err, link.ErrChallenge):
		return fmt.Errorf("%w: %w", ErrChallenge, err)
	case errors.Is(err, link.ErrProof):
		return fmt.Errorf("%w: %w", ErrProof, err)
	case errors.Is(err, link.ErrInvalidArgument):
		return &OpError{Op: op, Field: ce.Check, Reason: ce.Reason, Err: err}
	}
	return err
}

// RevokeLink revokes the link the Manager issued between the DID d and address: its entry in
// the host's revocation list is set — every later verification of its credential fails with
// ReasonLinkRevoked, at once, on every host sharing the state (WithJetStream) too — it leaves
// the index (the other hosts' on TopicLinkChanged), and the UTXO bridge stops keeping the
// address's UTXOs in d's store. A link that does not exist is an error matching
// link.ErrNotLinked.
func (m *Manager) RevokeLink(ctx context.Context, d, address string) error {
	_, err := call(ctx, m, func() (struct{}, error) {
		addr, err := bitcoin.ParseAddress(address, m.net)
		if err != nil {
			return struct{}{}, &OpError{Op: "RevokeLink", Field: "Address", Reason: "not a " + m.net.String() + " address", Err: err}
		}
		if err := m.br.linker.Revoke(ctx, d, address); err != nil {
			return struct{}{}, err
		}
		m.invalidateIdentity(d)
		if err := m.br.utxo.Untrack(ctx, d, addr); err != nil {
			m.log.Warn("anya: stop tracking the UTXOs of a revoked link", "did", d, "address", address, "err", err)
		}
		m.publishLink(ctx, LinkChange{DID: d, Address: address, Revoked: true})
		return struct{}{}, nil
	})
	return err
}

// linkData is the data of a link record.
type linkData struct {
	Credential string `json:"credential"`
	Address    string `json:"address"`
}

// VerifyLink checks that DID controls Address through an address-link credential: Credential
// when given, otherwise the links stored in the DID's records store. Execute returns a
// *LinkVerification; a link that does not verify is a result (Verified false, with the
// reason), not an error.
type VerifyLink struct {
	DID        string
	Address    string
	Credential string // optional
}

// LinkVerification is the outcome of VerifyLink.
type LinkVerification struct {
	DID, Address string
	Verified     bool
	// Score is the share of the checks that passed, in [0, 1]: the DID resolves, the credential's
	// signature and validity period, a trusted issuer, the DID as subject, the address as
	// claim, and the BIP-322 proof inside it. Verified needs all of them.
	Score  float64
	Reason string // the first check that failed; empty when verified
	// Refusal is why the link did not verify, as a stable Reason with Reason above as its
	// message; nil when verified.
	Refusal *Refusal
	// Credential is the verified credential, as the security context holds it.
	Credential *security.Credential
}

// refuse marks v as not verified for reason r, with message.
func (v *LinkVerification) refuse(r Reason, message string) *LinkVerification {
	v.Verified, v.Reason = false, message
	v.Refusal = &Refusal{Reason: r, Message: message}
	return v
}

func (*LinkVerification) direction() Direction { return DirectionBitcoinToWeb5 }

func (op VerifyLink) name() string { return "VerifyLink" }

func (op VerifyLink) execute(ctx context.Context, m *Manager) (Result, error) {
	return result(m.verifyLinkOp(ctx, op))
}

func (m *Manager) verifyLinkOp(ctx context.Context, op VerifyLink) (*LinkVerification, error) {
	if _, err := did.Parse(op.DID); err != nil {
		return nil, &OpError{Op: op.name(), Field: "DID", Reason: "not a DID", Err: err}
	}
	if _, err := bitcoin.ParseAddress(op.Address, m.net); err != nil {
		return nil, &OpError{Op: op.name(), Field: "Address", Reason: "not a " + m.net.String() + " address", Err: err}
	}
	return m.verifyLink(ctx, op.DID, op.Address, op.Credential)
}

// linkChecks is how many checks a link verification makes.
const linkChecks = 6

// verifyLink verifies the link of d to address, through credential or the stored links.
func (m *Manager) verifyLink(ctx context.Context, d, address, credential string) (*LinkVerification, error) {
	best := &LinkVerification{DID: d, Address: address}
	st, err := m.identity(ctx, d)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // cut short, not a verdict
		}
		var re *did.ResolutionError
		if errors.As(err, &re) && !errors.Is(err, ErrUnavailable) {
			return best.refuse(ReasonDIDUnresolvable, "the DID does not resolve: "+re.Error()), nil
		}
		return nil, err
	}
	candidates := []string{credential}
	if credential == "" && m.js != nil && len(st.linksFor(address)) == 0 {
		// Another host may have linked the address since this one read the DID's store (its
		// event not here yet): the store as it is now answers before "not linked".
		if st, err = m.loadIdentity(ctx, d); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		m.invalidateIdentity(d)
	}
	if credential == "" {
		candidates = st.linksFor(address)
		switch {
		case len(candidates) > 0:
		case len(st.links) > 0:
			return best.refuse(ReasonAddressMismatch, fmt.Sprintf("%s is linked to %d other addresses, not to %s", d, st.linkedAddresses(),
				address)), nil
		default:
			return best.refuse(ReasonNoLink, "no address-link credential for "+d), nil
		}
	}
	for _, c := range candidates {
		v := m.checkLinkCached(ctx, d, address, c)
		if ctx.Err() != nil {
			return nil, ctx.Err() // a check cut short by cancellation is not a verdict
		}
		if v.Score > best.Score || best.Score == 0 {
			best = v
		}
		if v.Verified {
			break
		}
	}
	return best, nil
}

// checkLinkCached is checkLink with its verdicts cached: a credential is immutable, so its
// verdict holds until DefaultCacheTTL passes (issuer keys may rotate) or, for a verified one,
// the credential expires. A link deleted from the store stops being a candidate at once.
func (m *Manager) checkLinkCached(ctx context.Context, d, address, token string) *LinkVerification {
	// The key names the revocation list as it is: a revocation makes every verdict miss. With
	// WithJetStream, the list as the shared store holds it (another host may have revoked).
	url, list := m.br.linker.StatusList()
	if m.js != nil {
		fresh, err := m.br.linker.FetchStatusList(ctx, url)
		if err != nil { // unread: no cached verdict stands in for the check, which reads it or fails
			v := m.checkLink(ctx, d, address, token)
			cp := *v
			return &cp
		}
		list = fresh
	}
	sum, ls := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(list))
	key := d + "\n" + address + "\n" + hex.EncodeToString(sum[:]) + hex.EncodeToString(ls[:8])
	if v, ok := m.cachedVerdict(ctx, key); ok {
		cp := *v
		return &cp
	}
	v := m.checkLink(ctx, d, address, token)
	if ctx.Err() != nil {
		return v // a verdict cut short by cancellation is not a verdict
	}
	ttl := DefaultCacheTTL
	if v.Verified && !v.Credential.ExpiresAt.IsZero() {
		ttl = min(ttl, v.Credential.ExpiresAt.Sub(m.now()))
	}
	if ttl > 0 {
		m.cacheVerdict(key, v, ttl)
	}
	cp := *v
	return &cp
}

// checkLink runs the checks on one credential; the DID resolved already.
func (m *Manager) checkLink(ctx context.Context, d, address, token string) *LinkVerification {
	v := &LinkVerification{DID: d, Address: address}
	passed := 1 // the DID resolves
	fail := func(r Reason, message string) *LinkVerification {
		v.Score = float64(passed) / linkChecks
		return v.refuse(r, message)
	}
	cred, err := m.verifier.Verify(ctx, token)
	if err != nil {
		r := ReasonLinkInvalid
		switch {
		case errors.Is(err, vc.ErrExpired):
			r = ReasonLinkExpired
		case errors.Is(err, vc.ErrRevoked), errors.Is(err, vc.ErrSuspended):
			r = ReasonLinkRevoked
		}
		return fail(r, "credential: "+err.Error())
	}
	passed++
	if !cred.HasType(LinkCredentialType) {
		return fail(ReasonLinkInvalid, "not a "+LinkCredentialType)
	}
	if !m.trusted[cred.Issuer.ID] {
		return fail(ReasonUntrustedIssuer, "issuer "+cred.Issuer.ID+" is not trusted")
	}
	passed++
	if len(cred.CredentialSubject) != 1 || cred.CredentialSubject[0].ID() != d {
		return fail(ReasonLinkInvalid, "the credential's subject is not "+d)
	}
	passed++
	sub := cred.CredentialSubject[0]
	if a, _ := sub["address"].(string); a != address {
		return fail(ReasonAddressMismatch, "the credential links another address")
	}
	pkh, err := didpkh.FromAddress(didpkh.ChainOf(m.chain.Params()), address)
	if acct, _ := sub["account"].(string); err != nil || acct != pkh.String() {
		return fail(ReasonAddressMismatch, "the credential's account is not the address on this chain")
	}
	passed++
	proof, _ := sub["proof"].(map[string]any)
	if t, _ := proof["type"].(string); t == link.ProofType {
		// A two-way link: the linker checks both proofs again, and its revocation list as it
		// is now.
		if _, err := m.br.linker.Verify(ctx, token, d, address); err != nil {
			if errors.Is(err, link.ErrRevoked) {
				return fail(ReasonLinkRevoked, "the link was revoked")
			}
			return fail(ReasonLinkInvalid, "the two-way proof: "+err.Error())
		}
	} else {
		ch, _ := proof["challenge"].(string)
		sig, _ := proof["signature"].(string)
		p, err := parseChallenge(ch)
		if err != nil || p.DID != d || p.Address != address {
			return fail(ReasonLinkInvalid, "the proof's challenge does not name the DID and address")
		}
		addr, _ := bitcoin.ParseAddress(address, m.net)
		res, err := bitcoin.VerifyMessage(ctx, addr, ch, sig)
		if err != nil || res.Result != bitcoin.Valid {
			return fail(ReasonLinkInvalid, "the BIP-322 proof does not verify")
		}
	}
	passed++
	v.Verified, v.Score = true, 1
	from, until := cred.ValidityPeriod()
	v.Credential = &security.Credential{ID: cred.ID, Types: cred.Type, Issuer: cred.Issuer.ID, Subject: d, IssuedAt: from,
		ExpiresAt: until, Claims: map[string]any{"address": address, "account": pkh.String()}}
	return v
}

// linksFor returns the stored link credentials naming address, newest first.
func (s *identityState) linksFor(address string) []string {
	var out []string
	for i := len(s.links) - 1; i >= 0; i-- {
		if s.links[i].Address == address {
			out = append(out, s.links[i].Credential)
		}
	}
	return out
}

// linkedAddresses returns how many distinct addresses the stored links name.
func (s *identityState) linkedAddresses() int {
	seen := map[string]bool{}
	for _, l := range s.links {
		seen[l.Address] = true
	}
	return len(seen)
}

// decodeLink reads a link record's data.
func decodeLink(data []byte) (linkData, error) {
	var l linkData
	err := json.Unmarshal(data, &l)
	return l, err
}
