package dwn

import (
	"context"
	"sync"
)

// AccessVersioner is a Store that counts, per tenant, the writes that change who may do what
// in the tenant: every protocol definition stored (PutProtocol) and every record of
// PermissionsProtocol stored (a grant or a revocation written, updated or deleted through
// PutRecord). A Node keeps the protocol definitions and grants it reads from such a store in a
// per-tenant cache, and serves them from it only while the tenant's access version is the one
// it read them at; with other stores it reads them for every message. SQLiteStore and
// MemoryStore implement it.
//
// Implementations MUST change a tenant's access version in the same atomic step as each of
// those writes (a reader that sees the write sees the new version, and the other way round),
// whichever process or node makes the write, and MUST NOT ever return a version the tenant had
// before: a version identifies one state of the tenant's protocols and grants.
type AccessVersioner interface {
	Store
	// AccessVersion returns tenant's access version; 0 for a tenant never written.
	AccessVersion(ctx context.Context, tenant string) (uint64, error)
}

// Bounds of the access cache.
const (
	// accessCacheEntries is how many protocols and grants the access cache holds in all;
	// past it, tenants are dropped from it until there is room.
	accessCacheEntries = 16384
	// accessCacheTenantEntries is how many protocols and grants one tenant's entry holds;
	// past it, the entry starts again empty.
	accessCacheTenantEntries = 256
)

// accessCache holds, per tenant, the protocol definitions and grants a node read at one access
// version of the tenant. It is safe for concurrent use.
type accessCache struct {
	mu      sync.Mutex
	tenants map[string]*tenantAccess
	entries int // protocols and grants held, over all tenants
}

// tenantAccess is what a node read from one tenant at one access version.
type tenantAccess struct {
	version   uint64
	protocols map[string]*Protocol // by URI; nil: not installed at this version
	grants    map[string]*grantState
}

// grantState is what a grant check reads from the store: the properties of the grant record
// it checks, its data and whether a revocation of it exists.
type grantState struct {
	rec       grantRecord
	data      *grantData
	dataErr   error  // why the data does not read as a grant, when it does not
	revokedAt string // the creation date of a revocation; "" when none exists
}

// grantRecord holds the properties of a record a grant check looks at.
type grantRecord struct {
	Deleted                                                bool
	Protocol, ProtocolPath, Author, Recipient, DateCreated string
}

// size is how many protocols and grants t holds.
func (t *tenantAccess) size() int { return len(t.protocols) + len(t.grants) }

// entry returns tenant's entry at version, or nil.
func (c *accessCache) entry(tenant string, version uint64) *tenantAccess {
	if t := c.tenants[tenant]; t != nil && t.version == version {
		return t
	}
	return nil
}

// protocol returns the definition of uri cached for tenant at version: ok reports a hit, and a
// nil definition a protocol not installed at that version.
func (c *accessCache) protocol(tenant string, version uint64, uri string) (def *Protocol, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.entry(tenant, version); t != nil {
		def, ok = t.protocols[uri]
	}
	return def, ok
}

// grant returns the grant cached for tenant at version, or nil.
func (c *accessCache) grant(tenant string, version uint64, id string) *grantState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.entry(tenant, version); t != nil {
		return t.grants[id]
	}
	return nil
}

// put returns tenant's entry for version, making it when the cache holds an older one (or none);
// it returns nil when the cache holds a newer one (what the caller read is not kept). c.mu is
// held.
func (c *accessCache) put(tenant string, version uint64) *tenantAccess {
	if c.tenants == nil {
		c.tenants = map[string]*tenantAccess{}
	}
	t := c.tenants[tenant]
	switch {
	case t != nil && t.version > version:
		return nil
	case t != nil && t.version == version && t.size() < accessCacheTenantEntries:
		return t
	}
	if t != nil {
		c.entries -= t.size()
	}
	t = &tenantAccess{version: version, protocols: map[string]*Protocol{}, grants: map[string]*grantState{}}
	c.tenants[tenant] = t
	return t
}

// room drops tenants other than keep until one more entry fits; c.mu is held.
func (c *accessCache) room(keep string) {
	for k, t := range c.tenants {
		if c.entries < accessCacheEntries {
			return
		}
		if k != keep {
			c.entries -= t.size()
			delete(c.tenants, k)
		}
	}
}

// putProtocol keeps def (nil: not installed), read from tenant after it was seen at version.
func (c *accessCache) putProtocol(tenant string, version uint64, uri string, def *Protocol) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.put(tenant, version); t != nil {
		if _, ok := t.protocols[uri]; !ok {
			c.room(tenant)
			c.entries++
		}
		t.protocols[uri] = def
	}
}

// putGrant keeps g, read from tenant after it was seen at version.
func (c *accessCache) putGrant(tenant string, version uint64, id string, g *grantState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.put(tenant, version); t != nil {
		if _, ok := t.grants[id]; !ok {
			c.room(tenant)
			c.entries++
		}
		t.grants[id] = g
	}
}

// accessVersion returns the access version of tenant, and false when the store keeps none
// (nothing is then cached). Within one Process call (see admit), or the checks of one
// ProcessMany batch, a tenant's version is read once: the decisions rest on the protocols and
// grants as they stood at that version or later.
func (n *Node) accessVersion(ctx context.Context, tenant string) (uint64, bool, error) {
	if n.versions == nil {
		return 0, false, nil
	}
	memo, _ := ctx.Value(versionMemoKey{}).(*versionMemo)
	if memo != nil && memo.read && memo.tenant == tenant {
		return memo.version, true, nil
	}
	v, err := n.versions.AccessVersion(ctx, tenant)
	if err != nil {
		return 0, false, err
	}
	if memo != nil {
		memo.tenant, memo.version, memo.read = tenant, v, true
	}
	return v, true, nil
}

// versionMemo is the access version of one tenant that one Process call, or the checks of one
// ProcessMany batch, read.
type versionMemo struct {
	tenant  string
	version uint64
	read    bool
}

type versionMemoKey struct{}
