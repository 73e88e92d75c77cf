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
	portable := addSecret(fs, "portable-did", inPortableDID, true, "the issuer's portable DID")
	subject := fs.String("subject", "", "`DID` of the credential subject")
	typ := fs.String("type", "", "credential type `T` (besides VerifiableCredential)")
	claims := fs.String("claims", "{}", "JSON object of `CLAIMS` about the subject (or @FILE, or - for standard input)")
	statusList := fs.String("status-list", "", "`URL` of the status list credential the credential's status entry points at")
	statusIndex := fs.Int("status-index", -1, "the credential's `N` (index) in --status-list")
	purpose := fs.String("status-purpose", vc.PurposeRevocation, "revocation or suspension")
	v2 := fs.Bool("v2", false, "issue a VC Data Model 2.0 credential (vc+jwt) instead of 1.1 (VC-JWT)")
	if err := noArgs(fs, args, "subject", "type"); err != nil {
		return err
	}
	if (*statusList == "") != (*statusIndex < 0) {
		return usageError("vc issue: --status-list and --status-index go together (the index is 0 or more)")
	}
	if *purpose != vc.PurposeRevocation && *purpose != vc.PurposeSuspension {
		return usageError("vc issue: --status-purpose must be revocation or suspension")
	}
	// Read every input before judging any, so that each gets its own limit and only one of
	// them can take standard input.
	rawIssuer, err := readPortable(e, portable)
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
	issuer, err := importBearer(ctx, rawIssuer)
	if err != nil {
		return err
	}
	if _, err := did.Parse(*subject); err != nil {
		return usageError("vc issue: --subject: %v", err)
	}
	var sub vc.Subject
	if err := json.Unmarshal(claimsJSON, &sub); err != nil || sub == nil {
		return usageError("vc issue: --claims must be a JSON object")
	}
	sub["id"] = *subject
	version := vc.V1
	if *v2 {
		version = vc.V2
	}
	opts := []vc.Option{vc.WithType(*typ), vc.WithVersion(version)}
	if *statusList != "" {
		opts = append(opts, vc.WithStatus(vc.NewStatusEntry(version, *statusList, *statusIndex, *purpose)))
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

// unjudged returns the error to report when a verification could not be carried out — it was
// interrupted, or a DID could not be resolved for a reason that says nothing about the token
// (no gateway for did:dht, a gateway or web server that cannot be reached) — and nil when the
// failure is a verdict about the token.
func unjudged(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var re *did.ResolutionError
	if errors.As(err, &re) && (re.Code == did.CodeMethodNotSupported || re.Code == did.CodeInternalError) {
		return resolutionError(err)
	}
	return nil
}

func runVCVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags("vc verify")
	gateway := gatewayFlag(fs)
	pos, err := parse(fs, args)
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
	if uerr := unjudged(err); uerr != nil {
		return uerr
	}
	out := verification{Verified: err == nil, Credential: cred}
	if err != nil {
		out.Error = err.Error()
		out.Credential, _ = vc.Decode(token)
	}
	return writeJSON(e.stdout, out)
}
