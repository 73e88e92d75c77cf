package didweb

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/anya-org/anya-go/web5/did"
)

// Handler is an http.Handler serving did:web documents where their DIDs say they live:
// the document of did:web:example.com at /.well-known/did.json, that of
// did:web:example.com:user:alice at /user/alice/did.json. A request is matched on its Host
// (the did:web's host and port, as a resolver sends them; a proxy in front must keep it)
// and its path, and answered with the document as application/did+json. Only GET and HEAD
// are allowed (405 otherwise); anything else is 404. The zero value serves nothing and is
// ready to use; it is safe for concurrent use.
type Handler struct {
	mu   sync.RWMutex
	docs map[string][]byte // host (lower case) + path → document JSON
}

var _ http.Handler = (*Handler)(nil)

// MediaType is the content type a Handler serves documents with.
const MediaType = did.MediaTypeDIDJSON

// NewHandler returns a Handler serving docs (see Put).
func NewHandler(docs ...*did.Document) (*Handler, error) {
	h := &Handler{}
	for _, d := range docs {
		if err := h.Put(d); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// key returns where the document of d is served: its host (lower case) and path.
func key(d did.DID) (string, error) {
	u, err := documentURL(d, false)
	if err != nil {
		return "", err
	}
	return strings.ToLower(u.Host) + u.Path, nil
}

// Put serves doc, replacing the document of the same DID. The document must be a valid
// DID document whose id is a did:web (an invalidDid *did.ResolutionError otherwise, or the
// document's *did.DocumentError); it is encoded now, so later changes to doc are not
// served until Put again.
func (h *Handler) Put(doc *did.Document) error {
	if doc == nil {
		return &did.OptionError{Option: "doc", Reason: "nil"}
	}
	d, err := did.Parse(doc.ID)
	if err != nil {
		return did.NewError(did.CodeInvalidDID, doc.ID, err)
	}
	k, err := key(d)
	if err != nil {
		return err
	}
	if err := doc.Validate(); err != nil {
		return err
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.docs == nil {
		h.docs = make(map[string][]byte)
	}
	h.docs[k] = body
	return nil
}

// Delete stops serving the document of the DID id; a DID not served is ignored.
func (h *Handler) Delete(id string) {
	d, err := did.Parse(id)
	if err != nil {
		return
	}
	k, err := key(d)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.docs, k)
}

// ServeHTTP answers GET and HEAD requests for the documents put into h.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.mu.RLock()
	body, ok := h.docs[strings.ToLower(r.Host)+r.URL.Path]
	h.mu.RUnlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", MediaType)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}
