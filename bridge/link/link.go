package link

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/didpkh"
	"github.com/anya-org/anya-go/web5/vc"
)

// CredentialType is the type of the credentials that link a DID and a Bitcoin address.
const CredentialType = "BitcoinAddressLinkCredential"

// ProofType names the two-way proof inside a link credential.
const ProofType = "BIP322+JWS"

// Defaults.
const (
	// DefaultChallengeTTL is how long a challenge can be answered.
	DefaultChallengeTTL = 10 * time.Minute
	// DefaultValidity is how long a link credential is valid.
	DefaultValidity = 365 * 24 * time.Hour
	// MaxChallengeSkew is how far in the future a challenge's issue time may be.
	MaxChallengeSkew = time.Minute
)

// challengeHeader starts every challenge.
const challengeHeader = "anya two-way address link"

// Errors of the package. Check failures are *CheckError values matching one of them.
var (
	// ErrInvalidOption: a constructor option refused (see *OptionError).
	ErrInvalidOption = errors.New("link: invalid option")
	// ErrInvalidArgument: not a DID, not an address of the network.
	ErrInvalidArgument = errors.New("link: invalid argument")
	// ErrChallenge: a challenge not issued by this linker, for other parties, or expired.
	ErrChallenge = errors.New("link: bad challenge")
	// ErrProof: the address's BIP-322 signature or the DID's JWS does not prove control.
	ErrProof = errors.New("link: proof does not verify")
	// ErrCredential: the link credential does not verify (signature, validity, issuer, claims).
	ErrCredential = errors.New("link: credential does not verify")
	// ErrRevoked: the link was revoked (its status list entry is set).
	ErrRevoked = errors.New("link: revoked")
	// ErrNotLinked: no link between the DID and the address.
	ErrNotLinked = errors.New("link: not linked")
)

// OptionError names the option a constructor refused. It matches ErrInvalidOption.
type OptionError struct {
	Option string
	Value  any
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("link: option %s = %v: %s", e.Option, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

// CheckError says which check of a link failed. It matches its sentinel (ErrChallenge,
// ErrProof, ErrCredential, ErrRevoked, ...) and wraps the cause.
type CheckError struct {
	Check  string // "challenge", "bip322", "jws", "credential", "issuer", "subject", "status", ...
	Reason string
	Kind   error // the sentinel
	Err    error // the cause, if any
}

func (e *CheckError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("link: %s: %s: %v", e.Check, e.Reason, e.Err)
	}
	return fmt.Sprintf("link: %s: %s", e.Check, e.Reason)
}

// Unwrap returns the sentinel and the cause.
func (e *CheckError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func fail(kind error, check, reason string, err error) error {
	return &CheckError{Check: check, Reason: reason, Kind: kind, Err: err}
}

// Link is a verified link between a DID and an address: its metadata and its credential.
type Link struct {
	DID     string `json:"did"`
	Address string `json:"address"`
	// Account is the address as a did:pkh.
	Account string `json:"account"`
	// Method is the DID's verification method that signed the challenge.
	Method string `json:"method"`
	// LinkedAt is when the link was issued; ValidUntil when its credential expires.
	LinkedAt   time.Time `json:"linkedAt"`
	ValidUntil time.Time `json:"validUntil"`
	// StatusIndex is the credential's entry in the issuer's revocation list.
	StatusIndex int `json:"statusIndex"`
	// Credential is the link credential (a VC-JOSE-COSE vc+jwt).
	Credential string `json:"credential"`
	// RecordID is the link's record in the DID's store ("" when not stored).
	RecordID string `json:"recordId,omitempty"`
}

// challenge is a parsed challenge.
type challenge struct{ DID, Address, Issued, Nonce string }

func formatChallenge(c challenge) string {
	return fmt.Sprintf("%s\nDID: %s\nAddress: %s\nIssued: %s\nNonce: %s", challengeHeader, c.DID, c.Address, c.Issued, c.Nonce)
}

func parseChallenge(s string) (challenge, error) {
	lines := strings.Split(s, "\n")
	if len(lines) != 5 || lines[0] != challengeHeader {
		return challenge{}, fail(ErrChallenge, "challenge", "not a two-way link challenge", nil)
	}
	var c challenge
	for i, f := range []struct {
		name string
		dst  *string
	}{{"DID", &c.DID}, {"Address", &c.Address}, {"Issued", &c.Issued}, {"Nonce", &c.Nonce}} {
		v, ok := strings.CutPrefix(lines[i+1], f.name+": ")
		if !ok || v == "" {
			return challenge{}, fail(ErrChallenge, "challenge", fmt.Sprintf("line %d is not %q", i+2, f.name+": ..."), nil)
		}
		*f.dst = v
	}
	if formatChallenge(c) != s {
		return challenge{}, fail(ErrChallenge, "challenge", "not in canonical form", nil)
	}
	return c, nil
}

// nonces computes and checks challenge nonces with a secret key.
type nonces struct{ key []byte }

func newKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	return k
}

func (n nonces) nonce(d, addr, issued string) string {
	mac := hmac.New(sha256.New, n.key)
	mac.Write([]byte(d + "\n" + addr + "\n" + issued))
	return hex.EncodeToString(mac.Sum(nil))
}

// accountOf returns the did:pkh of address on net.
func accountOf(address string, net bitcoin.Network) (string, error) {
	d, err := didpkh.FromAddress(didpkh.ChainOf(net.Params()), address)
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// checkProofs verifies the two halves of a link proof: the address's BIP-322 signature of
// the challenge and the DID's JWS over the same bytes, by a key listed under authentication.
// It returns the DID's verification method ID.
func checkProofs(ctx context.Context, r *did.Resolver, net bitcoin.Network, d, address, ch, bip322, jws string) (string, error) {
	addr, err := bitcoin.ParseAddress(address, net)
	if err != nil {
		return "", fail(ErrInvalidArgument, "address", "not a "+net.String()+" address", err)
	}
	v, err := bitcoin.VerifyMessage(ctx, addr, ch, bip322)
	if err != nil {
		return "", fail(ErrProof, "bip322", "undecodable signature", err)
	}
	if v.Result != bitcoin.Valid {
		return "", fail(ErrProof, "bip322", fmt.Sprintf("%s: %s", v.Result, v.Reason), nil)
	}
	parsed, vm, err := r.VerifyJWS(ctx, jws, did.WithPurpose(did.Authentication))
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fail(ErrProof, "jws", "does not verify", err)
	}
	signer, _, _ := strings.Cut(vm.ID, "#")
	if signer != d {
		return "", fail(ErrProof, "jws", "signed by "+signer+", not by "+d, nil)
	}
	if string(parsed.Payload) != ch {
		return "", fail(ErrProof, "jws", "signs other bytes than the challenge", nil)
	}
	return vm.ID, nil
}

// credentialOf builds the link credential's subject.
func subjectOf(l *Link, ch, bip322, jws string) vc.Subject {
	return vc.Subject{
		"id": l.DID, "address": l.Address, "account": l.Account, "method": l.Method,
		"proof": map[string]any{"type": ProofType, "challenge": ch, "bip322": bip322, "jws": jws},
	}
}
