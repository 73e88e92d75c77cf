package did

import (
	"encoding/json"
	"time"

	"github.com/anya-org/anya-go/web5/internal/fastjson"
)

// ResolutionContext is the JSON-LD context of a DID resolution result.
const ResolutionContext = "https://w3id.org/did-resolution/v1"

// Media types of DID document representations.
const (
	MediaTypeDIDJSON   = "application/did+json"
	MediaTypeDIDLDJSON = "application/did+ld+json"
)

// Result is a DID resolution result. It marshals to the W3C shape:
//
//	{"@context": ..., "didResolutionMetadata": {...}, "didDocument": {...} | null, "didDocumentMetadata": {...}}
//
// A Result returned by a Resolver may be shared with other callers: treat it as read-only.
type Result struct {
	ResolutionMetadata ResolutionMetadata
	Document           *Document
	DocumentMetadata   DocumentMetadata

	// TTL is how long the result may be cached: 0 means the resolver's default, a negative
	// value means not at all. Method resolvers set it (from DNS TTLs, HTTP caching headers,
	// or a long time for deterministic methods); it is not part of the JSON form.
	TTL time.Duration
}

// ResolutionMetadata is DID resolution metadata.
type ResolutionMetadata struct {
	ContentType string `json:"contentType,omitempty"`
	Error       string `json:"error,omitempty"`
	// Gateway is the did:dht gateway the document was resolved from.
	Gateway string `json:"gateway,omitempty"`
}

// DocumentMetadata is DID document metadata.
type DocumentMetadata struct {
	Created       string   `json:"created,omitempty"`
	Updated       string   `json:"updated,omitempty"`
	Deactivated   bool     `json:"deactivated,omitempty"`
	NextUpdate    string   `json:"nextUpdate,omitempty"`
	VersionID     string   `json:"versionId,omitempty"`
	NextVersionID string   `json:"nextVersionId,omitempty"`
	EquivalentID  []string `json:"equivalentId,omitempty"`
	CanonicalID   string   `json:"canonicalId,omitempty"`
	// Types are the did:dht type-index values of the DID.
	Types []int `json:"types,omitempty"`
}

type resultJSON struct {
	Context            string             `json:"@context"`
	ResolutionMetadata ResolutionMetadata `json:"didResolutionMetadata"`
	Document           *Document          `json:"didDocument"`
	DocumentMetadata   DocumentMetadata   `json:"didDocumentMetadata"`
}

// MarshalJSON writes the W3C resolution result shape.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(resultJSON{ResolutionContext, r.ResolutionMetadata, r.Document, r.DocumentMetadata})
}

// UnmarshalJSON reads the W3C resolution result shape.
func (r *Result) UnmarshalJSON(b []byte) error {
	var v resultJSON
	if err := fastjson.Decode(b, &v); err != nil {
		return err
	}
	*r = Result{ResolutionMetadata: v.ResolutionMetadata, Document: v.Document, DocumentMetadata: v.DocumentMetadata}
	return nil
}

// ErrorResult returns the result of a failed resolution: no document, and the error's
// code in the resolution metadata.
func ErrorResult(err error) *Result {
	return &Result{ResolutionMetadata: ResolutionMetadata{Error: codeOf(err)}}
}
