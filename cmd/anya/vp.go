package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/anya-org/anya-go/web5/netguard"
	"github.com/anya-org/anya-go/web5/pex"
	"github.com/anya-org/anya-go/web5/vc"
)

// readTokens reads each credential of a repeated --credential flag.
func readTokens(e *env, in input, args []string) ([]string, error) {
	out := make([]string, 0, len(args))
	for _, a := range args {
		raw, err := e.read(in, a)
		if err != nil {
			return nil, err
		}
		out = append(out, strings.TrimSpace(string(raw)))
	}
	return out, nil
}

// readDefinition reads and parses a presentation definition.
func readDefinition(e *env, arg string) (*pex.Definition, error) {
	raw, err := e.read(inDefinition, arg)
	if err != nil {
		return nil, err
	}
	d, err := pex.ParseDefinition(raw)
	if err != nil {
		return nil, &cliError{Code: "invalid_definition", Err: err}
	}
	return d, nil
}

func runVPCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags("vp create")
	portable := addSecret(fs, "portable-did", inPortableDID, true, "the holder's portable DID")
	creds := listFlag(fs, "credential", "a credential to present (`JWT`, @FILE or -); repeat for each")
	definition := fs.String("definition", "", "a presentation `DEFINITION` to answer: only the credentials it asks for are presented, with a presentation_submission")
	nonce := fs.String("nonce", "", "the verifier's challenge `N`, signed into the presentation")
	audience := fs.String("audience", "", "the verifier (`DID`) the presentation is for (aud)")
	expires := fs.Duration("expires", 0, "how long (`DURATION`, e.g. 10m) the presentation is valid (default: no expiry)")
	v2 := fs.Bool("v2", false, "a VC Data Model 2.0 presentation (vp+jwt) instead of 1.1 (VP-JWT)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if len(*creds) == 0 {
		return usageError("vp create: give the credentials with --credential, once for each")
	}
	if *expires < 0 {
		return usageError("vp create: --expires must not be negative")
	}
	rawHolder, err := readPortable(e, portable)
	if err != nil {
		return err
	}
	tokens, err := readTokens(e, inCredential, *creds)
	if err != nil {
		return err
	}
	var def *pex.Definition
	if *definition != "" {
		if def, err = readDefinition(e, *definition); err != nil {
			return err
		}
	}
	holder, err := importBearer(ctx, rawHolder)
	if err != nil {
		return err
	}
	var popts []vc.PresentationOption
	if *v2 {
		popts = append(popts, vc.WithPresentationVersion(vc.V2))
	}
	var (
		p   *vc.Presentation
		sub *pex.Submission
	)
	if def != nil {
		p, sub, err = pex.CreatePresentation(def, holder.String(), tokens, popts...)
		if err != nil {
			return &cliError{Code: "unsatisfied", Err: fmt.Errorf("vp create: the credentials do not satisfy the definition: %w", err)}
		}
	} else if p, err = vc.NewPresentation(holder.String(), tokens, popts...); err != nil {
		return &cliError{Code: "invalid_presentation", Err: err}
	}
	var sopts []vc.SignOption
	if *nonce != "" {
		sopts = append(sopts, vc.WithNonce(*nonce))
	}
	if *audience != "" {
		sopts = append(sopts, vc.WithAudienceClaim(*audience))
	}
	if *expires > 0 {
		sopts = append(sopts, vc.ExpiresIn(*expires))
	}
	token, err := p.Sign(ctx, holder, sopts...)
	if err != nil {
		return err
	}
	return writeJSON(e.stdout, struct {
		VPJWT       string          `json:"vpJwt"`
		Credentials int             `json:"credentials"`
		Submission  *pex.Submission `json:"presentation_submission,omitempty"`
	}{token, len(p.VerifiableCredential), sub})
}

// evaluation is the outcome of evaluating a presentation against a definition.
type evaluation struct {
	Satisfied bool     `json:"satisfied"`
	Problems  []string `json:"problems"`
}

func evaluate(d *pex.Definition, presentation []byte) *evaluation {
	err := pex.Evaluate(d, presentation)
	ev := &evaluation{Satisfied: err == nil, Problems: []string{}}
	var ee *pex.EvaluationError
	switch {
	case errors.As(err, &ee):
		ev.Problems = ee.Problems
	case err != nil:
		ev.Problems = []string{err.Error()}
	}
	return ev
}

// presentationCheck is what vp verify prints.
type presentationCheck struct {
	Verified     bool             `json:"verified"`
	Holder       string           `json:"holder,omitempty"`
	Presentation *vc.Presentation `json:"presentation"`
	Credentials  []*vc.Credential `json:"credentials"`
	Error        string           `json:"error,omitempty"`
	Definition   *evaluation      `json:"definition,omitempty"`
}

// verifyPresentation verifies a VP-JWT; a failure that is a verdict is in the result.
func verifyPresentation(ctx context.Context, token, gateway, nonce, audience string) (*presentationCheck, error) {
	r, err := resolver(gateway)
	if err != nil {
		return nil, err
	}
	var vopts []vc.VerifierOption
	if audience != "" {
		vopts = append(vopts, vc.WithAudience(audience))
	}
	v, err := vc.NewVerifier(r, vopts...)
	if err != nil {
		return nil, err
	}
	var checks []vc.PresentationCheck
	if nonce != "" {
		checks = append(checks, vc.ExpectNonce(nonce))
	}
	p, creds, err := v.VerifyPresentation(ctx, token, checks...)
	if uerr := unjudged(err); uerr != nil {
		return nil, uerr
	}
	out := &presentationCheck{Verified: err == nil, Presentation: p, Credentials: creds}
	if creds == nil {
		out.Credentials = []*vc.Credential{}
	}
	if err != nil {
		out.Error = err.Error()
	}
	if p != nil {
		out.Holder = p.Holder
	}
	return out, nil
}

func runVPVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags("vp verify")
	nonce := fs.String("nonce", "", "the challenge `N` the presentation must carry (default: none checked)")
	audience := fs.String("audience", "", "this verifier's `DID`: the presentation's aud must name it")
	definition := fs.String("definition", "", "a presentation `DEFINITION` the presentation must satisfy")
	gateway := gatewayFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("vp verify: want one VP-JWT (or @FILE, or - for standard input), got %d arguments", len(pos))
	}
	raw, err := e.read(inPresentation, pos[0])
	if err != nil {
		return err
	}
	var def *pex.Definition
	if *definition != "" {
		if def, err = readDefinition(e, *definition); err != nil {
			return err
		}
	}
	out, err := verifyPresentation(ctx, strings.TrimSpace(string(raw)), *gateway, *nonce, *audience)
	if err != nil {
		return err
	}
	if def != nil && out.Presentation != nil {
		pj, err := json.Marshal(out.Presentation)
		if err != nil {
			return err
		}
		out.Definition = evaluate(def, pj)
	}
	return writeJSON(e.stdout, out)
}

func runPEXEvaluate(ctx context.Context, e *env, args []string) error {
	fs := newFlags("pex evaluate")
	definition := fs.String("definition", "", "the presentation `DEFINITION` (JSON)")
	creds := listFlag(fs, "credential", "instead of a presentation, credentials (`JWT`, @FILE or -) to select from; repeat for each")
	audience := fs.String("audience", "", "this verifier's `DID`, for a VP-JWT addressed to it (aud)")
	gateway := gatewayFlag(fs)
	pos, err := parse(fs, args, "definition")
	if err != nil {
		return err
	}
	if len(pos) > 1 || (len(pos) == 1) == (len(*creds) > 0) {
		return usageError("pex evaluate: give one presentation (VP) or credentials (--credential), not both")
	}
	def, err := readDefinition(e, *definition)
	if err != nil {
		return err
	}
	if len(*creds) > 0 {
		tokens, err := readTokens(e, inCredential, *creds)
		if err != nil {
			return err
		}
		selected, err := pex.SelectCredentials(def, tokens)
		if err != nil {
			return &cliError{Code: "invalid_definition", Err: err}
		}
		out := struct {
			Satisfied  bool            `json:"satisfied"`
			Selected   []int           `json:"selected"` // indices of the --credential flags, from 0
			Submission *pex.Submission `json:"presentation_submission,omitempty"`
			Verified   bool            `json:"signatures_checked"`
		}{Satisfied: len(selected) > 0, Selected: []int{}}
		for _, s := range selected {
			for i, t := range tokens {
				if t == s {
					out.Selected = append(out.Selected, i)
					break
				}
			}
		}
		if out.Satisfied {
			if out.Submission, err = pex.CreateSubmission(def, selected); err != nil {
				return &cliError{Code: "invalid_definition", Err: err}
			}
		}
		return writeJSON(e.stdout, out)
	}
	raw, err := e.read(inPresentation, pos[0])
	if err != nil {
		return err
	}
	text := bytes.TrimSpace(raw)
	if len(text) > 0 && text[0] == '{' {
		// A presentation's JSON: evaluated as it is; nothing in it is signed.
		ev := evaluate(def, text)
		return writeJSON(e.stdout, struct {
			*evaluation
			Verified bool `json:"signatures_checked"`
		}{ev, false})
	}
	// A VP-JWT: the presentation evaluated is the one whose signature verified.
	check, err := verifyPresentation(ctx, string(text), *gateway, "", *audience)
	if err != nil {
		return err
	}
	out := struct {
		*evaluation
		Verified bool   `json:"signatures_checked"`
		Error    string `json:"error,omitempty"`
	}{&evaluation{Problems: []string{}}, true, check.Error}
	if check.Verified {
		pj, err := json.Marshal(check.Presentation)
		if err != nil {
			return err
		}
		out.evaluation = evaluate(def, pj)
	} else {
		out.Problems = []string{"the presentation does not verify: " + check.Error}
	}
	return writeJSON(e.stdout, out)
}

// intList reads "3,5,9".
func intList(s string) ([]int, error) {
	var out []int
	if s == "" {
		return out, nil
	}
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not an index (0 or more)", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func runStatusListCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlags("status-list create")
	portable := addSecret(fs, "portable-did", inPortableDID, true, "the issuer's portable DID")
	url := fs.String("url", "", "the `URL` the status list credential is published at (its id)")
	purpose := fs.String("purpose", vc.PurposeRevocation, "the list's purpose, `revocation|suspension`")
	size := fs.Int("size", vc.MinStatusListSize, "the number of entries (`N`; at least the default)")
	set := fs.String("set", "", "entries to set (`I,J,...`): revoked or suspended")
	clear := fs.String("clear", "", "entries to clear (`I,J,...`), in a list read with --from")
	from := fs.String("from", "", "start from this status list credential (`LIST`), issued by the same DID at the same URL")
	v2 := fs.Bool("v2", false, "a BitstringStatusListCredential (VC 2.0) instead of a StatusList2021Credential (VC 1.1)")
	if err := noArgs(fs, args, "url"); err != nil {
		return err
	}
	if *purpose != vc.PurposeRevocation && *purpose != vc.PurposeSuspension {
		return usageError("status-list create: --purpose must be revocation or suspension")
	}
	if *size < vc.MinStatusListSize || *size > 8*vc.MaxStatusListBytes {
		return usageError("status-list create: --size must be %d to %d", vc.MinStatusListSize, 8*vc.MaxStatusListBytes)
	}
	setIdx, err := intList(*set)
	if err != nil {
		return usageError("status-list create: --set: %v", err)
	}
	clearIdx, err := intList(*clear)
	if err != nil {
		return usageError("status-list create: --clear: %v", err)
	}
	rawIssuer, err := readPortable(e, portable)
	if err != nil {
		return err
	}
	var fromToken string
	if *from != "" {
		raw, err := e.read(inStatusList, *from)
		if err != nil {
			return err
		}
		fromToken = strings.TrimSpace(string(raw))
	}
	issuer, err := importBearer(ctx, rawIssuer)
	if err != nil {
		return err
	}
	version := vc.V1
	if *v2 {
		version = vc.V2
	}
	l := vc.NewStatusList(*size)
	if fromToken != "" {
		if l, err = listOf(fromToken, issuer.String(), *url, *purpose); err != nil {
			return err
		}
	}
	for _, i := range setIdx {
		if err := l.Set(i, true); err != nil {
			return usageError("status-list create: --set: %v", err)
		}
	}
	for _, i := range clearIdx {
		if err := l.Set(i, false); err != nil {
			return usageError("status-list create: --clear: %v", err)
		}
	}
	cred, err := vc.NewStatusListCredential(version, issuer.String(), *url, *purpose, l, time.Now())
	if err != nil {
		return &cliError{Code: "invalid_credential", Err: err}
	}
	token, err := cred.Sign(ctx, issuer)
	if err != nil {
		return err
	}
	var on []int
	for i := range l.Len() {
		if v, _ := l.Get(i); v {
			on = append(on, i)
		}
	}
	if on == nil {
		on = []int{}
	}
	return writeJSON(e.stdout, map[string]any{"statusListCredential": token, "url": *url, "purpose": *purpose, "size": l.Len(), "set": on})
}

// listOf reads the entries of an earlier status list credential of issuer at url. It is the
// caller's own list, so its signature is not checked; its issuer, id and purpose must match.
func listOf(token, issuer, url, purpose string) (*vc.StatusList, error) {
	c, err := vc.Decode(token)
	if err != nil {
		return nil, &cliError{Code: "invalid_status_list", Err: err}
	}
	bad := func(format string, args ...any) error {
		return &cliError{Code: "invalid_status_list", Err: fmt.Errorf("--from: "+format, args...)}
	}
	switch {
	case c.Issuer.ID != issuer:
		return nil, bad("issued by %s, not %s", c.Issuer.ID, issuer)
	case c.ID != url:
		return nil, bad("published at %q, not %q", c.ID, url)
	case len(c.CredentialSubject) != 1:
		return nil, bad("not a status list credential")
	case c.CredentialSubject[0]["statusPurpose"] != purpose:
		return nil, bad("a %v list, not a %s one", c.CredentialSubject[0]["statusPurpose"], purpose)
	}
	enc, _ := c.CredentialSubject[0]["encodedList"].(string)
	l, err := vc.DecodeStatusList(enc)
	if err != nil {
		return nil, &cliError{Code: "invalid_status_list", Err: err}
	}
	return l, nil
}

func runStatusListCheck(ctx context.Context, e *env, args []string) error {
	fs := newFlags("status-list check")
	lists := listFlag(fs, "list", "a status list credential (`LIST`: JWT, @FILE or -); repeat for each; without one, lists are fetched from their URLs over HTTPS")
	gateway := gatewayFlag(fs)
	private := fs.Bool("allow-private-networks", false, "fetch status lists from loopback, private and link-local addresses too (refused by default)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("status-list check: want one credential (JWT, @FILE or -), got %d arguments", len(pos))
	}
	raw, err := e.read(inCredential, pos[0])
	if err != nil {
		return err
	}
	token := strings.TrimSpace(string(raw))
	given, err := readTokens(e, inStatusList, *lists)
	if err != nil {
		return err
	}
	var fetch vc.StatusListFetcher
	if len(given) == 0 {
		var gopts []netguard.Option
		if *private {
			gopts = append(gopts, netguard.WithAllowPrivateNetworks())
		}
		if fetch, err = vc.HTTPStatusLists(gopts...); err != nil {
			return err
		}
	} else {
		byURL := map[string]string{}
		for _, t := range given {
			c, err := vc.Decode(t)
			if err != nil {
				return &cliError{Code: "invalid_status_list", Err: fmt.Errorf("--list: %w", err)}
			}
			byURL[c.ID] = t
		}
		fetch = vc.StatusListFetcherFunc(func(_ context.Context, url string) (string, error) {
			if t, ok := byURL[url]; ok {
				return t, nil
			}
			return "", fmt.Errorf("no --list given for %s", url)
		})
	}
	r, err := resolver(*gateway)
	if err != nil {
		return err
	}
	v, err := vc.NewVerifier(r, vc.WithStatusCheck(fetch))
	if err != nil {
		return err
	}
	cred, verr := v.Verify(ctx, token)
	if uerr := unjudged(verr); uerr != nil {
		return uerr
	}
	if cred == nil {
		cred, _ = vc.Decode(token)
	}
	out := struct {
		Status   string      `json:"status"` // active, revoked, suspended, unknown (see error)
		Verified bool        `json:"verified"`
		Entries  []vc.Status `json:"entries"`
		Error    string      `json:"error,omitempty"`
	}{Status: "active", Verified: verr == nil, Entries: []vc.Status{}}
	if cred != nil && cred.CredentialStatus != nil {
		out.Entries = cred.CredentialStatus
	}
	switch {
	case verr == nil:
	case errors.Is(verr, vc.ErrRevoked):
		out.Status = "revoked"
	case errors.Is(verr, vc.ErrSuspended):
		out.Status = "suspended"
	default:
		out.Status = "unknown"
	}
	if verr != nil {
		out.Error = verr.Error()
	}
	return writeJSON(e.stdout, out)
}
