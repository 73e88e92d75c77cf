package anya

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/anya-org/anya-go/bridge/feed"
	"github.com/anya-org/anya-go/bridge/trigger"
	"github.com/anya-org/anya-go/security"
)

// Actions of the Manager's own crossings, besides the verified payment's (security.Action*).
const (
	// ActionLinkAddress: a BIP-322 proof of address ownership crosses into Web5 to be linked.
	ActionLinkAddress = "web5.link_address"
	// ActionScoreReputation: identity features cross into ML for the reputation model.
	ActionScoreReputation = "ml.score_reputation"
)

// ProvenanceWeb5Signature is the provenance check of the Web5→Bitcoin boundary: data attached
// to a payment ("attachment": {"jws": "<compact JWS>"}) must carry a valid signature by a key
// of a DID (listed under assertionMethod), and by the principal's DID when the security
// context names one.
const ProvenanceWeb5Signature = "web5.signature"

// DefaultBoundaries returns the Manager's trust boundaries: security.DefaultBoundaries, which
// fit the verified-payment workflow, extended for the Manager's other crossings:
//
//   - Bitcoin→Web5 also lets an address-link proof ({did, address}) through for
//     ActionLinkAddress.
//   - Web5→ML also lets identity features (numbers) through, for the fraud model
//     (security.ActionAssessRisk) and the reputation model (ActionScoreReputation); a
//     sender_did would still cross only as a keyed pseudonym, and the Manager sends none.
//   - Bitcoin→ML carries the transaction features of a payment ("features").
//   - The bridges' crossings: trigger.Boundaries (a linked transaction recorded in Web5, an
//     identity re-scored in ML) and feed.Boundaries (scores written back into Web5).
func DefaultBoundaries() []security.Boundary {
	bs := security.DefaultBoundaries()
	for i := range bs {
		b := &bs[i]
		switch {
		case b.From == security.Bitcoin && b.To == security.Web5:
			b.Actions = append(b.Actions, ActionLinkAddress)
		case b.From == security.Web5 && b.To == security.ML:
			b.Actions = append(b.Actions, ActionScoreReputation)
			b.Fields["identity_features"] = security.Field{Type: security.TypeObject}
		}
	}
	return trigger.Boundaries(feed.Boundaries(bs))
}

// checkWeb5Signature is the ProvenanceWeb5Signature check.
func (m *Manager) checkWeb5Signature(ctx context.Context, c security.Crossing) error {
	att, ok := c.Data["attachment"].(map[string]any)
	if !ok {
		return errors.New("no attachment")
	}
	token, ok := att["jws"].(string)
	if !ok || token == "" {
		return errors.New("the attachment carries no signature (jws)")
	}
	_, vm, err := m.resolver.VerifyJWS(ctx, token)
	if err != nil {
		return fmt.Errorf("attachment signature: %w", err)
	}
	signer, _, _ := strings.Cut(vm.ID, "#")
	if sc, ok := security.FromContext(ctx); ok && sc.Principal != "" && signer != sc.Principal {
		return fmt.Errorf("attachment signed by %s, not by the principal %s", signer, sc.Principal)
	}
	return nil
}

// cross passes data from one protocol to another through the boundaries (audited). A crossing
// cut short by cancellation is ctx.Err(), never a denial.
func (m *Manager) cross(ctx context.Context, from, to security.Protocol, action string, data map[string]any) (map[string]any, error) {
	out, err := m.bounds.Cross(ctx, string(from), string(to), action, data)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return out, err
}
