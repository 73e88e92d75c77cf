// Package natstest starts embedded NATS JetStream servers for tests: one call gives a running
// server on loopback, storing its streams in the test's temporary directory, shut down when the
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
	"net"
	"strconv"
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
