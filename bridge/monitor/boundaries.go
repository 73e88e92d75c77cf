package monitor

import (
	"context"
	"slices"

	"github.com/anya-org/anya-go/security"
)

// Host is the protocol name of the host application on the far side of the ML→host boundary:
// scores reach the host (the bus, its alerting) only through it.
const Host security.Protocol = "host"

// Boundary actions of the monitor's crossings.
const (
	// ActionScore: a batch's transaction features (bitcoin→ml) and its linked senders' identity
	// features (web5→ml) crossing into ML to be scored.
	ActionScore = "ml.score_transactions"
	// ActionReport: a batch's scores crossing from ML to the host.
	ActionReport = "host.fraud_scores"
)

// Fields of the crossings. Only numbers and feature names cross into ML — no txid, address or
// DID (data minimisation): the monitor keeps them and pairs the scores up with them afterwards.
//
//	bitcoin→ml  {"feature_names": [...], "feature_rows": [[...], ...]}            one row per transaction
//	web5→ml     {"feature_names": [...], "feature_rows": [[...]], "row_index": [...]}  one row per linked sender
//	ml→host     {"model": "fraud@1", "scores": [...], "factors": [[...], ...]}   factors only at or above the threshold
const (
	FieldFeatureNames = "feature_names"
	FieldFeatureRows  = "feature_rows"
	FieldRowIndex     = "row_index"
	FieldModel        = "model"
	FieldScores       = "scores"
	FieldFactors      = "factors"
)

// DefaultReportMaxBytes bounds the ml→host crossing of the boundary Boundaries creates: a
// batch of MaxBatchLimit scores with their factors.
const DefaultReportMaxBytes = 1 << 20

// Boundary checks each crossing: a *security.Boundaries, built with boundaries that include the
// monitor's (Boundaries or ExtendBoundaries) and, to audit, security.WithAudit.
type Boundary interface {
	Cross(ctx context.Context, from, to, action string, data map[string]any) (map[string]any, error)
}

var _ Boundary = (*security.Boundaries)(nil)

// Boundaries returns the monitor's three boundaries on their own: bitcoin→ml and web5→ml for
// ActionScore, ml→host for ActionReport, each allowing exactly the fields the monitor sends.
// The feature batches use security.DefaultMaxBytes, which fits DefaultMaxBatch rows;
// a larger WithMaxBatch needs a larger MaxBytes.
func Boundaries() []security.Boundary { return ExtendBoundaries(nil) }

// ExtendBoundaries returns bs with the monitor's crossings allowed: ActionScore and its fields
// are added to the bitcoin→ml and web5→ml boundaries (created when bs has none), and an ml→host
// boundary is added for ActionReport unless bs has one, which then gets the action and fields
// added. Everything else about the given boundaries — their policies, scopes, size limits,
// personal-data detection — applies to the monitor's crossings as it is. bs is not modified.
func ExtendBoundaries(bs []security.Boundary) []security.Boundary {
	out := make([]security.Boundary, len(bs))
	copy(out, bs)
	list := security.Field{Type: security.TypeList}
	add := func(from, to security.Protocol, action string, fields map[string]security.Field, fresh security.Boundary) {
		for i := range out {
			b := &out[i]
			if b.From != from || b.To != to {
				continue
			}
			if len(b.Actions) > 0 && !slices.Contains(b.Actions, action) {
				b.Actions = append(slices.Clone(b.Actions), action)
			}
			fs := make(map[string]security.Field, len(b.Fields)+len(fields))
			for k, v := range b.Fields {
				fs[k] = v
			}
			for k, v := range fields {
				fs[k] = v
			}
			b.Fields = fs
			return
		}
		fresh.From, fresh.To, fresh.Actions, fresh.Fields = from, to, []string{action}, fields
		out = append(out, fresh)
	}
	// No field is marked required: the fields join those of boundaries other crossings use too.
	// The monitor checks what comes back itself (ErrCrossedData).
	add(security.Bitcoin, security.ML, ActionScore, map[string]security.Field{FieldFeatureNames: list, FieldFeatureRows: list},
		security.Boundary{DetectPII: true})
	add(security.Web5, security.ML, ActionScore, map[string]security.Field{FieldFeatureNames: list, FieldFeatureRows: list, FieldRowIndex: list},
		security.Boundary{DetectPII: true})
	report := map[string]security.Field{FieldModel: {Type: security.TypeString}, FieldScores: list, FieldFactors: list}
	add(security.ML, Host, ActionReport, report, security.Boundary{MaxBytes: DefaultReportMaxBytes})
	return out
}
