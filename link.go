package anya

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didpkh"
	"github.com/anya-org/anya-go/web5/vc"
)

// LinkCredentialType is the type of the credentials that link a DID to a Bitcoin address.
const LinkCredentialType = "BitcoinAddressLinkCredential"

// challengeHeader starts every address-link challenge.
const challengeHeader = "anya address link"

// maxChallengeSkew is how far in the future a challenge's issue time may be.
const maxChallengeSkew = time.Minute

// Challenge returns a message that proves, once signed with BIP-322 by the key of address
// (Identity.SignChallenge, or any BIP-322 wallet), that whoever controls address links it to
// the DID d. It names both, the time, and a nonce only this Manager can compute, and can be
// answered for DefaultChallengeTTL.
func (m *Manager) Challenge(d, address string) (string, error) {
	if _, err := did.Parse(d); err != nil {
		return "", &OpError{Op: "Challenge", Field: "DID", Reason: "not a DID", Err: err}
	}
	if _, err := bitcoin.ParseAddress(address, m.net); err != nil {
		return "", &OpError{Op: "Challenge", Field: "Address", Reason: "not a " + m.net.String() + " address", Err: err}
	}
	issued := m.now().UTC().Truncate(time.Second).Format(time.RFC3339)
	return fmt.Sprintf("%s\nDID: %s\nAddress: %s\nIssued: %s\nNonce: %s", challengeHeader, d, address, issued,
		m.challengeNonce(d, address, issued)), nil
}

func (m *Manager) challengeNonce(d, address, issued string) string {
	mac := hmac.New(sha256.New, m.challengeKey)
	mac.Write([]byte(d + "\n" + address + "\n" + issued))
	return hex.EncodeToString(mac.Sum(nil))
}

// parsedChallenge is a challenge's fields.
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

// checkChallenge verifies that ch is a challenge this Manager issued for d and address that
// has not expired.
func (m *Manager) checkChallenge(ch, d, address string) error {
	p, err := parseChallenge(ch)
	if err != nil {
		return err
	}
	if p.DID != d || p.Address != address {
		return fmt.Errorf("%w: it names %s and %s", ErrChallenge, p.DID, p.Address)
	}
	want := m.challengeNonce(p.DID, p.Address, p.Issued)
	if !hmac.Equal([]byte(want), []byte(p.Nonce)) {
		return fmt.Errorf("%w: not issued by this host", ErrChallenge)
	}
	issued, err := time.Parse(time.RFC3339, p.Issued)
	if err != nil {
		return fmt.Errorf("%w: issue time: %v", ErrChallenge, err)
	}
	now := m.now()
	if now.Before(issued.Add(-maxChallengeSkew)) || now.After(issued.Add(DefaultChallengeTTL)) {
		return fmt.Errorf("%w: issued %s, outside its %s validity", ErrChallenge, p.Issued, DefaultChallengeTTL)
	}
	return nil
}

// BitcoinToWeb5 links a Bitcoin address to a DID: Signature must be a BIP-322 signature by the
// address over Challenge (issued by Manager.Challenge for this DID and address). The host then
// issues an address-link credential (issuer: the host's DID; subject: the DID; claim: the
// address as a did:pkh and a CAIP-10 account, with the proof) and stores it in the DID's
// records store. Execute returns a *Link.
type BitcoinToWeb5 struct {
	DID       string
	Address   string
	Challenge string
	Signature string
}

// Link is an address linked to a DID (the result of BitcoinToWeb5).
type Link struct {
	DID        string
	Address    string
	Account    string    // the address as a did:pkh
	CAIP10     string    // the address as a CAIP-10 account id: bip122:<chain>:<address>
	Credential string    // the address-link credential, a VC-JWT
	RecordID   string    // the credential's record in the DID's records store
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
	if err := m.checkChallenge(op.Challenge, op.DID, op.Address); err != nil {
		return nil, err
	}
	v, err := bitcoin.VerifyMessage(ctx, addr, op.Challenge, op.Signature)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProof, err)
	}
	if v.Result != bitcoin.Valid {
		return nil, fmt.Errorf("%w: BIP-322 verification %s: %s", ErrProof, v.Result, v.Reason)
	}
	// The proof is Bitcoin data crossing into Web5: it passes the boundary (and is audited).
	if _, err := m.cross(ctx, security.Bitcoin, security.Web5, ActionLinkAddress,
		map[string]any{"did": op.DID, "address": op.Address}); err != nil {
		return nil, err
	}
	pkh, err := didpkh.FromAddress(didpkh.ChainOf(m.chain.Params()), op.Address)
	if err != nil {
		return nil, &OpError{Op: op.name(), Field: "Address", Reason: "no did:pkh form", Err: err}
	}
	now := m.now()
	until := now.Add(DefaultLinkValidity).UTC().Truncate(time.Second)
	caip10 := pkh.ID // did:pkh:<CAIP-10 account>
	cred, err := vc.New(m.host.String(), vc.Subject{
		"id":      op.DID,
		"account": pkh.String(),
		"caip10":  caip10,
		"address": op.Address,
		"proof":   map[string]any{"type": "BIP322", "challenge": op.Challenge, "signature": op.Signature},
	}, vc.WithType(LinkCredentialType), vc.ValidFrom(m.now().UTC().Truncate(time.Second)), vc.ValidUntil(until))
	if err != nil {
		return nil, err
	}
	token, err := cred.Sign(ctx, m.host, vc.WithIssuedAt(m.now()))
	if err != nil {
		return nil, err
	}
	msg, err := m.newRecord(ctx, op.DID, PathLink, op.DID, linkData{Credential: token, Address: op.Address})
	if err != nil {
		return nil, err
	}
	rec, err := m.process(ctx, op.DID, msg)
	if err != nil {
		return nil, fmt.Errorf("anya: store the link in %s's records: %w", op.DID, err)
	}
	if err := m.state.addStats(ctx, op.DID, stats{Links: 1, Credentials: 1, Records: 1}); err != nil {
		return nil, err
	}
	m.identities.Invalidate(op.DID)
	return &Link{DID: op.DID, Address: op.Address, Account: pkh.String(), CAIP10: caip10, Credential: token,
		RecordID: rec.ID, ValidUntil: until}, nil
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
	// Credential is the verified credential, as the security context holds it.
	Credential *security.Credential
}

func (*LinkVerification) direction() Direction { return DirectionBitcoinToWeb5 }

func (op VerifyLink) name() string { return "VerifyLink" }

func (op VerifyLink) execute(ctx context.Context, m *Manager) (Result, error) {
	if _, err := did.Parse(op.DID); err != nil {
		return nil, &OpError{Op: op.name(), Field: "DID", Reason: "not a DID", Err: err}
	}
	if _, err := bitcoin.ParseAddress(op.Address, m.net); err != nil {
		return nil, &OpError{Op: op.name(), Field: "Address", Reason: "not a " + m.net.String() + " address", Err: err}
	}
	return result(m.verifyLink(ctx, op.DID, op.Address, op.Credential))
}

// linkChecks is how many checks a link verification makes.
const linkChecks = 6

// verifyLink verifies the link of d to address, through credential or the stored links.
func (m *Manager) verifyLink(ctx context.Context, d, address, credential string) (*LinkVerification, error) {
	best := &LinkVerification{DID: d, Address: address, Reason: "no address-link credential for this address"}
	st, err := m.identity(ctx, d)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // cut short, not a verdict
		}
		var re *did.ResolutionError
		if errors.As(err, &re) {
			best.Reason = "the DID does not resolve: " + re.Error()
			return best, nil
		}
		return nil, err
	}
	candidates := []string{credential}
	if credential == "" {
		candidates = st.linksFor(address)
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
	sum := sha256.Sum256([]byte(token))
	key := d + "\n" + address + "\n" + hex.EncodeToString(sum[:])
	if v, ok := m.verdicts.Get(key); ok {
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
		_ = m.verdicts.SetWithTTL(key, v, ttl)
	}
	cp := *v
	return &cp
}

// checkLink runs the checks on one credential; the DID resolved already.
func (m *Manager) checkLink(ctx context.Context, d, address, token string) *LinkVerification {
	v := &LinkVerification{DID: d, Address: address}
	passed := 1 // the DID resolves
	fail := func(reason string) *LinkVerification {
		v.Score = float64(passed) / linkChecks
		v.Reason = reason
		return v
	}
	cred, err := m.verifier.Verify(ctx, token)
	if err != nil {
		return fail("credential: " + err.Error())
	}
	passed++
	if !cred.HasType(LinkCredentialType) {
		return fail("not a " + LinkCredentialType)
	}
	if !m.trusted[cred.Issuer.ID] {
		return fail("issuer " + cred.Issuer.ID + " is not trusted")
	}
	passed++
	if len(cred.CredentialSubject) != 1 || cred.CredentialSubject[0].ID() != d {
		return fail("the credential's subject is not " + d)
	}
	passed++
	sub := cred.CredentialSubject[0]
	if a, _ := sub["address"].(string); a != address {
		return fail("the credential links another address")
	}
	pkh, err := didpkh.FromAddress(didpkh.ChainOf(m.chain.Params()), address)
	if acct, _ := sub["account"].(string); err != nil || acct != pkh.String() {
		return fail("the credential's account is not the address on this chain")
	}
	passed++
	proof, _ := sub["proof"].(map[string]any)
	ch, _ := proof["challenge"].(string)
	sig, _ := proof["signature"].(string)
	p, err := parseChallenge(ch)
	if err != nil || p.DID != d || p.Address != address {
		return fail("the proof's challenge does not name the DID and address")
	}
	addr, _ := bitcoin.ParseAddress(address, m.net)
	res, err := bitcoin.VerifyMessage(ctx, addr, ch, sig)
	if err != nil || res.Result != bitcoin.Valid {
		return fail("the BIP-322 proof does not verify")
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

// decodeLink reads a link record's data.
func decodeLink(data []byte) (linkData, error) {
	var l linkData
	err := json.Unmarshal(data, &l)
	return l, err
}
