package main

// The console command: the operators' web console (package console) over a Manager on a data
// directory.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/anya-org/anya-go/console"
)

// consoleUser is the user of the console's Basic authentication.
const consoleUser = "operator"

// consoleShutdown bounds how long the console waits for requests in progress when it stops.
const consoleShutdown = 5 * time.Second

// consoleInfo is what console prints once it listens.
type consoleInfo struct {
	URL      string `json:"url"`
	User     string `json:"user"`
	Password string `json:"password,omitempty"` // only a password the command made up
	DataDir  string `json:"data_dir"`
	Writes   bool   `json:"writes"`
}

// runConsole serves the web console of a Manager on a data directory until ctx ends (SIGINT):
// on loopback only, behind HTTP Basic authentication (user "operator", the password given or a
// random one, printed), read-only unless --writes. It prints where to look once it listens.
func runConsole(ctx context.Context, e *env, args []string) error {
	fs := newFlags("console")
	mf := addManagerFlags(fs)
	listen := fs.String("listen", "127.0.0.1:0", "the loopback `HOST:PORT` to serve on (port 0: a free one)")
	pass := addSecret(fs, "password", inPassword, false, "the console's password (default: a random one, printed)")
	writes := fs.Bool("writes", false, "let the operator reset circuit breakers (default: read-only)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return usageError("--listen %q: %v", clip(*listen), err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usageError("--listen %q: the console serves plain HTTP with Basic authentication, so only on loopback (127.0.0.1 or ::1); to reach it from elsewhere, mount package console in a host behind TLS", clip(*listen))
	}
	password, shown := "", ""
	if pass.given() {
		raw, err := pass.read(e)
		if err != nil {
			return err
		}
		if password = string(trimLine(raw)); len(password) < 8 {
			return usageError("--password: at least 8 characters")
		}
	} else {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		password = hex.EncodeToString(b)
		shown = password
	}
	s, err := mf.open(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	auth := console.BasicAuth(consoleUser, password)
	opts := []console.Option{}
	if *writes {
		opts = append(opts, console.WithWrites(auth))
	}
	h, err := console.New(s.m, auth, opts...)
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return &cliError{Code: "io", Err: fmt.Errorf("console: %w", err)}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	if err := writeJSON(e.stdout, consoleInfo{URL: "http://" + l.Addr().String() + "/", User: consoleUser, Password: shown,
		DataDir: s.m.DataDir(), Writes: *writes}); err != nil {
		_ = srv.Close()
		<-served
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-served:
		return &cliError{Code: "io", Err: fmt.Errorf("console: %w", err)}
	}
	// The event streams end first: Shutdown waits for the requests in progress.
	_ = h.Close()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), consoleShutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return &cliError{Code: "io", Err: fmt.Errorf("console: %w", err)}
	}
	return nil
}
