package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/did/didpkh"
	"github.com/anya-org/anya-go/web5/did/didweb"
	"github.com/anya-org/anya-go/web5/jose"
)

// gatewayEnv names the environment variable that gives --gateway its default.
const gatewayEnv = "ANYA_DHT_GATEWAY"

// gatewayFlag defines --gateway, the did:dht gateway, defaulting to $ANYA_DHT_GATEWAY.
func gatewayFlag(fs *flag.FlagSet) *string {
	return fs.String("gateway", os.Getenv(gatewayEnv), "did:dht gateway `URL` to resolve (and publish) did:dht through (default $"+gatewayEnv+")")
}

// curve reads a --key-type value.
func curve(s string) (jose.Curve, error) {
	switch strings.ToLower(s) {
	case "ed25519":
		return jose.Ed25519, nil
	case "secp256k1":
		return jose.Secp256k1, nil
	case "p-256", "p256":
		return jose.P256, nil
	}
	return "", usageError("--key-type must be Ed25519, secp256k1 or P-256, not %q", s)
}

// resolutionCodes gives the CLI code of each DID resolution error code.
var resolutionCodes = map[string]string{
	did.CodeInvalidDID:                 "invalid_did",
	did.CodeInvalidDIDURL:              "invalid_did_url",
	did.CodeNotFound:                   "not_found",
	did.CodeMethodNotSupported:         "method_not_supported",
	did.CodeRepresentationNotSupported: "representation_not_supported",
	did.CodeInvalidPublicKey:           "invalid_public_key",
	did.CodeInternalError:              "resolution_failed",
}

// resolutionError turns a failed DID resolution into a CLI error: a code of its own, a message
// that says what to do about it, and the W3C resolution result as the error's detail. A
// network failure (the gateway or web server cannot be reached) has the code "unreachable".
func resolutionError(err error) error {
	var re *did.ResolutionError
	if !errors.As(err, &re) {
		return err
	}
	code := resolutionCodes[re.Code]
	if code == "" {
		code = "resolution_failed"
	}
	msg := err.Error()
	var uerr *url.Error
	var nerr *net.OpError
	if errors.As(err, &uerr) || errors.As(err, &nerr) {
		code = "unreachable"
	}
	if re.Code == did.CodeMethodNotSupported && strings.HasPrefix(re.DID, "did:"+diddht.Method+":") {
		msg += "; did:dht is resolved through a gateway: pass --gateway URL or set " + gatewayEnv
	}
	return &cliError{Code: code, Err: errors.New(msg), Detail: did.ErrorResult(err)}
}

// didError gives a did package error its CLI code.
func didError(err error) error {
	var re *did.ResolutionError
	switch {
	case errors.As(err, &re):
		return resolutionError(err)
	case errors.Is(err, did.ErrInvalidOption):
		return usageError("%v", err)
	case errors.Is(err, did.ErrInvalidPortableDID):
		return &cliError{Code: "invalid_portable_did", Err: err}
	case errors.Is(err, diddht.ErrConflict):
		return &cliError{Code: "conflict", Err: err}
	}
	return err
}

func runDIDCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags("did create")
	method := fs.String("method", "", "the DID method, `key|jwk|dht`")
	keyType := fs.String("key-type", "Ed25519", "the key type, `Ed25519|secp256k1|P-256` (for dht: an extra assertion key; the identity key is Ed25519)")
	gateway := fs.String("gateway", "", "did:dht gateway `URL` to publish to")
	out := fs.String("out", "", "write the portable DID (it holds the private keys) to `FILE`, readable by its owner only, and print only the public part")
	if err := noArgs(fs, args, "method"); err != nil {
		return err
	}
	c, err := curve(*keyType)
	if err != nil {
		return err
	}
	if *gateway != "" && *method != diddht.Method {
		return usageError("did create: --gateway is for --method dht")
	}
	km := jose.NewMemoryKeyManager()
	var b *did.BearerDID
	switch *method {
	case didkey.Method:
		b, err = didkey.Create(ctx, km, c)
	case didjwk.Method:
		b, err = didjwk.Create(ctx, km, c)
	case diddht.Method:
		var opts []diddht.CreateOption
		if c != jose.Ed25519 {
			opts = append(opts, diddht.WithKey(c, "", did.AssertionMethod, did.Authentication))
		}
		if b, err = diddht.Create(ctx, km, opts...); err != nil {
			break
		}
		if *gateway != "" {
			var client *diddht.Client
			if client, err = diddht.NewClient(*gateway); err == nil {
				err = client.Publish(ctx, b)
			}
		}
	default:
		return usageError("did create: --method must be key, jwk or dht, not %q", *method)
	}
	if err != nil {
		return didError(err)
	}
	p, err := b.Export(ctx)
	if err != nil {
		return err
	}
	if *out == "" {
		return writeJSON(e.stdout, p)
	}
	if err := writeSecretFile(*out, p); err != nil {
		return err
	}
	return writeJSON(e.stdout, map[string]any{"uri": p.URI, "document": p.Document, "metadata": p.Metadata, "file": *out})
}

// resolverOptions are the CLI resolver's choices.
type resolverOptions struct {
	gateway      string // did:dht gateway; did:dht is not resolvable without one
	loopbackHTTP bool   // did:web over plain HTTP from loopback hosts
}

// resolver builds the CLI's resolver: key, jwk, web, pkh, and dht when a gateway is given.
func resolver(gateway string) (*did.Resolver, error) {
	return newResolver(resolverOptions{gateway: gateway})
}

func newResolver(o resolverOptions) (*did.Resolver, error) {
	var wopts []didweb.Option
	if o.loopbackHTTP {
		wopts = append(wopts, didweb.WithLoopbackHTTP(), didweb.WithAllowPrivateNetworks())
	}
	web, err := didweb.New(wopts...)
	if err != nil {
		return nil, err
	}
	methods := []did.MethodResolver{didkey.New(), didjwk.New(), web, didpkh.New()}
	if o.gateway != "" {
		dht, err := diddht.NewClient(o.gateway)
		if err != nil {
			return nil, usageError("--gateway: %v", err)
		}
		methods = append(methods, dht)
	}
	return did.NewResolver(did.WithMethods(methods...), did.WithoutCache())
}

// runDIDResolve resolves a DID. A DID that does not resolve is an error (its code names the
// W3C error, its detail is the W3C resolution result).
func runDIDResolve(ctx context.Context, e *env, args []string) error {
	fs := newFlags("did resolve")
	gateway := gatewayFlag(fs)
	loopback := fs.Bool("web-loopback-http", false, "resolve did:web on loopback hosts (localhost, 127.0.0.1) over plain HTTP, for local setups")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("did resolve: want one DID, got %d arguments", len(pos))
	}
	if _, err := e.read(inDID, pos[0]); err != nil {
		return err
	}
	r, err := newResolver(resolverOptions{gateway: *gateway, loopbackHTTP: *loopback})
	if err != nil {
		return err
	}
	res, err := r.Resolve(ctx, pos[0])
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return resolutionError(err)
	}
	return writeJSON(e.stdout, res)
}

// readBearer reads and imports a portable DID from its secret flags.
func readBearer(ctx context.Context, e *env, s *secret) (*did.BearerDID, error) {
	raw, err := readPortable(e, s)
	if err != nil {
		return nil, err
	}
	return importBearer(ctx, raw)
}

// readPortable reads a portable DID's JSON from its secret flags; a file that cannot be read
// makes an invalid portable DID.
func readPortable(e *env, s *secret) ([]byte, error) {
	raw, err := s.read(e)
	var ce *cliError
	if errors.As(err, &ce) && (ce.Code == "io" || ce.Code == "not_found") {
		return nil, &cliError{Code: "invalid_portable_did", Err: err}
	}
	return raw, err
}

// importBearer parses and imports a portable DID.
func importBearer(ctx context.Context, raw []byte) (*did.BearerDID, error) {
	p, err := did.ParsePortableDID(raw)
	if err != nil {
		return nil, didError(err)
	}
	b, err := did.Import(ctx, p, nil)
	if err != nil {
		return nil, didError(err)
	}
	return b, nil
}

// writeSecretFile writes v as JSON to a new file only its owner can read.
func writeSecretFile(path string, v any) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return &cliError{Code: "io", Err: fmt.Errorf("write %s: %w", path, err)}
	}
	if err := writeJSON(f, v); err != nil {
		_ = f.Close()
		return &cliError{Code: "io", Err: err}
	}
	if err := f.Close(); err != nil {
		return &cliError{Code: "io", Err: err}
	}
	return nil
}
