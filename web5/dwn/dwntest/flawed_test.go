package dwntest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/dwn/dwntest"
)

// flawed wraps the memory store with one flaw, to show the suite catches it.
type flawed struct {
	dwn.Store
	flaw string
}

func (f *flawed) tenant(t string) string {
	if f.flaw == "shared-tenants" {
		return "did:example:everyone"
	}
	return t
}

func (f *flawed) ctx(ctx context.Context) context.Context {
	if f.flaw == "ignores-context" {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (f *flawed) Record(ctx context.Context, tenant, id string) (*dwn.Record, error) {
	return f.Store.Record(f.ctx(ctx), f.tenant(tenant), id)
}

func (f *flawed) PutRecord(ctx context.Context, tenant string, r *dwn.Record, prev string) error {
	if f.flaw == "unconditional" {
		prev = ""
		if cur, err := f.Store.Record(ctx, f.tenant(tenant), r.ID); err == nil {
			prev = cur.Latest.CID()
		}
	}
	return f.Store.PutRecord(f.ctx(ctx), f.tenant(tenant), r, prev)
}

func (f *flawed) Query(ctx context.Context, tenant string, q dwn.StoreQuery) ([]*dwn.Record, error) {
	rs, err := f.Store.Query(f.ctx(ctx), f.tenant(tenant), q)
	if f.flaw == "unsorted" && len(rs) > 1 {
		slices.Reverse(rs)
	}
	return rs, err
}

func (f *flawed) Protocol(ctx context.Context, tenant, uri string) (*dwn.Message, error) {
	return f.Store.Protocol(f.ctx(ctx), f.tenant(tenant), uri)
}

func (f *flawed) PutProtocol(ctx context.Context, tenant string, m *dwn.Message, prev string) error {
	return f.Store.PutProtocol(f.ctx(ctx), f.tenant(tenant), m, prev)
}

func (f *flawed) Protocols(ctx context.Context, tenant string) ([]*dwn.Message, error) {
	return f.Store.Protocols(f.ctx(ctx), f.tenant(tenant))
}

func (f *flawed) Close() error {
	if f.flaw == "no-close" {
		return nil
	}
	return f.Store.Close()
}

// TestFlawedStore runs the suite against one flawed store when the parent test asks for
// it (in a child process, since the suite is meant to fail there).
func TestFlawedStore(t *testing.T) {
	flaw := os.Getenv("DWNTEST_FLAW")
	if flaw == "" {
		t.Skip("run by TestSuiteCatchesFlaws")
	}
	dwntest.Run(t, func(t *testing.T) dwn.Store {
		f := &flawed{Store: dwn.NewMemoryStore(), flaw: flaw}
		if flaw == "grants-unversioned" {
			return &protocolsOnlyVersions{flawed: f, versions: map[string]uint64{}}
		}
		return f
	})
}

// protocolsOnlyVersions keeps access versions that move with protocol definitions but not with
// grants and revocations.
type protocolsOnlyVersions struct {
	*flawed
	mu       sync.Mutex
	versions map[string]uint64
}

func (p *protocolsOnlyVersions) PutProtocol(ctx context.Context, tenant string, m *dwn.Message, prev string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.flawed.PutProtocol(ctx, tenant, m, prev); err != nil {
		return err
	}
	p.versions[tenant]++
	return nil
}

func (p *protocolsOnlyVersions) AccessVersion(ctx context.Context, tenant string) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.versions[tenant], ctx.Err()
}

func TestSuiteCatchesFlaws(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the test binary once per flaw")
	}
	for flaw, wantFailing := range map[string][]string{
		"shared-tenants":     {"TenantIsolation"},
		"unconditional":      {"ConditionalPut"},
		"unsorted":           {"SortAndCursor", "Filters"},
		"ignores-context":    {"Context"},
		"no-close":           {"Close"},
		"grants-unversioned": {"AccessVersion"},
	} {
		t.Run(flaw, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFlawedStore$", "-test.count=1")
			cmd.Env = append(os.Environ(), "DWNTEST_FLAW="+flaw)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed a store that %s (%v):\n%s", flaw, err, out)
			}
			for _, name := range wantFailing {
				if !strings.Contains(string(out), "--- FAIL: TestFlawedStore/"+name) {
					t.Errorf("subtest %s did not catch the flaw:\n%s", name, out)
				}
			}
		})
	}
}
