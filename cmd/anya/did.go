package main

import (
	"context"
	"errors"
	"flag"
	"strings"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/did/diddht"
	"github.com/anya-org/anya-go/web5/did/didjwk"
	"github.com/anya-org/anya-go/web5/did/didkey"
	"github.com/anya-org/anya-go/web5/did/didpkh"
	"github.com/anya-org/anya-go/web5/did/didweb"
	"github.com/anya-org/anya-go/web5/jose"
)

// parseInterspersed parses flags that may come before or after the positional arguments
// ("did resolve DID --gateway URL") and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string, required ...string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError("%s: %v", fs.Name(), err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	for _, name := range required {
		if !flagSet(fs, name) {
			return nil, usageError("%s: --%s is required", fs.Name(), name)
		}
	}
	return pos, nil
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

// didError gives a did package error its CLI code.
func didError(err error) error {
	var re *did.ResolutionError
	switch {
	case errors.As(err, &re):
		return &cliError{Code: re.Code, Err: err}
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
	method := fs.String("method", "", "key, jwk or dht")
	keyType := fs.String("key-type", "Ed25519", "Ed25519, secp256k1 or P-256 (for dht: an extra assertion key; the identity key is Ed25519)")
	gateway := fs.String("gateway", "", "did:dht gateway to publish to")
	pos, err := parseInterspersed(fs, args, "method")
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("did create: unexpected argument %q", pos[0])
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
	return writeJSON(e.stdout, p)
}

// resolver builds the CLI's resolver: key, jwk, web, pkh, and dht when a gateway is given.
func resolver(gateway string) (*did.Resolver, error) {
	web, err := didweb.New()
	if err != nil {
		return nil, err
	}
	methods := []did.MethodResolver{didkey.New(), didjwk.New(), web, didpkh.New()}
	if gateway != "" {
		dht, err := diddht.NewClient(gateway)
		if err != nil {
			return nil, usageError("%v", err)
		}
		methods = append(methods, dht)
	}
	return did.NewResolver(did.WithMethods(methods...), did.WithoutCache())
}

func runDIDResolve(ctx context.Context, e *env, args []string) error {
	fs := newFlags("did resolve")
	gateway := fs.String("gateway", "", "did:dht gateway to resolve through (did:dht is not resolvable without one)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("did resolve: want one DID, got %d arguments", len(pos))
	}
	if _, err := e.read(inDID, pos[0]); err != nil {
		return err
	}
	r, err := resolver(*gateway)
	if err != nil {
		return err
	}
	// A failed resolution is still a result: it is printed, with its error code, and the
	// command succeeds.
	res, err := r.Resolve(ctx, pos[0])
	if err != nil && ctx.Err() != nil {
		return err
	}
	return writeJSON(e.stdout, res)
}
