package dwn

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"github.com/anya-org/anya-go/bus"
)

// Event kinds: the last two tokens of an event's topic.
const (
	EventRecordWritten      = "records.written"
	EventRecordDeleted      = "records.deleted"
	EventProtocolConfigured = "protocols.configured"
)

// EventSource is the source of the events a node publishes.
const EventSource = "web5.dwn"

// TopicPrefix starts the topic of every event a node publishes.
const TopicPrefix = "web5.dwn"

// Event is published on the bus after a write, a delete or a protocol installation has
// been stored. Record is the record as stored, without its data (subscribers read the data
// through a node, under its permissions); it is nil for a protocol installation.
type Event struct {
	Tenant  string
	Kind    string // one of the Event* kinds
	Message *Message
	Record  *Record
}

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// TenantToken returns the topic token standing for a tenant: 24 base32 characters of the
// SHA-256 of the DID (a DID may contain '.', which separates topic tokens).
func TenantToken(tenant string) string {
	h := sha256.Sum256([]byte(tenant))
	return strings.ToLower(tokenEncoding.EncodeToString(h[:15]))
}

// Topic returns the topic of events of one kind for one tenant:
//
//	web5.dwn.<TenantToken(tenant)>.records.written
//	web5.dwn.<TenantToken(tenant)>.records.deleted
//	web5.dwn.<TenantToken(tenant)>.protocols.configured
//
// Subscribe to "web5.dwn.<token>.>" for everything in one tenant, or to
// "web5.dwn.*.records.written" for writes in every tenant.
func Topic(tenant, kind string) string {
	return TopicPrefix + "." + TenantToken(tenant) + "." + kind
}

// TopicTemplate returns topic with its tenant token replaced by "{tenant}"
// ("web5.dwn.{tenant}.records.written"), and any other topic or pattern (wildcards in the
// token's place included) as it is. Give it to bus.WithTopicTemplate so that the bus's spans
// and metrics name the node's topics without the token — a hash of the tenant's DID that
// anyone can compute from the DID — and count them together.
func TopicTemplate(topic string) string {
	rest, ok := strings.CutPrefix(topic, TopicPrefix+".")
	if !ok {
		return topic
	}
	token, kind, ok := strings.Cut(rest, ".")
	if !ok || token == "*" || token == ">" || token == "" {
		return topic
	}
	return TopicPrefix + ".{tenant}." + kind
}

func (n *Node) emit(ctx context.Context, tenant, kind string, m *Message, r *Record) {
	if n.cfg.bus == nil {
		return
	}
	ev := Event{Tenant: tenant, Kind: kind, Message: m.withoutData()}
	if r != nil {
		ev.Record = r.Clone()
		ev.Record.Data = nil
	}
	// The change is stored: its event must not be lost because the caller gives up now.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.publishTimeout)
	defer cancel()
	if err := bus.Publish(pctx, n.cfg.bus, Topic(tenant, kind), ev, bus.WithKey(tenant), bus.WithSource(EventSource)); err != nil {
		n.cfg.log.WarnContext(ctx, "dwn: publishing an event", "topic", Topic(tenant, kind), "err", err)
	}
}
