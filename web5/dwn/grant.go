package dwn

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Scope is what a permission grant allows: one interface and method, optionally limited to
// one protocol.
type Scope struct {
	Interface string `json:"interface"`
	Method    string `json:"method"`
	Protocol  string `json:"protocol,omitempty"`
}

// Grant is a permission grant: the tenant (the grantor) lets Grantee perform what Scope
// names in its tenant until Expires. A grant is a record of the PermissionsProtocol whose
// recipient is the grantee; NewGrant builds its message and NewRevocation revokes it.
type Grant struct {
	Grantee     string
	Scope       Scope
	Expires     time.Time
	Description string
}

// grantData is the JSON data of a grant record, in the shape Decentralized Web Nodes use.
type grantData struct {
	DateExpires string `json:"dateExpires"`
	Scope       Scope  `json:"scope"`
	Description string `json:"description,omitempty"`
	Delegated   bool   `json:"delegated,omitempty"`
}

var grantable = map[string]bool{
	"Records.Write": true, "Records.Read": true, "Records.Query": true, "Records.Delete": true,
	"Protocols.Configure": true, "Protocols.Query": true,
}

func parseGrantData(data []byte) (*grantData, error) {
	var g grantData
	if err := strictUnmarshal(data, &g); err != nil {
		return nil, invalid("encodedData", "grant: %v", err)
	}
	if _, err := parseTimestamp("encodedData.dateExpires", g.DateExpires); err != nil {
		return nil, err
	}
	if !grantable[g.Scope.Interface+"."+g.Scope.Method] {
		return nil, invalid("encodedData.scope", "cannot grant %s.%s", g.Scope.Interface, g.Scope.Method)
	}
	if g.Scope.Protocol != "" {
		if err := checkURI("encodedData.scope.protocol", g.Scope.Protocol); err != nil {
			return nil, err
		}
		if g.Scope.Protocol == PermissionsProtocol {
			return nil, invalid("encodedData.scope.protocol", "permissions cannot be delegated")
		}
	}
	if g.Delegated {
		return nil, invalid("encodedData.delegated", "delegated grants are not supported")
	}
	return &g, nil
}

// checkGrant checks that grantID names a live, unrevoked, unexpired grant of tenant to
// author covering action (interface.method) on protocol at message time ts.
func (n *Node) checkGrant(ctx context.Context, tenant, author, grantID, iface, method, protocol, ts string) error {
	deny := func(reason string, err error) error {
		return &ForbiddenError{Author: author, Tenant: tenant, Action: iface + "." + method, Reason: reason, Err: err}
	}
	gs, err := n.grant(ctx, tenant, grantID)
	if errors.Is(err, ErrNotFound) {
		return deny("permission grant "+grantID+" not found", ErrNotFound)
	}
	if err != nil {
		return err
	}
	g := gs.rec
	if g.Deleted {
		return deny("permission grant deleted", ErrGrantRevoked)
	}
	if g.Protocol != PermissionsProtocol || g.ProtocolPath != "grant" || g.Author != tenant {
		return deny("record "+grantID+" is not a grant of the tenant", nil)
	}
	if g.Recipient != author {
		return deny("permission grant is for another DID", nil)
	}
	if gs.dataErr != nil {
		return deny("unreadable permission grant", gs.dataErr)
	}
	data := gs.data
	now := Timestamp(n.now())
	if ts < g.DateCreated {
		return deny("message predates the grant", nil)
	}
	if now >= data.DateExpires || ts >= data.DateExpires {
		return deny("permission grant expired at "+data.DateExpires, ErrGrantExpired)
	}
	if gs.revokedAt != "" {
		return deny("permission grant revoked at "+gs.revokedAt, ErrGrantRevoked)
	}
	s := data.Scope
	if s.Interface != iface || s.Method != method {
		return deny("permission grant is for "+s.Interface+"."+s.Method, nil)
	}
	if s.Protocol != "" && s.Protocol != protocol {
		return deny("permission grant is for protocol "+s.Protocol, nil)
	}
	return nil
}

// grant reads what a grant check needs of record id in tenant: the record, its grant data and
// whether a revocation of it exists. A record of PermissionsProtocol comes from the tenant's
// access cache while the store's access version of the tenant is the one it was read at (every
// grant and revocation written, updated or deleted changes the version); other records are
// read every time.
func (n *Node) grant(ctx context.Context, tenant, id string) (*grantState, error) {
	version, cached, err := n.accessVersion(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if cached {
		if gs := n.access.grant(tenant, version, id); gs != nil {
			return gs, nil
		}
	}
	rec, err := n.store.Record(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	gs := &grantState{rec: grantRecord{Deleted: rec.Deleted, Protocol: rec.Protocol, ProtocolPath: rec.ProtocolPath,
		Author: rec.Author, Recipient: rec.Recipient, DateCreated: rec.DateCreated}}
	if rec.Deleted || rec.Protocol != PermissionsProtocol || rec.ProtocolPath != "grant" || rec.Author != tenant {
		if cached && rec.Protocol == PermissionsProtocol {
			n.access.putGrant(tenant, version, id, gs)
		}
		return gs, nil
	}
	if gs.data, gs.dataErr = parseGrantData(rec.Data); gs.dataErr == nil {
		revs, err := n.store.Query(ctx, tenant, StoreQuery{
			Filter: Filter{Protocol: PermissionsProtocol, ProtocolPath: "grant/revocation", ParentID: id},
			Sort:   CreatedAscending, Limit: 1,
		})
		if err != nil {
			return nil, err
		}
		if len(revs) > 0 {
			gs.revokedAt = revs[0].DateCreated
		}
	}
	if cached {
		n.access.putGrant(tenant, version, id, gs)
	}
	return gs, nil
}

func marshalGrant(g Grant) ([]byte, error) {
	return json.Marshal(grantData{DateExpires: Timestamp(g.Expires), Scope: g.Scope, Description: g.Description})
}
