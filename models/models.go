package models

import (
	"context"
	"embed"
	"io/fs"

	"github.com/anya-org/anya-go/ml"
)

// Names of the shipped models.
const (
	// Fraud scores a payment's fraud probability from the fraud schema (transaction + identity).
	Fraud = "fraud"
	// Reputation scores an identity's probability of being reputable from the reputation schema.
	Reputation = "reputation"
)

//go:generate go run ../cmd/anya model train --out .

//go:embed fraud reputation
var files embed.FS

// FS returns the shipped models as a registry tree: <name>/<version>/{model.onnx, model.json,
// card.json, card.png}.
func FS() fs.FS { return files }

// Registry returns a read-only registry over the shipped models.
func Registry() *ml.Registry { return ml.OpenRegistryFS(files) }

// Load returns the latest shipped version of the named model, sha256-verified.
func Load(ctx context.Context, name string) (*ml.Model, error) {
	return Registry().Load(ctx, name, "")
}
