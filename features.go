package anya

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
)

// Identity feature names, shared by the fraud and reputation schemas of the shipped models.
const (
	FeatureDIDAgeDays       = "did_age_days"
	FeatureCredentials      = "credentials"
	FeatureKYCVerified      = "kyc_verified"
	FeatureAddressLinked    = "address_linked"
	FeaturePriorPayments    = "prior_payments"
	FeaturePriorReports     = "prior_reports"
	FeatureLinkedAddresses  = "linked_addresses"
	FeaturePriorVolumeBTC   = "prior_volume_btc"
	FeatureDisputes         = "disputes"
	FeatureDWNRecords       = "dwn_records"
	FeatureDIDMethod        = "did_method"
	FeatureServiceEndpoints = "service_endpoints"
	// FeatureIdentityKnown is 1 in a fraud vector whose sender's DID resolved.
	FeatureIdentityKnown = "identity_known"
)

// KYCCredentialType is the credential type that sets kyc_verified when a trusted issuer
// (WithTrustedIssuers) issued it.
const KYCCredentialType = "KYCCredential"

// identityState is what the Manager knows about a DID from its resolution and its records
// store, cached (identities) until a link or credential record of its tenant changes or
// DefaultCacheTTL passes. The counters of its history (stats) are read afresh each time.
type identityState struct {
	did        string
	method     string
	services   int
	firstSeen  time.Time
	registered bool
	links      []linkData // the address-link records in its store, oldest first
}

// identity returns the state of d, loading it on a miss. A DID that does not resolve is a
// *did.ResolutionError.
func (m *Manager) identity(ctx context.Context, d string) (*identityState, error) {
	return m.tiers.identities.GetOrLoad(ctx, d, m.loadIdentity)
}

func (m *Manager) loadIdentity(ctx context.Context, d string) (*identityState, error) {
	res, err := m.resolver.Resolve(ctx, d)
	if err != nil {
		return nil, err
	}
	parsed, _ := did.Parse(d)
	st := &identityState{did: d, method: parsed.Method, services: len(res.Document.Service)}
	row, err := m.state.seen(ctx, d, m.now())
	if err != nil {
		return nil, err
	}
	st.firstSeen, st.registered = row.FirstSeen, row.WriteGrant != ""
	if st.registered {
		m.noteDocument(ctx, d, res.Document)
		// The links the Manager issued (the bridges' protocol), and those of earlier versions
		// and other issuers kept under ProtocolURI.
		recs, err := m.queryRecords(ctx, d, PathLink, dwn.Filter{})
		if err != nil {
			return nil, fmt.Errorf("anya: links of %s: %w", d, err)
		}
		two, err := m.br.records.Query(ctx, d, bridge.PathLink, dwn.Filter{})
		if err != nil && !errors.Is(err, bridge.ErrNoGrant) {
			return nil, fmt.Errorf("anya: links of %s: %w", d, err)
		}
		for _, r := range append(recs, two...) {
			if l, err := decodeLink(r.Data); err == nil && l.Credential != "" {
				st.links = append(st.links, l)
			}
		}
	}
	return st, nil
}

// didMethodCode is the did_method feature: 0 did:key, 1 did:jwk, 2 did:web, 3 did:dht; other
// methods count as did:key (self-certifying, no history).
func didMethodCode(method string) float64 {
	switch method {
	case "jwk":
		return 1
	case "web":
		return 2
	case "dht":
		return 3
	}
	return 0
}

// identityFeatures computes the identity features of d: from its resolution (method, service
// endpoints), its links in its records store, and the Manager's counters of its history
// (first seen, credentials, payments, reports). address, when set, is the address whose link
// address_linked reports; otherwise any link counts.
func (m *Manager) identityFeatures(ctx context.Context, d, address string) (map[string]float64, error) {
	s, err := m.identity(ctx, d)
	if err != nil {
		return nil, err
	}
	st, err := m.state.stats(ctx, d)
	if err != nil {
		return nil, err
	}
	return s.features(m.now(), address, st), nil
}

func (s *identityState) features(now time.Time, address string, st stats) map[string]float64 {
	linked := 0.0
	addrs := map[string]bool{}
	for _, l := range s.links {
		addrs[l.Address] = true
		if address == "" || l.Address == address {
			linked = 1
		}
	}
	age := math.Floor(now.Sub(s.firstSeen).Hours()/24*10) / 10
	return map[string]float64{
		FeatureDIDAgeDays:       math.Max(age, 0),
		FeatureCredentials:      float64(st.Credentials),
		FeatureKYCVerified:      float64(min(st.KYC, 1)),
		FeatureAddressLinked:    linked,
		FeaturePriorPayments:    float64(st.Payments),
		FeaturePriorReports:     float64(st.Reports),
		FeatureLinkedAddresses:  float64(len(addrs)),
		FeaturePriorVolumeBTC:   float64(st.VolumeSat) / 1e8,
		FeatureDisputes:         float64(st.Disputes),
		FeatureDWNRecords:       float64(st.Records),
		FeatureDIDMethod:        didMethodCode(s.method),
		FeatureServiceEndpoints: float64(s.services),
	}
}

// txFeatures computes the bitcoin package's feature vector of tx (unconfirmed: dated at the
// next block) as named values, with spent outputs looked up on the chain.
func (m *Manager) txFeatures(ctx context.Context, tx *wire.MsgTx) (map[string]float64, error) {
	tip, err := m.chain.BestBlock(ctx)
	if err != nil {
		return nil, err
	}
	v, err := m.extractor.Tx(ctx, tx, tip.Height+1, nil)
	if err != nil {
		return nil, err
	}
	schema := bitcoin.TxFeatureSchema()
	out := make(map[string]float64, len(v))
	for i, name := range schema.Names {
		if i < len(v) {
			out[name] = float64(v[i])
		}
	}
	return out, nil
}

// ScriptUses answers the fraud features' address-reuse question (reuse_known,
// out_reused_count) from the chain's script index — bitcoin.ScriptHistory: simchain's, or
// btcd's address index through rpcchain — through BreakerChain. A chain without one cannot
// tell (known false), and the vectors say so.
func (g guardedChain) ScriptUses(ctx context.Context, pkScript []byte) (int, bool, error) {
	h, ok := g.chain.(bitcoin.ScriptHistory)
	if !ok {
		return 0, false, nil
	}
	type uses struct {
		n     int
		known bool
	}
	u, err := guard(ctx, g.m, BreakerChain, func(ctx context.Context) (uses, error) {
		n, known, err := h.ScriptUses(ctx, pkScript)
		return uses{n, known}, err
	})
	return u.n, u.known, err
}

var _ bitcoin.ScriptHistory = guardedChain{}
