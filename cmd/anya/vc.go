package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/vc"
)

func runVCIssue(ctx context.Context, e *env, args []string) error {
	fs := newFlags("vc issue")
	portable := fs.String("portable-did", "", "file holding the issuer's portable DID (JSON), or - for standard input")
	subject := fs.String("subject", "", "DID of the credential subject")
	typ := fs.String("type", "", "credential type (besides VerifiableCredential)")
	claims := fs.String("claims", "{}", "JSON object of claims about the subject (or @FILE, or - for standard input)")
	v2 := fs.Bool("v2", false, "issue a VC Data Model 2.0 credential (vc+jwt) instead of 1.1 (VC-JWT)")
	pos, err := parseInterspersed(fs, args, "portable-did", "subject", "type")
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("vc issue: unexpected argument %q", pos[0])
	}
	// Read every input before judging any, so that each gets its own limit and only one of
	// them can take standard input.
	raw, err := e.readFile(inPortableDID, *portable)
	var ce *cliError
	if errors.As(err, &ce) && (ce.Code == "io" || ce.Code == "not_found") {
		return &cliError{Code: "invalid_portable_did", Err: err}
	}
	if err != nil {
		return err
	}
	if _, err := e.read(inDID, *subject); err != nil {
		return err
	}
	claimsJSON, err := e.read(inClaims, *claims)
	if err != nil {
		return err
	}
	p, err := did.ParsePortableDID(raw)
	if err != nil {
		return didError(err)
	}
	issuer, err := did.Import(ctx, p, nil)
	if err != nil {
		return didError(err)
	}
	if _, err := did.Parse(*subject); err != nil {
		return usageError("vc issue: --subject: %v", err)
	}
	var sub vc.Subject
	if err := json.Unmarshal(claimsJSON, &sub); err != nil || sub == nil {
		return usageError("vc issue: --claims must be a JSON object")
	}
	sub["id"] = *subject
	opts := []vc.Option{vc.WithType(*typ)}
	if *v2 {
		opts = append(opts, vc.WithVersion(vc.V2))
	}
	cred, err := vc.New(issuer.String(), sub, opts...)
	if err != nil {
		return &cliError{Code: "invalid_credential", Err: err}
	}
	token, err := cred.Sign(ctx, issuer)
	if err != nil {
		return err
	}
	return writeJSON(e.stdout, struct {
		VCJWT string `json:"vcJwt"`
	}{token})
}

// verification is what vc verify prints. Credential is the decoded credential, also when
// verification failed (as long as the token decodes), so that the failure can be read.
type verification struct {
	Verified   bool           `json:"verified"`
	Credential *vc.Credential `json:"credential"`
	Error      string         `json:"error,omitempty"`
}

func runVCVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags("vc verify")
	gateway := fs.String("gateway", "", "did:dht gateway for did:dht issuers")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("vc verify: want one JWT (or @FILE, or - for standard input), got %d arguments", len(pos))
	}
	raw, err := e.read(inCredential, pos[0])
	if err != nil {
		return err
	}
	token := strings.TrimSpace(string(raw))
	r, err := resolver(*gateway)
	if err != nil {
		return err
	}
	v, err := vc.NewVerifier(r)
	if err != nil {
		return err
	}
	cred, err := v.Verify(ctx, token)
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	out := verification{Verified: err == nil, Credential: cred}
	if err != nil {
		out.Error = err.Error()
		out.Credential, _ = vc.Decode(token)
	}
	return writeJSON(e.stdout, out)
}
