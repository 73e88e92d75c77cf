package anya

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge/didbtc"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/jose"
)

// ProtocolURI is the records-store protocol the Manager keeps its records under, in every
// identity's tenant: address links, credentials, payments and reports.
const ProtocolURI = "https://anya.org/protocols/payments/v1"

// Protocol paths (record types) of ProtocolURI.
const (
	PathLink       = "link"       // an address-link credential (BitcoinToWeb5)
	PathCredential = "credential" // another verifiable credential held by the identity
	PathPayment    = "payment"    // a verified payment the identity made
	PathReport     = "report"     // in the host's tenant: a fraud report or dispute about an identity
)

// recordFormat is the data format of every record of the protocol.
const recordFormat = "application/json"

// Protocol returns the definition of ProtocolURI that AddIdentity installs in each tenant.
func Protocol() *dwn.Protocol {
	types := map[string]dwn.ProtocolType{}
	structure := map[string]*dwn.RuleSet{}
	for _, p := range []string{PathLink, PathCredential, PathPayment, PathReport} {
		types[p] = dwn.ProtocolType{DataFormats: []string{recordFormat}}
		structure[p] = &dwn.RuleSet{}
	}
	return &dwn.Protocol{Protocol: ProtocolURI, Types: types, Structure: structure}
}

// Identity is a party the Manager acts for: a DID it can sign as and, optionally, a Bitcoin
// key whose P2WPKH address pays. The private key stays inside the Manager's wallet: an
// Identity never exposes or serializes it (the Manager's key store keeps the keys of the
// identities NewIdentity creates, encrypted).
type Identity struct {
	DID *did.BearerDID
	// Address is the P2WPKH address of the identity's Bitcoin key on the Manager's network;
	// zero when the identity has no key.
	Address bitcoin.Address

	key *btcec.PrivateKey
}

// String returns the DID.
func (id *Identity) String() string { return id.DID.String() }

// SignChallenge answers an address-link challenge (Manager.Challenge) with a BIP-322 signature
// by the identity's key, proving control of Address.
func (id *Identity) SignChallenge(challenge string) (string, error) {
	if id.key == nil {
		return "", fmt.Errorf("%w: identity %s has no Bitcoin key", ErrNoKey, id.DID)
	}
	return bitcoin.SignMessage(id.key, id.Address, challenge)
}

// NewIdentity creates an identity: a DID and a new secp256k1 Bitcoin key whose address pays,
// keeps both in the Manager's key store before anything else happens — so that no identity is
// ever used that a restart would lose — then registers it (AddIdentity). The DID's document
// carries the Bitcoin key (package didbtc), so anyone resolving the DID can derive its
// addresses and build multisig wallets with it: a did:dht (the default; WithIdentityMethod)
// gets an Ed25519 identity key and the Bitcoin key as verification method #btc with the
// did:pkh of its address in alsoKnownAs, published through the Manager's did:dht client; a
// did:jwk or did:key is the Bitcoin key itself. A Manager with a data directory and no key
// store refuses with ErrNoKeyStore (see WithEphemeralKeys).
func (m *Manager) NewIdentity(ctx context.Context, opts ...IdentityOption) (*Identity, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	cfg := identityConfig{method: diddht.Method}
	for _, o := range opts {
		if o == nil {
			m.mu.RUnlock()
			return nil, &OptionError{Option: "IdentityOption", Reason: "nil option"}
		}
		o(&cfg)
	}
	switch cfg.method {
	case diddht.Method, "jwk", "key":
	default:
		m.mu.RUnlock()
		return nil, &OptionError{Option: "WithIdentityMethod", Value: cfg.method, Reason: "one of dht, jwk and key"}
	}
	if m.keys == nil {
		m.mu.RUnlock()
		return nil, ErrNoKeyStore
	}
	b, key, err := m.newDID(ctx, cfg.method)
	if err != nil {
		m.mu.RUnlock()
		return nil, err
	}
	addr, err := bitcoin.NewP2WPKH(key.PubKey(), m.net)
	if err != nil {
		m.mu.RUnlock()
		return nil, err
	}
	if err := m.saveIdentity(ctx, b, key, addr.String()); err != nil {
		m.mu.RUnlock()
		return nil, err
	}
	if b.DID.Method == diddht.Method {
		if err := m.dht.Publish(ctx, b); err != nil {
			m.mu.RUnlock()
			return nil, fmt.Errorf("anya: publish %s: %w", b.DID, err)
		}
	}
	m.mu.RUnlock()
	return m.AddIdentity(ctx, b, key)
}

// newDID creates a DID of method whose document carries a new Bitcoin key.
func (m *Manager) newDID(ctx context.Context, method string) (*did.BearerDID, *btcec.PrivateKey, error) {
	key, err := btcec.NewPrivateKey()
	if err != nil {
		return nil, nil, err
	}
	if method != diddht.Method {
		b, err := didbtc.NewDID(ctx, jose.NewMemoryKeyManager(), key, method)
		return b, key, err
	}
	b, err := diddht.Create(ctx, jose.NewMemoryKeyManager())
	if err != nil {
		return nil, nil, err
	}
	b, err = didbtc.AddKey(ctx, b, key.PubKey(), m.net)
	return b, key, err
}

// IdentityOption configures NewIdentity.
type IdentityOption func(*identityConfig)

type identityConfig struct {
	method string
}

// WithIdentityMethod sets the DID method of the identity NewIdentity creates: "dht" (a did:dht
// with an Ed25519 identity key and the Bitcoin key as #btc), "jwk" or "key" (a did:jwk or
// did:key whose key is the Bitcoin key: it signs as the DID with ES256K). Defaults to "dht".
func WithIdentityMethod(method string) IdentityOption {
	return func(c *identityConfig) { c.method = method }
}

// AddIdentity registers an identity the host controls: the Manager's wallet takes key (nil for
// an identity that does not pay), and the identity's tenant in the records store gets
// ProtocolURI installed and permission grants letting the host write and query its records.
// The DID must resolve. Adding an identity again is cheap and changes nothing.
func (m *Manager) AddIdentity(ctx context.Context, b *did.BearerDID, key *btcec.PrivateKey) (*Identity, error) {
	if err := m.enter(); err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	if b == nil {
		return nil, &OpError{Op: "AddIdentity", Field: "DID", Reason: "nil bearer DID"}
	}
	if _, err := m.resolver.Resolve(ctx, b.String()); err != nil {
		return nil, fmt.Errorf("anya: identity %s does not resolve: %w", b.DID, err)
	}
	id := &Identity{DID: b, key: key}
	if key != nil {
		addr, err := m.wallet.Add(key)
		if err != nil {
			return nil, err
		}
		id.Address = addr
	}
	row, ok, err := m.state.identity(ctx, b.String())
	if err != nil {
		return nil, err
	}
	if ok && row.WriteGrant != "" {
		if err := m.setupBridges(ctx, b); err != nil {
			return nil, err
		}
		m.remember(id)
		return id, nil
	}
	if err := m.installProtocol(ctx, b); err != nil {
		return nil, err
	}
	var grants [2]string
	for i, method := range []string{dwn.MethodWrite, dwn.MethodQuery} {
		msg, err := dwn.NewGrant(ctx, b, dwn.Grant{Grantee: m.host.String(), Expires: m.now().Add(DefaultGrantValidity),
			Description: "anya host: " + method + " " + ProtocolURI,
			Scope:       dwn.Scope{Interface: dwn.InterfaceRecords, Method: method, Protocol: ProtocolURI}}, dwn.WithTimestamp(m.now()))
		if err != nil {
			return nil, err
		}
		reply, err := m.node.Process(ctx, b.String(), msg)
		if err != nil {
			return nil, fmt.Errorf("anya: grant %s to the host: %w", method, err)
		}
		grants[i] = reply.Record.ID
	}
	if err := m.state.register(ctx, b.String(), m.now(), grants[0], grants[1]); err != nil {
		return nil, err
	}
	if err := m.setupBridges(ctx, b); err != nil {
		return nil, err
	}
	m.remember(id)
	return id, nil
}

// installProtocol installs ProtocolURI in b's tenant unless it is there.
func (m *Manager) installProtocol(ctx context.Context, b *did.BearerDID) error {
	q, err := dwn.NewProtocolsQuery(ctx, b, b.String(), ProtocolURI, dwn.WithTimestamp(m.now()))
	if err != nil {
		return err
	}
	reply, err := m.node.Process(ctx, b.String(), q)
	if err != nil {
		return fmt.Errorf("anya: protocols of %s: %w", b.DID, err)
	}
	if len(reply.Protocols) > 0 {
		return nil
	}
	msg, err := dwn.NewProtocolsConfigure(ctx, b, b.String(), Protocol(), dwn.WithTimestamp(m.now()))
	if err != nil {
		return err
	}
	// A conflict is another host sharing the store (WithJetStream) installing it at once.
	if _, err := m.node.Process(ctx, b.String(), msg); err != nil && !errors.Is(err, dwn.ErrConflict) {
		return fmt.Errorf("anya: install %s for %s: %w", ProtocolURI, b.DID, err)
	}
	return nil
}

// grants returns the host's grants in tenant's records store.
func (m *Manager) grants(ctx context.Context, tenant string) (identityRow, error) {
	m.grantsMu.Lock()
	row, ok := m.grantRows[tenant]
	m.grantsMu.Unlock()
	if ok {
		return row, nil
	}
	row, ok, err := m.state.identity(ctx, tenant)
	if err != nil {
		return identityRow{}, err
	}
	if !ok || row.WriteGrant == "" {
		return identityRow{}, fmt.Errorf("%w: %s (register it with AddIdentity)", ErrUnknownIdentity, tenant)
	}
	m.grantsMu.Lock()
	if m.grantRows == nil {
		m.grantRows = map[string]identityRow{}
	}
	m.grantRows[tenant] = row
	m.grantsMu.Unlock()
	return row, nil
}

// newRecord signs the write of data as a new record at path in tenant's store, authored by the
// host under its write grant (or as the owner when tenant is the host). Callers process it, and
// may record it first (an intent) so that a retry sends the same message.
func (m *Manager) newRecord(ctx context.Context, tenant, path, recipient string, data any) (*dwn.Message, error) {
	body, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	var opts []dwn.MessageOption
	if tenant != m.host.String() {
		row, err := m.grants(ctx, tenant)
		if err != nil {
			return nil, err
		}
		opts = append(opts, dwn.WithPermissionGrant(row.WriteGrant))
	}
	opts = append(opts, dwn.WithTimestamp(m.now()))
	return dwn.NewWrite(ctx, m.host, tenant, dwn.Write{Protocol: ProtocolURI, ProtocolPath: path, DataFormat: recordFormat,
		Recipient: recipient, Data: body}, opts...)
}

// process sends msg to tenant's store. A write that is already stored (the same message
// processed before a crash) is not an error: the stored record is returned.
func (m *Manager) process(ctx context.Context, tenant string, msg *dwn.Message) (*dwn.Record, error) {
	reply, err := m.node.Process(ctx, tenant, msg)
	if err == nil {
		return reply.Record, nil
	}
	var conflict *dwn.ConflictError
	if !errors.As(err, &conflict) {
		return nil, err
	}
	rec, rerr := m.readRecord(ctx, tenant, msg.RecordID())
	if rerr != nil || rec.Latest == nil || rec.Initial == nil {
		return nil, err
	}
	if rec.Initial.DescriptorCID() != msg.DescriptorCID() && rec.Latest.DescriptorCID() != msg.DescriptorCID() {
		return nil, err // a genuine conflict, not this write again
	}
	return rec, nil
}

// readRecord reads a record the host wrote in tenant's store. The Manager runs the node, so
// it reads its own records from the store directly.
func (m *Manager) readRecord(ctx context.Context, tenant, recordID string) (*dwn.Record, error) {
	rec, err := m.dwnStore.Record(ctx, tenant, recordID)
	if err != nil {
		return nil, err
	}
	if rec.Deleted {
		return nil, fmt.Errorf("anya: record %s of %s: %w", recordID, tenant, dwn.ErrNotFound)
	}
	if rec.Author != m.host.String() {
		return nil, fmt.Errorf("anya: record %s of %s was not written by the host", recordID, tenant)
	}
	return rec, nil
}

// queryRecords returns the records at path in tenant's store that the host may see (with its
// query grant: all of them).
func (m *Manager) queryRecords(ctx context.Context, tenant, path string, f dwn.Filter) ([]*dwn.Record, error) {
	var opts []dwn.MessageOption
	if tenant != m.host.String() {
		row, err := m.grants(ctx, tenant)
		if err != nil {
			return nil, err
		}
		opts = append(opts, dwn.WithPermissionGrant(row.QueryGrant))
	}
	f.Protocol, f.ProtocolPath = ProtocolURI, path
	var out []*dwn.Record
	cursor := ""
	for {
		msg, err := dwn.NewQuery(ctx, m.host, tenant, dwn.Query{Filter: f, Cursor: cursor}, append(opts, dwn.WithTimestamp(m.now()))...)
		if err != nil {
			return nil, err
		}
		reply, err := m.node.Process(ctx, tenant, msg)
		if err != nil {
			return nil, err
		}
		out = append(out, reply.Records...)
		if reply.Cursor == "" {
			return out, nil
		}
		cursor = reply.Cursor
	}
}

// AddCredential verifies a credential whose subject is the registered identity d (a VC-JWT,
// signature, validity period and data model) and stores it in d's records store, where it counts
// among the identity's credentials; a KYCCredentialType credential from a trusted issuer
// (WithTrustedIssuers) also sets its kyc_verified feature. It returns the record's ID.
func (m *Manager) AddCredential(ctx context.Context, d, token string) (string, error) {
	if err := m.enter(); err != nil {
		return "", err
	}
	defer m.mu.RUnlock()
	cred, err := m.verifier.Verify(ctx, token)
	if err != nil {
		return "", &OpError{Op: "AddCredential", Field: "credential", Reason: "does not verify", Err: err}
	}
	if len(cred.CredentialSubject) != 1 || cred.CredentialSubject[0].ID() != d {
		return "", &OpError{Op: "AddCredential", Field: "credential", Reason: "its subject is not " + d}
	}
	msg, err := m.newRecord(ctx, d, PathCredential, d, map[string]string{"credential": token})
	if err != nil {
		return "", err
	}
	rec, err := m.process(ctx, d, msg)
	if err != nil {
		return "", fmt.Errorf("anya: store the credential in %s's records: %w", d, err)
	}
	st := stats{Credentials: 1, Records: 1}
	if cred.HasType(KYCCredentialType) && m.trusted[cred.Issuer.ID] {
		st.KYC = 1
	}
	if err := m.state.addStats(ctx, d, st); err != nil {
		return "", err
	}
	return rec.ID, nil
}

// ReportKind is what a report says about an identity.
type ReportKind string

// Report kinds: they count in the identity's prior_reports and disputes features.
const (
	ReportFraud   ReportKind = "fraud"   // the identity was involved in fraud
	ReportDispute ReportKind = "dispute" // a payment by the identity is disputed
)

// Report records, in the host's own records store, a report about the identity d — a fraud
// report or a payment dispute, with a reason and optionally the payment concerned — and counts
// it in d's prior_reports or disputes feature. It returns the report's record ID.
func (m *Manager) Report(ctx context.Context, d string, kind ReportKind, reason, paymentID string) (string, error) {
	if err := m.enter(); err != nil {
		return "", err
	}
	defer m.mu.RUnlock()
	if _, err := did.Parse(d); err != nil {
		return "", &OpError{Op: "Report", Field: "DID", Reason: "not a DID", Err: err}
	}
	st := stats{}
	switch kind {
	case ReportFraud:
		st.Reports = 1
	case ReportDispute:
		st.Disputes = 1
	default:
		return "", &OpError{Op: "Report", Field: "kind", Reason: fmt.Sprintf("%q is not a report kind", kind)}
	}
	host := m.host.String()
	msg, err := m.newRecord(ctx, host, PathReport, d, map[string]string{"subject": d, "kind": string(kind), "reason": reason,
		"payment_id": paymentID})
	if err != nil {
		return "", err
	}
	rec, err := m.process(ctx, host, msg)
	if err != nil {
		return "", fmt.Errorf("anya: store the report: %w", err)
	}
	if err := m.state.addStats(ctx, d, st); err != nil {
		return "", err
	}
	if err := m.labelFraud(ctx, paymentID); err != nil {
		return "", err
	}
	return rec.ID, nil
}
