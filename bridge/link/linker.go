package link

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bridge"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/web5/vc"
)

// Records is where links and the revocation list are kept: a *bridge.Records.
type Records interface {
	Create(ctx context.Context, tenant, path string, data any, opts ...bridge.WriteOption) (*dwn.Record, error)
	// UpdateIfLatest replaces rec's data only if rec is still the record's latest version, and
	// fails with an error matching dwn.ErrConflict otherwise, changing nothing.
	UpdateIfLatest(ctx context.Context, tenant string, rec *dwn.Record, data any) (*dwn.Record, error)
	Query(ctx context.Context, tenant, path string, f dwn.Filter) ([]*dwn.Record, error)
}

var _ Records = (*bridge.Records)(nil)

// Option configures New.
type Option func(*config)

type config struct {
	key        []byte
	now        func() time.Time
	ttl        time.Duration
	validity   time.Duration
	listURL    string
	listSize   int
	trusted    []string
	log        *slog.Logger
	setKey     bool
	setListURL bool
	shared     bool
	entries    func(ctx context.Context, floor int) (int, error)
}

// WithChallengeKey sets the secret that makes challenges unforgeable (at least 16 bytes); a
// host that restarts keeps answering its earlier challenges when it keeps the key. Defaults
// to a random key.
func WithChallengeKey(key []byte) Option {
	return func(c *config) { c.key, c.setKey = append([]byte(nil), key...), true }
}

// WithClock sets the clock. Defaults to time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithChallengeTTL sets how long a challenge can be answered. Defaults to DefaultChallengeTTL.
func WithChallengeTTL(d time.Duration) Option { return func(c *config) { c.ttl = d } }

// WithValidity sets how long a link credential is valid. Defaults to DefaultValidity.
func WithValidity(d time.Duration) Option { return func(c *config) { c.validity = d } }

// WithStatusList sets the URL of the revocation list credential and its size in entries.
// Defaults to "urn:anya:links:<issuer DID>:revocations" and vc.MinStatusListSize.
func WithStatusList(url string, size int) Option {
	return func(c *config) { c.listURL, c.listSize, c.setListURL = url, size, true }
}

// WithTrustedIssuers adds issuers whose link credentials Verify accepts besides the linker's
// own. Defaults to none.
func WithTrustedIssuers(dids ...string) Option {
	return func(c *config) { c.trusted = append(c.trusted, dids...) }
}

// WithLogger sets the logger. Defaults to a silent one.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithSharedStore says whether other linkers issuing as the same issuer share the records store
// (hosts of one deployment): the revocation list is then read from the store again before every
// change to it and every status check (FetchStatusList, Verify), and a write that lost to
// another linker's (each is a compare-and-set on the version read) is merged and made again,
// so that no linker hands out an entry another one gave, undoes another's revocation or misses
// one; and Revoke looks for a link the index does not hold in the DID's store. Defaults to
// false: the linker is the only writer of its list (a write that finds the list changed fails
// with dwn.ErrConflict) and the index holds every link it made.
func WithSharedStore(shared bool) Option { return func(c *config) { c.shared = shared } }

// WithEntries sets where Link takes the revocation list entries of new links from: next returns
// an entry, at least floor (the list's own counter), that it never returned before to any
// linker of the issuer — for hosts sharing a store (WithSharedStore), a compare-and-set counter
// they share, so that two of them linking at the same moment do not both retry their write of
// the list for the same entry.
// An entry taken by a Link that then fails is not given again. Defaults to the list's own
// counter, kept in its record (nil is the default too).
func WithEntries(next func(ctx context.Context, floor int) (int, error)) Option {
	return func(c *config) { c.entries = next }
}

// Linker issues, stores, indexes, verifies and revokes two-way links for one issuer (the
// host). A link proves control of both sides: the address signs a challenge with BIP-322 and
// the DID signs the same challenge as a JWS with a key listed under authentication. Linker is
// safe for concurrent use.
type Linker struct {
	issuer   *did.BearerDID
	resolver *did.Resolver
	records  Records
	net      bitcoin.Network
	cfg      config
	nonces   nonces
	verifier *vc.Verifier
	trusted  map[string]bool

	mu        sync.Mutex
	list      *vc.StatusList
	next      int
	listRec   *dwn.Record // the list's record, the version last read or written
	listSeen  string      // the versions of the list's records syncList last merged
	listToken string
	index     *Index
}

// New returns a linker issuing as issuer on net. Its revocation list is kept in the issuer's
// store (bridge.PathStatusList) through records, and loaded from there when it exists.
func New(ctx context.Context, issuer *did.BearerDID, resolver *did.Resolver, records Records, net bitcoin.Network, opts ...Option) (*Linker, error) {
	switch {
	case issuer == nil:
		return nil, &OptionError{Option: "issuer", Value: nil, Reason: "nil"}
	case resolver == nil:
		return nil, &OptionError{Option: "resolver", Value: nil, Reason: "nil"}
	case records == nil:
		return nil, &OptionError{Option: "records", Value: nil, Reason: "nil"}
	case !net.Valid():
		return nil, &OptionError{Option: "network", Value: net, Reason: "not a network"}
	}
	cfg := config{now: time.Now, ttl: DefaultChallengeTTL, validity: DefaultValidity, listSize: vc.MinStatusListSize,
		listURL: "urn:anya:links:" + issuer.String() + ":revocations", log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.setKey && len(cfg.key) < 16:
		return nil, &OptionError{Option: "WithChallengeKey", Value: len(cfg.key), Reason: "at least 16 bytes"}
	case cfg.now == nil:
		return nil, &OptionError{Option: "WithClock", Value: nil, Reason: "nil clock"}
	case cfg.ttl <= 0:
		return nil, &OptionError{Option: "WithChallengeTTL", Value: cfg.ttl, Reason: "must be positive"}
	case cfg.validity <= 0:
		return nil, &OptionError{Option: "WithValidity", Value: cfg.validity, Reason: "must be positive"}
	case cfg.setListURL && cfg.listURL == "":
		return nil, &OptionError{Option: "WithStatusList", Value: cfg.listURL, Reason: "empty URL"}
	case cfg.listSize < 1:
		return nil, &OptionError{Option: "WithStatusList", Value: cfg.listSize, Reason: "size must be positive"}
	case cfg.log == nil:
		return nil, &OptionError{Option: "WithLogger", Value: nil, Reason: "nil logger"}
	}
	if !cfg.setKey {
		cfg.key = newKey()
	}
	l := &Linker{issuer: issuer, resolver: resolver, records: records, net: net, cfg: cfg, nonces: nonces{key: cfg.key},
		trusted: map[string]bool{issuer.String(): true}, index: NewIndex(net)}
	for _, t := range cfg.trusted {
		l.trusted[t] = true
	}
	v, err := vc.NewVerifier(resolver, vc.WithClock(cfg.now), vc.WithStatusCheck(l))
	if err != nil {
		return nil, err
	}
	l.verifier = v
	if err := l.loadList(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// listData is the revocation list's record.
type listData struct {
	URL         string `json:"url"`
	Next        int    `json:"next"`
	EncodedList string `json:"encodedList"`
}

func (l *Linker) loadList(ctx context.Context) error {
	if err := l.syncList(ctx); err != nil {
		return err
	}
	if l.list == nil {
		l.list = vc.NewStatusList(l.cfg.listSize)
		return l.signList(ctx)
	}
	return nil
}

// signList signs the current list as the issuer's status list credential.
func (l *Linker) signList(ctx context.Context) error {
	c, err := vc.NewStatusListCredential(vc.V2, l.issuer.String(), l.cfg.listURL, vc.PurposeRevocation, l.list, l.cfg.now())
	if err != nil {
		return err
	}
	tok, err := c.Sign(ctx, l.issuer, vc.WithIssuedAt(l.cfg.now()))
	if err != nil {
		return err
	}
	l.listToken = tok
	return nil
}

// maxListWrites bounds the attempts to write the revocation list when other linkers sharing
// the store write it at the same moment: each attempt that fails lost to one that succeeded.
const maxListWrites = 32

// saveList stores the list's state. The record is changed by compare-and-set on the version
// last read, so a change another linker made meanwhile is never overwritten: with
// WithSharedStore the list is then read again and merged (entries handed out, revocations —
// never undone, so the merge is a union) and written again; prepare, when not nil, runs before
// every attempt (after the merge) to make the change on what was read. l.mu is held.
func (l *Linker) saveList(ctx context.Context, prepare func() error) error {
	for attempt := 1; ; attempt++ {
		if prepare != nil {
			if err := prepare(); err != nil {
				return err
			}
		}
		err := l.writeList(ctx)
		if err == nil || !l.cfg.shared || !errors.Is(err, dwn.ErrConflict) {
			return err
		}
		if attempt == maxListWrites {
			return fmt.Errorf("link: the revocation list changed under each of %d attempts to write it: %w", attempt, err)
		}
		if err := l.syncList(ctx); err != nil {
			return err
		}
	}
}

func (l *Linker) writeList(ctx context.Context) error {
	if err := l.createList(ctx); err != nil {
		return err
	}
	enc, err := l.list.Encode(vc.V2)
	if err != nil {
		return err
	}
	rec, err := l.records.UpdateIfLatest(ctx, l.issuer.String(), l.listRec, listData{URL: l.cfg.listURL, Next: l.next, EncodedList: enc})
	if err != nil {
		return err
	}
	l.listRec = rec
	return nil
}

// listCreated is the creation time of every revocation list record: with the list's URL and
// size it makes the record's first write the same message whichever linker sends it, so
// linkers sharing a store that create the list at the same moment create one record (the
// first write wins, the others get it back) and every later change is a compare-and-set on it.
var listCreated = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// createList creates the list's record, empty, when there is none yet. l.mu is held.
func (l *Linker) createList(ctx context.Context) error {
	if l.listRec != nil {
		return nil
	}
	enc, err := vc.NewStatusList(l.list.Len()).Encode(vc.V2)
	if err != nil {
		return err
	}
	rec, err := l.records.Create(ctx, l.issuer.String(), bridge.PathStatusList,
		listData{URL: l.cfg.listURL, EncodedList: enc}, bridge.WithCreatedAt(listCreated))
	if err != nil {
		// A conflict: another linker created it and changed it since; saveList reads it
		// (l.listSeen cleared: all of it) and makes the change again on what it read.
		l.listSeen = ""
		return err
	}
	l.listRec = rec
	return nil
}

// FetchStatusList serves the issuer's own revocation list (a vc.StatusListFetcher): the list is
// read at every verification, so a revocation counts at once — with WithSharedStore, one made by
// another linker of the issuer too.
func (l *Linker) FetchStatusList(ctx context.Context, url string) (string, error) {
	if url != l.cfg.listURL {
		return "", fmt.Errorf("unknown status list %s", url)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.shared {
		if err := l.syncList(ctx); err != nil {
			return "", err
		}
	}
	return l.listToken, nil
}

// syncList reads the revocation list's records again and takes in what other linkers of the
// issuer wrote to them: the entries they revoked and those they handed out (revocations are
// never undone, so the lists merge). Linkers sharing a store that created the list at the same
// moment made one record each: every one is merged, and changes go to the one created first,
// so all the linkers end up writing the same record. l.mu is held.
func (l *Linker) syncList(ctx context.Context) error {
	recs, err := l.records.Query(ctx, l.issuer.String(), bridge.PathStatusList, dwn.Filter{})
	if err != nil {
		return fmt.Errorf("link: read the revocation list: %w", err)
	}
	type stored struct {
		rec  *dwn.Record
		data listData
	}
	var (
		lists []stored
		seen  []byte
	)
	for _, r := range recs {
		var d listData
		if err := json.Unmarshal(r.Data, &d); err != nil || d.URL != l.cfg.listURL || r.Latest == nil {
			continue
		}
		lists = append(lists, stored{r, d})
		seen = append(append(seen, r.Latest.CID()...), ' ')
	}
	if len(lists) == 0 || string(seen) == l.listSeen {
		return nil // none stored yet, or unchanged since the last read
	}
	first := lists[0].rec
	for _, s := range lists {
		list, err := vc.DecodeStatusList(s.data.EncodedList)
		if err != nil {
			return fmt.Errorf("link: revocation list record %s: %w", s.rec.ID, err)
		}
		if l.list == nil {
			l.list = list
		} else {
			for i := range min(list.Len(), l.list.Len()) {
				if on, _ := list.Get(i); on {
					_ = l.list.Set(i, true) // i is in range
				}
			}
		}
		l.next = max(l.next, s.data.Next)
		if s.rec.DateCreated < first.DateCreated || (s.rec.DateCreated == first.DateCreated && s.rec.ID < first.ID) {
			first = s.rec
		}
	}
	l.listRec, l.listSeen = first, string(seen)
	return l.signList(ctx)
}

// StatusList returns the signed revocation list credential and its URL, for a host that
// publishes it (a vc.StatusListFetcher of other verifiers fetches it from there).
func (l *Linker) StatusList() (url, token string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg.listURL, l.listToken
}

// Index returns the linker's reverse index (address → DIDs), kept up to date by Link,
// Revoke and Load.
func (l *Linker) Index() *Index { return l.index }

// Challenge returns the message both sides of a link sign: it names the DID and the address,
// the time, and a nonce only this linker computes; it can be answered for the challenge TTL.
func (l *Linker) Challenge(d, address string) (string, error) {
	if _, err := did.Parse(d); err != nil {
		return "", fail(ErrInvalidArgument, "did", "not a DID", err)
	}
	if _, err := bitcoin.ParseAddress(address, l.net); err != nil {
		return "", fail(ErrInvalidArgument, "address", "not a "+l.net.String()+" address", err)
	}
	issued := l.cfg.now().UTC().Truncate(time.Second).Format(time.RFC3339)
	return formatChallenge(challenge{DID: d, Address: address, Issued: issued, Nonce: l.nonces.nonce(d, address, issued)}), nil
}

func (l *Linker) checkChallenge(ch, d, address string) error {
	c, err := parseChallenge(ch)
	if err != nil {
		return err
	}
	if c.DID != d || c.Address != address {
		return fail(ErrChallenge, "challenge", "it names "+c.DID+" and "+c.Address, nil)
	}
	if !hmac.Equal([]byte(l.nonces.nonce(c.DID, c.Address, c.Issued)), []byte(c.Nonce)) {
		return fail(ErrChallenge, "challenge", "not issued by this linker", nil)
	}
	issued, err := time.Parse(time.RFC3339, c.Issued)
	if err != nil {
		return fail(ErrChallenge, "challenge", "issue time", err)
	}
	now := l.cfg.now()
	if now.Before(issued.Add(-MaxChallengeSkew)) || now.After(issued.Add(l.cfg.ttl)) {
		return fail(ErrChallenge, "challenge", "issued "+c.Issued+", outside its validity", nil)
	}
	return nil
}

// Proof is a two-way link proof: the challenge, the address's BIP-322 signature of it and the
// DID's compact JWS whose payload is the challenge.
type Proof struct {
	DID, Address, Challenge string
	BIP322                  string
	JWS                     string
}

// Link verifies a proof and links: it issues the link credential (with an entry in the
// revocation list), stores it in the DID's store (bridge.PathLink) and indexes it. A proof that
// does not verify is a *CheckError matching ErrChallenge or ErrProof.
func (l *Linker) Link(ctx context.Context, p Proof) (*Link, error) {
	if _, err := did.Parse(p.DID); err != nil {
		return nil, fail(ErrInvalidArgument, "did", "not a DID", err)
	}
	if err := l.checkChallenge(p.Challenge, p.DID, p.Address); err != nil {
		return nil, err
	}
	method, err := checkProofs(ctx, l.resolver, l.net, p.DID, p.Address, p.Challenge, p.BIP322, p.JWS)
	if err != nil {
		return nil, err
	}
	account, err := accountOf(p.Address, l.net)
	if err != nil {
		return nil, fail(ErrInvalidArgument, "address", "no did:pkh form", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.shared {
		if err := l.syncList(ctx); err != nil {
			return nil, err
		}
	}
	// The entry is spent in the stored list before anything refers to it, so it is never
	// given twice (a Link that fails after this leaves it unused).
	fixed := -1
	if l.cfg.entries != nil {
		if fixed, err = l.cfg.entries(ctx, l.next); err != nil {
			return nil, fmt.Errorf("link: a revocation list entry: %w", err)
		}
	}
	if fixed >= 0 && fixed < l.next {
		return nil, fmt.Errorf("link: the entry counter gave entry %d, below the list's counter %d", fixed, l.next)
	}
	entry, undo := fixed, l.next
	err = l.saveList(ctx, func() error {
		if fixed < 0 {
			entry = l.next // the list's own counter, as last read
		}
		if entry >= l.list.Len() {
			return fmt.Errorf("link: the revocation list is full (%d entries; entry %d, counter %d)", l.list.Len(), entry, l.next)
		}
		undo, l.next = l.next, max(l.next, entry+1)
		return nil
	})
	if err != nil {
		l.next, l.listSeen = undo, "" // not stored: the next read of the list takes what is
		return nil, err
	}
	now := l.cfg.now().UTC().Truncate(time.Second)
	lk := &Link{DID: p.DID, Address: p.Address, Account: account, Method: method, LinkedAt: now,
		ValidUntil: now.Add(l.cfg.validity), StatusIndex: entry}
	cred, err := vc.New(l.issuer.String(), subjectOf(lk, p.Challenge, p.BIP322, p.JWS), vc.WithVersion(vc.V2),
		vc.WithType(CredentialType), vc.ValidFrom(now), vc.ValidUntil(lk.ValidUntil),
		vc.WithStatus(vc.NewStatusEntry(vc.V2, l.cfg.listURL, lk.StatusIndex, vc.PurposeRevocation)))
	if err != nil {
		return nil, err
	}
	if lk.Credential, err = cred.Sign(ctx, l.issuer, vc.WithIssuedAt(l.cfg.now())); err != nil {
		return nil, err
	}
	rec, err := l.records.Create(ctx, p.DID, bridge.PathLink, lk)
	if err != nil {
		return nil, fmt.Errorf("link: store the link in %s's records: %w", p.DID, err)
	}
	lk.RecordID = rec.ID
	l.index.add(*lk)
	return lk, nil
}

// Verify verifies a link credential for d and address, revocation included (the list is read
// at every call): signature and validity period, a trusted issuer, the type, the claims, the
// BIP-322 signature and the DID's JWS over the same challenge. It returns the link's
// metadata or a *CheckError (ErrRevoked for a revoked link).
func (l *Linker) Verify(ctx context.Context, token, d, address string) (*Link, error) {
	return l.verify(ctx, l.verifier, token, d, address)
}

// verify is Verify with the credential verifier v.
func (l *Linker) verify(ctx context.Context, v *vc.Verifier, token, d, address string) (*Link, error) {
	cred, err := v.Verify(ctx, token)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, vc.ErrRevoked) {
			return nil, fail(ErrRevoked, "status", "the link was revoked", err)
		}
		return nil, fail(ErrCredential, "credential", "does not verify", err)
	}
	if !cred.HasType(CredentialType) {
		return nil, fail(ErrCredential, "type", "not a "+CredentialType, nil)
	}
	if !l.trusted[cred.Issuer.ID] {
		return nil, fail(ErrCredential, "issuer", cred.Issuer.ID+" is not trusted", nil)
	}
	if len(cred.CredentialSubject) != 1 || cred.CredentialSubject[0].ID() != d {
		return nil, fail(ErrCredential, "subject", "the credential's subject is not "+d, nil)
	}
	sub := cred.CredentialSubject[0]
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	if str(sub, "address") != address {
		return nil, fail(ErrCredential, "address", "the credential links another address", nil)
	}
	account, err := accountOf(address, l.net)
	if err != nil || str(sub, "account") != account {
		return nil, fail(ErrCredential, "account", "the credential's account is not the address on this network", err)
	}
	proof, _ := sub["proof"].(map[string]any)
	ch := str(proof, "challenge")
	c, err := parseChallenge(ch)
	if err != nil {
		return nil, err
	}
	if c.DID != d || c.Address != address {
		return nil, fail(ErrProof, "challenge", "the proof's challenge names other parties", nil)
	}
	method, err := checkProofs(ctx, l.resolver, l.net, d, address, ch, str(proof, "bip322"), str(proof, "jws"))
	if err != nil {
		return nil, err
	}
	from, until := cred.ValidityPeriod()
	lk := &Link{DID: d, Address: address, Account: account, Method: method, LinkedAt: from, ValidUntil: until, Credential: token}
	if len(cred.CredentialStatus) == 1 {
		lk.StatusIndex, _ = strconv.Atoi(cred.CredentialStatus[0].StatusListIndex) // checked by the verifier
	}
	return lk, nil
}

// Revoke revokes the link of d and address: its entry in the revocation list is set (every
// later Verify of its credential fails with ErrRevoked) and it leaves the index. With
// WithSharedStore, a link the index does not hold (another linker made it) is looked for in d's
// store first.
func (l *Linker) Revoke(ctx context.Context, d, address string) error {
	lk, ok := l.index.find(d, address)
	if !ok && l.cfg.shared {
		if err := l.Refresh(ctx, d); err != nil {
			return err
		}
		lk, ok = l.index.find(d, address)
	}
	if !ok {
		return fail(ErrNotLinked, "index", d+" is not linked to "+address, nil)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.shared {
		if err := l.syncList(ctx); err != nil {
			return err
		}
	}
	if on, _ := l.list.Get(lk.StatusIndex); on {
		l.index.remove(d, address) // revoked already (by another linker of the issuer)
		return nil
	}
	if err := l.list.Set(lk.StatusIndex, true); err != nil {
		return err
	}
	if err := l.saveList(ctx, nil); err != nil {
		_ = l.list.Set(lk.StatusIndex, false)
		l.listSeen = "" // the next read of the list takes what is stored
		return err
	}
	if err := l.signList(ctx); err != nil {
		return err
	}
	l.index.remove(d, address)
	return nil
}

// Refresh reads d's links again from its store: those that verify (not revoked, not expired,
// from a trusted issuer) replace what the index held of d. It is how a linker sharing the
// store with others (WithSharedStore) learns of the links they made and revoked.
func (l *Linker) Refresh(ctx context.Context, d string) error {
	v, err := l.snapshot(ctx)
	if err != nil {
		return err
	}
	found, err := l.load(ctx, v, d)
	if err != nil && ctx.Err() != nil {
		return err
	}
	for _, a := range l.index.Addresses(d) {
		if !slices.ContainsFunc(found, func(lk Link) bool { return lk.Address == a }) {
			l.index.remove(d, a)
		}
	}
	for _, lk := range found {
		l.index.add(lk)
	}
	return err
}

// Load reads the links stored in the stores of dids, verifies each (revoked, expired or
// untrusted ones are left out) and indexes them.
func (l *Linker) Load(ctx context.Context, dids ...string) error {
	v, err := l.snapshot(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range dids {
		found, err := l.load(ctx, v, d)
		for _, lk := range found {
			l.index.add(lk)
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// load reads and verifies the links stored in d's store. An error is returned with the links
// that did verify.
func (l *Linker) load(ctx context.Context, v *vc.Verifier, d string) ([]Link, error) {
	recs, err := l.records.Query(ctx, d, bridge.PathLink, dwn.Filter{})
	if err != nil {
		return nil, err
	}
	var (
		out  []Link
		errs []error
	)
	for _, r := range recs {
		var stored Link
		if err := json.Unmarshal(r.Data, &stored); err != nil {
			errs = append(errs, fmt.Errorf("link: record %s of %s: %w", r.ID, d, err))
			continue
		}
		lk, err := l.verify(ctx, v, stored.Credential, d, stored.Address)
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			l.cfg.log.Info("link: stored link left out", "did", d, "address", stored.Address, "err", err)
			continue
		}
		lk.RecordID = r.ID
		out = append(out, *lk)
	}
	return out, errors.Join(errs...)
}

// snapshot returns a credential verifier that checks revocations against the list as it is
// now (with WithSharedStore, read from the store once): for the many stored links Load and
// Refresh verify at once, which would otherwise each read the list again.
func (l *Linker) snapshot(ctx context.Context) (*vc.Verifier, error) {
	l.mu.Lock()
	if l.cfg.shared {
		if err := l.syncList(ctx); err != nil {
			l.mu.Unlock()
			return nil, err
		}
	}
	url, token := l.cfg.listURL, l.listToken
	l.mu.Unlock()
	return vc.NewVerifier(l.resolver, vc.WithClock(l.cfg.now), vc.WithStatusCheck(vc.StatusListFetcherFunc(
		func(_ context.Context, u string) (string, error) {
			if u != url {
				return "", fmt.Errorf("unknown status list %s", u)
			}
			return token, nil
		})))
}

// Index is the reverse lookup of links: address → DIDs, DID → addresses, with each link's
// metadata. It is safe for concurrent use; its Owners method fits utxo and trigger.
type Index struct {
	net       bitcoin.Network
	mu        sync.RWMutex
	byScript  map[string][]Link
	byAddress map[string][]Link
}

// NewIndex returns an empty index for net.
func NewIndex(net bitcoin.Network) *Index {
	return &Index{net: net, byScript: map[string][]Link{}, byAddress: map[string][]Link{}}
}

func (x *Index) add(lk Link) {
	lk.Credential = ""
	x.remove(lk.DID, lk.Address)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.byAddress[lk.Address] = append(x.byAddress[lk.Address], lk)
	if a, err := bitcoin.ParseAddress(lk.Address, x.net); err == nil {
		x.byScript[string(a.PkScript())] = append(x.byScript[string(a.PkScript())], lk)
	}
}

func (x *Index) remove(d, address string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	drop := func(l []Link) []Link {
		return slices.DeleteFunc(l, func(lk Link) bool { return lk.DID == d && lk.Address == address })
	}
	x.byAddress[address] = drop(x.byAddress[address])
	if len(x.byAddress[address]) == 0 {
		delete(x.byAddress, address)
	}
	if a, err := bitcoin.ParseAddress(address, x.net); err == nil {
		s := string(a.PkScript())
		x.byScript[s] = drop(x.byScript[s])
		if len(x.byScript[s]) == 0 {
			delete(x.byScript, s)
		}
	}
}

func (x *Index) find(d, address string) (Link, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, lk := range x.byAddress[address] {
		if lk.DID == d {
			return lk, true
		}
	}
	return Link{}, false
}

// Lookup returns the links of an address (its metadata: DID, verification method, linked at
// ...), oldest first. The credentials are not included.
func (x *Index) Lookup(address string) []Link {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return slices.Clone(x.byAddress[address])
}

// DIDs returns the DIDs an address is linked to.
func (x *Index) DIDs(address string) []string {
	var out []string
	for _, lk := range x.Lookup(address) {
		out = append(out, lk.DID)
	}
	return out
}

// Addresses returns the addresses linked to d, sorted.
func (x *Index) Addresses(d string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	for a, links := range x.byAddress {
		for _, lk := range links {
			if lk.DID == d {
				out = append(out, a)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// Owners returns the DIDs linked to the address paying pkScript.
func (x *Index) Owners(pkScript []byte) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	links := x.byScript[string(pkScript)]
	if len(links) == 0 {
		return nil
	}
	out := make([]string, len(links))
	for i, lk := range links {
		out[i] = lk.DID
	}
	return out
}
