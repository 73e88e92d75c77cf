package dwn

import (
	"fmt"
	"testing"
)

// The access cache stays within its bounds however many tenants, protocols and grants pass
// through it, and its count of entries is the sum of what its tenants hold.
func TestAccessCacheBounds(t *testing.T) {
	var c accessCache
	check := func() {
		t.Helper()
		sum := 0
		for _, ta := range c.tenants {
			if ta.size() > accessCacheTenantEntries {
				t.Fatalf("a tenant holds %d entries, more than %d", ta.size(), accessCacheTenantEntries)
			}
			sum += ta.size()
		}
		if sum != c.entries {
			t.Fatalf("the cache counts %d entries, its tenants hold %d", c.entries, sum)
		}
		if c.entries > accessCacheEntries {
			t.Fatalf("%d entries, more than %d", c.entries, accessCacheEntries)
		}
	}
	// One tenant asked for ever new protocols (an attacker naming URIs that do not exist).
	for i := range 3 * accessCacheTenantEntries {
		c.putProtocol("did:example:target", 1, fmt.Sprint("https://example.com/p", i), nil)
	}
	check()
	// Many tenants, each with a protocol and a grant; versions moving on some.
	for i := range 2 * accessCacheEntries {
		tenant := fmt.Sprint("did:example:", i%(accessCacheEntries/2+7))
		v := uint64(i % 3)
		c.putProtocol(tenant, v, "https://example.com/p", &Protocol{})
		c.putGrant(tenant, v, fmt.Sprint("grant", i%5), &grantState{})
	}
	check()
	// An entry read at an older version than the one held is not kept.
	c.putProtocol("did:example:new", 5, "https://example.com/p", &Protocol{})
	c.putProtocol("did:example:new", 4, "https://example.com/q", &Protocol{})
	if _, ok := c.protocol("did:example:new", 4, "https://example.com/q"); ok {
		t.Fatal("an entry read at an older version replaced the newer one")
	}
	if _, ok := c.protocol("did:example:new", 5, "https://example.com/p"); !ok {
		t.Fatal("the newer entry is gone")
	}
	check()
}
