package vc

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/anya-org/anya-go/web5/netguard"
)

// Schema types a verifier validates against.
const (
	TypeJsonSchema     = "JsonSchema"     // VC JSON Schema (2.0)
	TypeJsonSchema2023 = "JsonSchema2023" // the 1.1-era name Web5 SDKs use
)

// SchemaLoader loads JSON Schema documents by URL.
type SchemaLoader interface {
	LoadSchema(ctx context.Context, url string) ([]byte, error)
}

// SchemaLoaderFunc adapts a function to SchemaLoader.
type SchemaLoaderFunc func(ctx context.Context, url string) ([]byte, error)

// LoadSchema calls f.
func (f SchemaLoaderFunc) LoadSchema(ctx context.Context, url string) ([]byte, error) {
	return f(ctx, url)
}

// HTTPSchemas loads schemas over HTTP(S), guarded and bounded as HTTPStatusLists is (the
// URLs come from credentialSchema entries and from $refs inside schemas).
func HTTPSchemas(opts ...netguard.Option) (SchemaLoader, error) {
	c, err := fetchClient(opts)
	if err != nil {
		return nil, err
	}
	return SchemaLoaderFunc(func(ctx context.Context, url string) ([]byte, error) {
		resp, err := c.Get(ctx, url, "application/schema+json, application/json")
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return resp.Body, nil
	}), nil
}

// schemaCacheSize bounds the compiled schemas a verifier keeps.
const schemaCacheSize = 256

// schemaCache compiles and keeps schemas by URL (least recently used evicted).
type schemaCache struct {
	loader SchemaLoader
	mu     sync.Mutex
	items  map[string]*list.Element
	order  *list.List
}

type schemaEntry struct {
	url string
	sch *jsonschema.Schema
}

func newSchemaCache(l SchemaLoader) *schemaCache {
	return &schemaCache{loader: l, items: make(map[string]*list.Element), order: list.New()}
}

func (c *schemaCache) get(ctx context.Context, url string) (*jsonschema.Schema, error) {
	c.mu.Lock()
	if el, ok := c.items[url]; ok {
		c.order.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*schemaEntry).sch, nil
	}
	c.mu.Unlock()
	sch, err := compileSchema(ctx, c.loader, url)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items[url] = c.order.PushFront(&schemaEntry{url, sch})
	for c.order.Len() > schemaCacheSize {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*schemaEntry).url)
	}
	return sch, nil
}

// loaderAdapter lets the compiler follow $refs through the SchemaLoader, with the ctx of
// the verification that compiles the schema. It keeps the first loading error, which the
// compiler reports only as text.
type loaderAdapter struct {
	ctx context.Context
	l   SchemaLoader
	err *error
}

func (a loaderAdapter) Load(url string) (any, error) {
	b, err := a.l.LoadSchema(a.ctx, url)
	if err != nil {
		if *a.err == nil {
			*a.err = err
		}
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

func compileSchema(ctx context.Context, l SchemaLoader, url string) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	var loadErr error
	c.UseLoader(loaderAdapter{ctx, l, &loadErr})
	sch, err := c.Compile(url)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if loadErr != nil {
			return nil, fmt.Errorf("%w: schema %s: %w", ErrSchema, url, loadErr)
		}
		return nil, fmt.Errorf("%w: schema %s: %v", ErrSchema, url, err)
	}
	return sch, nil
}

// check validates c against each of its credentialSchema entries.
func (c *schemaCache) check(ctx context.Context, cred *Credential) error {
	if len(cred.CredentialSchema) == 0 {
		return nil
	}
	raw, err := cred.MarshalJSON()
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	for _, s := range cred.CredentialSchema {
		switch s.Type {
		case TypeJsonSchema, TypeJsonSchema2023:
		default:
			return fmt.Errorf("%w: schema type %q is not supported", ErrSchema, s.Type)
		}
		sch, err := c.get(ctx, s.ID)
		if err != nil {
			return err
		}
		if err := sch.Validate(doc); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrSchema, s.ID, err)
		}
	}
	return nil
}
