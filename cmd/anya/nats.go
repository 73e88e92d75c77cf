package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultNATSListen is where anya nats listens unless told: NATS's usual client port, on
// loopback.
const DefaultNATSListen = "127.0.0.1:4222"

// natsWait bounds how long the embedded server may take to accept connections, and a command
// to connect to one (--nats).
const natsWait = 10 * time.Second

// natsInfo is what nats prints once the server accepts connections.
type natsInfo struct {
	URL       string `json:"url"` // what --nats takes
	StoreDir  string `json:"store_dir"`
	JetStream bool   `json:"jetstream"`
}

// runNATS runs an embedded nats-server with JetStream until ctx ends (SIGINT): it prints the
// server's URL once it accepts connections, and shuts it down when interrupted. A store
// directory it made up is removed. The server has no authentication and no TLS, so it listens
// on loopback only: it is for trying hosts that share their state on one machine; a deployment
// runs nats-server (a cluster: see the SDK's README, Scaling out).
func runNATS(ctx context.Context, e *env, args []string) error {
	fs := newFlags("nats")
	storeDir := fs.String("store-dir", "", "the directory (`DIR`) JetStream keeps its streams and buckets in (default: a temporary one, removed when the server stops)")
	listen := fs.String("listen", DefaultNATSListen, "the client `HOST:PORT`, on loopback (port 0: a free one)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	host, portText, err := net.SplitHostPort(*listen)
	if err != nil {
		return usageError("nats: --listen %q: %v", clip(*listen), err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return usageError("nats: --listen %q: the port must be 0 to 65535", clip(*listen))
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usageError("nats: --listen %q: the embedded server has no authentication, so it listens on loopback only (127.0.0.1, ::1 or localhost); run nats-server to serve other machines", clip(*listen))
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	dir := *storeDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "anya-nats-*"); err != nil {
			return &cliError{Code: "io", Err: err}
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return &cliError{Code: "io", Err: err}
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return &cliError{Code: "io", Err: err}
	}
	srv, err := server.NewServer(&server.Options{ServerName: "anya", Host: host, Port: port, JetStream: true, StoreDir: dir,
		NoLog: true, NoSigs: true})
	if err != nil {
		return &cliError{Code: "nats_failed", Err: fmt.Errorf("nats: %w", err)}
	}
	go srv.Start()
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	if !srv.ReadyForConnections(natsWait) {
		return &cliError{Code: "nats_failed", Err: fmt.Errorf("nats: the server does not accept connections on %s after %v (is the port taken?)", *listen, natsWait)}
	}
	if !srv.JetStreamEnabled() {
		return &cliError{Code: "nats_failed", Err: fmt.Errorf("nats: JetStream did not start in %s", dir)}
	}
	if err := writeJSON(e.stdout, natsInfo{URL: srv.ClientURL(), StoreDir: dir, JetStream: true}); err != nil {
		return err
	}
	<-ctx.Done()
	return nil // interrupted: the server stops, the command succeeds
}

// natsFlags are the flags that put a Manager's state on NATS JetStream.
type natsFlags struct {
	url, hostName *string
}

func addNATSFlags(fs *flag.FlagSet) natsFlags {
	return natsFlags{
		url:      fs.String("nats", "", "keep the Manager's state on NATS JetStream at `URL` (anya nats starts a server), shared with the other hosts given the same URL; needs a node (--rpc) that all of them follow (default: the data directory's SQLite files)"),
		hostName: fs.String("host-name", "", "this host's `NAME` among the hosts sharing --nats (default: one derived from the data directory, so that a command run again on it takes its unfinished payments back at once)"),
	}
}

// check refuses --host-name without --nats, and --nats on the embedded chain (which lives as
// long as one command: other hosts could not follow it).
func (f natsFlags) check(rpc string) error {
	switch {
	case *f.url == "" && *f.hostName != "":
		return usageError("--host-name goes with --nats")
	case *f.url != "" && rpc == "":
		return usageError("--nats: the hosts sharing NATS follow one chain, a node (--rpc); the embedded chain lives as long as one command")
	}
	return nil
}

// name is the host name: the one given, or one derived from the data directory.
func (f natsFlags) name(dir string) string {
	if *f.hostName != "" {
		return *f.hostName
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	return "anya-cli-" + hex.EncodeToString(sum[:6])
}

// connect connects to the server of --nats.
func (f natsFlags) connect(ctx context.Context) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(*f.url, nats.Name("anya"), nats.Timeout(natsWait), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(false))
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, &cliError{Code: "unreachable", Err: fmt.Errorf("nats %s: %w", clip(*f.url), err)}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, &cliError{Code: "unreachable", Err: fmt.Errorf("nats %s: %w", clip(*f.url), err)}
	}
	return nc, js, nil
}
