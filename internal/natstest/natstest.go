// Package natstest starts embedded NATS JetStream servers for tests: one call gives a running
// server (or, with StartCluster, a JetStream cluster of several) on loopback, storing its streams in the test's temporary directory, shut down when the
// test ends; Connect gives a client connection closed at the end of the test; Restart stops the
// server and starts it again on the same port and directory, which is how tests check that
// nothing committed is lost.
//
// # Use
//
//	srv := natstest.Start(t)
//	js := srv.JetStream(t)
//	kv, _ := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "runs"})
//
// # Conventions
//
// The SDK has one option style. A constructor takes options of one type, Option, a
// func(*config) over an unexported configuration: it applies the defaults, then the options in
// order, then validates the whole configuration once and returns a typed *OptionError naming
// the offending option, its value and the reason (it matches the package's ErrInvalidOption
// with errors.Is). Option constructors never fail and never panic, and each option's
// documentation ends with its default. Time comes from WithClock(now func() time.Time),
// time.Now by default; timers and sleeps use package time, so tests fake time with
// testing/synctest. Logs go to WithLogger(*slog.Logger), silent by default. The zero value of an
// exported type either works as documented or returns an error naming its constructor (it
// matches the package's ErrNotConstructed with errors.Is); it never panics.
//
// The zero Server is not usable: its methods fail the test with a message naming Start.
package natstest

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/anya-org/anya-go/internal/natsx"
)

// TB is the part of testing.TB the kit uses; *testing.T and *testing.B are TBs.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
	TempDir() string
	Name() string
}

// Server is an embedded nats-server with JetStream on loopback. Create it with Start: Connect,
// JetStream and Restart on a zero Server fail the test with a message naming Start, and its
// Shutdown does nothing.
type Server struct {
	dir  string
	port int

	mu  sync.Mutex
	srv *server.Server
}

// Start starts a server for t, shut down when t ends.
func Start(t TB) *Server {
	t.Helper()
	s := &Server{dir: t.TempDir()}
	srv, err := natsx.StartServer(natsx.ServerConfig{StoreDir: s.dir})
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	s.srv, s.port = srv, srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(s.Shutdown)
	return s
}

// URL returns the server's client URL.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "nats://127.0.0.1:" + strconv.Itoa(s.port)
}

// StoreDir returns the directory the server keeps its streams in.
func (s *Server) StoreDir() string { return s.dir }

// Connect returns a client connection to the server, closed when t ends. It reconnects for
// ever, so it survives Restart.
func (s *Server) Connect(t TB) *nats.Conn {
	t.Helper()
	if !s.started(t) {
		return nil
	}
	nc, err := nats.Connect(s.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		nats.Name(t.Name()), nats.NoCallbacksAfterClientClose())
	if err != nil {
		t.Fatalf("natstest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// JetStream returns the JetStream API over a new connection (see Connect).
func (s *Server) JetStream(t TB) jetstream.JetStream {
	t.Helper()
	if !s.started(t) {
		return nil
	}
	js, err := jetstream.New(s.Connect(t))
	if err != nil {
		t.Fatalf("natstest: jetstream: %v", err)
	}
	return js
}

// started reports whether s was made by Start, failing t if not.
func (s *Server) started(t TB) bool {
	t.Helper()
	if s.dir == "" {
		t.Fatalf("natstest: a zero Server is not usable: create it with natstest.Start")
		return false
	}
	return true
}

// Shutdown stops the server and waits until it has. It is idempotent.
func (s *Server) Shutdown() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// Restart shuts the server down and starts it again on the same port with the same store
// directory. Connections made with Connect reconnect by themselves.
func (s *Server) Restart(t TB) {
	t.Helper()
	if !s.started(t) {
		return
	}
	s.Shutdown()
	var srv *server.Server
	var err error
	// The port may linger in the kernel for a moment after the listener closes.
	for i := 0; i < 50; i++ {
		if srv, err = natsx.StartServer(natsx.ServerConfig{StoreDir: s.dir, Port: s.port}); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("natstest: restart: %v", err)
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
}

// Cluster is a JetStream cluster of embedded servers on loopback, each node with its own store
// directory; the nodes can be stopped and started again on the same ports and directories.
type Cluster struct {
	name   string
	routes []string
	nodes  []*Server
	rports []int
}

// freePort returns a loopback port nobody listens on (now).
func freePort(t TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartCluster starts a cluster of n nodes for t, shut down when t ends, and returns once its
// JetStream has a leader and every node is a current peer of it.
func StartCluster(t TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{name: "anya-test"}
	for range n {
		p := freePort(t)
		c.rports = append(c.rports, p)
		c.routes = append(c.routes, "nats://127.0.0.1:"+strconv.Itoa(p))
		c.nodes = append(c.nodes, &Server{dir: t.TempDir(), port: freePort(t)})
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range c.nodes {
		wg.Go(func() { errs[i] = c.start(i) })
	}
	wg.Wait()
	for i := range c.nodes {
		t.Cleanup(c.nodes[i].Shutdown)
		if errs[i] != nil {
			t.Fatalf("natstest: node %d: %v", i, errs[i])
		}
	}
	c.waitLeader(t)
	return c
}

func (c *Cluster) start(i int) error {
	s := c.nodes[i]
	var srv *server.Server
	var err error
	for range 50 { // the port may linger for a moment after a stop
		srv, err = natsx.StartServer(natsx.ServerConfig{StoreDir: s.dir, Port: s.port, Name: "node" + strconv.Itoa(i),
			Cluster: &natsx.ClusterConfig{Name: c.name, Port: c.rports[i], Routes: c.routes}})
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	return nil
}

// waitLeader waits until the cluster's JetStream answers and every node is a current peer of
// it (before that, streams replicated on every node cannot be placed).
func (c *Cluster) waitLeader(t TB) {
	t.Helper()
	nc, err := nats.Connect(c.URL(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatalf("natstest: connect: %v", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil && c.current() {
			// The meta leader may still count a peer offline for placement until it hears
			// from it: ready once a stream replicated on every node can be placed.
			if err = c.probe(js); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("natstest: the cluster's JetStream is not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// probe creates and deletes a stream replicated on every node.
func (c *Cluster) probe(js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	const name = "NATSTEST_PLACEMENT_PROBE"
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"natstest.probe"},
		Replicas: len(c.nodes), Storage: jetstream.MemoryStorage}); err != nil {
		return err
	}
	return js.DeleteStream(ctx, name)
}

// current reports whether every node runs and is a current, online peer of the meta leader.
func (c *Cluster) current() bool {
	var leader *server.Server
	for _, n := range c.nodes {
		n.mu.Lock()
		srv := n.srv
		n.mu.Unlock()
		if srv == nil || !srv.JetStreamIsCurrent() {
			return false
		}
		if srv.JetStreamIsLeader() {
			leader = srv
		}
	}
	if leader == nil {
		return false
	}
	info, err := leader.Jsz(nil)
	if err != nil || info.Meta == nil || len(info.Meta.Replicas) != len(c.nodes)-1 {
		return false
	}
	for _, p := range info.Meta.Replicas {
		if !p.Current || p.Offline {
			return false
		}
	}
	return true
}

// Node returns node i.
func (c *Cluster) Node(i int) *Server { return c.nodes[i] }

// URL returns the client URLs of every node, comma-separated (what nats.Connect takes).
func (c *Cluster) URL() string {
	urls := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		urls[i] = n.URL()
	}
	return strings.Join(urls, ",")
}

// Connect returns a connection to the cluster (any node; it moves to another when its node
// stops), closed when t ends.
func (c *Cluster) Connect(t TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(c.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond), nats.Name(t.Name()),
		nats.NoCallbacksAfterClientClose())
	if err != nil {
		t.Fatalf("natstest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// JetStream returns the JetStream API over a new connection (see Connect).
func (c *Cluster) JetStream(t TB) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(c.Connect(t))
	if err != nil {
		t.Fatalf("natstest: jetstream: %v", err)
	}
	return js
}

// Stop shuts node i down.
func (c *Cluster) Stop(i int) { c.nodes[i].Shutdown() }

// Start starts node i again (after Stop) on its ports and directory, and waits until the
// cluster's JetStream answers with every node a current peer.
func (c *Cluster) Start(t TB, i int) {
	t.Helper()
	if err := c.start(i); err != nil {
		t.Fatalf("natstest: restart node %d: %v", i, err)
	}
	c.waitLeader(t)
}
