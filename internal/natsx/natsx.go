package natsx

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ServerConfig says where an embedded server listens and keeps its data.
type ServerConfig struct {
	// StoreDir is the directory of the JetStream streams. Required.
	StoreDir string
	// Host to listen on; "" means 127.0.0.1.
	Host string
	// Port to listen on; 0 picks a free one (server.RANDOM_PORT).
	Port int
	// Name of the server; "" lets the server choose.
	Name string
	// ReadyTimeout bounds the wait for the server to accept connections; 0 means 10 s.
	ReadyTimeout time.Duration
	// Cluster, when set, makes the server a node of a JetStream cluster. Name is then required
	// and unique among the nodes.
	Cluster *ClusterConfig
}

// ClusterConfig joins a server to a cluster.
type ClusterConfig struct {
	Name   string   // the cluster's name, the same on every node
	Port   int      // where this node listens for routes from the others (on Host)
	Routes []string // route URLs of the nodes ("nats://127.0.0.1:<port>"), this one's included
}

// ErrNotReady is returned by StartServer when the server does not accept connections in time.
var ErrNotReady = errors.New("natsx: embedded server not ready")

// StartServer starts an embedded nats-server with JetStream, logging nothing and leaving
// signals alone, and returns it once it accepts connections. Shut it down with Shutdown and
// WaitForShutdown.
func StartServer(cfg ServerConfig) (*server.Server, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("natsx: StartServer needs a store directory")
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       cfg.Host,
		Port:       cfg.Port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		NoLog:      true,
		NoSigs:     true,
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	if c := cfg.Cluster; c != nil {
		if cfg.Name == "" || c.Name == "" || c.Port == 0 {
			return nil, errors.New("natsx: a cluster node needs a server name, a cluster name and a route port")
		}
		opts.Cluster = server.ClusterOpts{Name: c.Name, Host: opts.Host, Port: c.Port}
		for _, r := range c.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("natsx: route %q: %w", r, err)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsx: %w", err)
	}
	wait := cfg.ReadyTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	go s.Start()
	if !s.ReadyForConnections(wait) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, ErrNotReady
	}
	return s, nil
}

// EscapeKey maps s to a JetStream KV key token (no dots), injectively. The empty string maps to
// "=" (no other string does).
func EscapeKey(s string) string {
	if s == "" {
		return "="
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if !plain(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

// UnescapeKey reverses EscapeKey. It fails on a token EscapeKey cannot produce.
func UnescapeKey(k string) (string, error) {
	if k == "=" {
		return "", nil
	}
	if !strings.Contains(k, "=") {
		for i := 0; i < len(k); i++ {
			if !plain(k[i]) {
				return "", fmt.Errorf("natsx: malformed escaped key %q", k)
			}
		}
		if k == "" {
			return "", fmt.Errorf("natsx: empty escaped key")
		}
		return k, nil
	}
	out := make([]byte, 0, len(k))
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '=':
			if i+2 >= len(k) {
				return "", fmt.Errorf("natsx: malformed escaped key %q", k)
			}
			hi, lo := unhex(k[i+1]), unhex(k[i+2])
			if hi < 0 || lo < 0 {
				return "", fmt.Errorf("natsx: malformed escaped key %q", k)
			}
			v := byte(hi<<4 | lo)
			if plain(v) {
				return "", fmt.Errorf("natsx: malformed escaped key %q", k)
			}
			out = append(out, v)
			i += 2
		case plain(c):
			out = append(out, c)
		default:
			return "", fmt.Errorf("natsx: malformed escaped key %q", k)
		}
	}
	return string(out), nil
}

func plain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '/'
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// RoundTTL rounds ttl up to whole seconds, the granularity of JetStream message TTLs. A
// non-positive ttl stays 0 (no TTL).
func RoundTTL(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return 0
	}
	return (ttl + time.Second - 1).Truncate(time.Second)
}

// Write is one KV write made through the stream under the bucket, for what the KV API does not
// offer: a TTL on a replacement, a TTL together with compare-and-set.
type Write struct {
	Bucket string
	Key    string // a valid KV key
	Value  []byte
	// TTL, rounded up to whole seconds; 0 means none. The bucket needs LimitMarkerTTL.
	TTL time.Duration
	// Revision, when Expect is set, is the revision the key must have (0: the key must not
	// exist, or be deleted).
	Revision uint64
	Expect   bool
	// Delete makes the write a KV delete (a delete marker; Value is ignored). Batch only.
	Delete bool
}

// Put makes w and returns the new revision. A failed compare-and-set returns an error wrapping
// jetstream.ErrKeyExists (Revision 0) or jetstream.ErrKeyRevisionMismatch.
func Put(ctx context.Context, js jetstream.JetStream, w Write) (uint64, error) {
	m := nats.NewMsg("$KV." + w.Bucket + "." + w.Key)
	m.Data = w.Value
	var opts []jetstream.PublishOpt
	if w.Expect {
		opts = append(opts, jetstream.WithExpectLastSequencePerSubject(w.Revision))
	}
	if ttl := RoundTTL(w.TTL); ttl > 0 {
		opts = append(opts, jetstream.WithMsgTTL(ttl))
	}
	ack, err := js.PublishMsg(ctx, m, opts...)
	if err != nil {
		if w.Expect && IsWrongSequence(err) {
			if w.Revision == 0 {
				return 0, fmt.Errorf("%w: %w", jetstream.ErrKeyExists, err)
			}
			return 0, fmt.Errorf("%w: %w", jetstream.ErrKeyRevisionMismatch, err)
		}
		return 0, err
	}
	return ack.Sequence, nil
}

// IsWrongSequence reports whether err is JetStream refusing a write whose expected last
// sequence did not match (a compare-and-set conflict), on single or replicated streams.
func IsWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// IsConflict reports whether err is a KV compare-and-set conflict: a Create of an existing key,
// an Update of a changed one, or a Put whose expectation failed.
func IsConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) || IsWrongSequence(err)
}
