package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	sdk "github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/jose"
)

// openAudit opens the audit log of a data directory, which must exist.
func openAudit(ctx context.Context, dir string) (*security.AuditLog, error) {
	dir, err := localDataDir(dir, sdk.AuditFile, false)
	if err != nil {
		return nil, err
	}
	l, err := security.OpenAuditLog(ctx, filepath.Join(dir, sdk.AuditFile))
	if err != nil {
		return nil, &cliError{Code: "io", Err: err}
	}
	return l, nil
}

// didHeadVerifier verifies signed heads signed by a key of signer's DID document, listed
// under assertionMethod: a kid naming another DID is refused before anything is resolved, and
// the algorithm must be the one of the key's type.
func didHeadVerifier(r *did.Resolver, signer string) security.Verifier {
	return security.VerifierFunc(func(ctx context.Context, alg, kid string, signingInput, signature []byte) error {
		if !strings.HasPrefix(kid, signer+"#") {
			return fmt.Errorf("key %q is not a key of the signer %s", clip(kid), signer)
		}
		vm, _, err := r.VerificationMethod(ctx, kid, did.AssertionMethod)
		if err != nil {
			return err
		}
		pub, err := vm.PublicKey()
		if err != nil {
			return err
		}
		return jose.VerifySignature(pub, alg, signingInput, signature)
	})
}

// signedHeadError gives a refused signed head its CLI code.
func signedHeadError(err error) error {
	var re *did.ResolutionError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &re) && (re.Code == did.CodeMethodNotSupported || re.Code == did.CodeInternalError):
		return resolutionError(err)
	case errors.Is(err, security.ErrInvalidSignedHead):
		return &cliError{Code: "invalid_signed_head", Err: err}
	case errors.Is(err, security.ErrSignature):
		return &cliError{Code: "invalid_signature", Err: err}
	}
	return err
}

type problemJSON struct {
	Seq    uint64 `json:"seq"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

func runAuditVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags("audit verify")
	dir := dataDirFlag(fs)
	head := fs.String("head", "", "a checkpoint kept outside the log: `SEQ:HASH` (the head's string form)")
	signedHead := fs.String("signed-head", "", "a signed checkpoint (`HEAD`: compact JWS, @FILE or -)")
	signer := fs.String("signer", "", "the `DID` whose key must have signed --signed-head")
	gateway := gatewayFlag(fs)
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if (*signedHead == "") != (*signer == "") {
		return usageError("audit verify: --signed-head and --signer go together")
	}
	var checkpoints []security.Checkpoint
	if *head != "" {
		h, err := security.ParseHead(*head)
		if err != nil {
			return &cliError{Code: "invalid_head", Err: err}
		}
		checkpoints = append(checkpoints, h)
	}
	var sh *security.SignedHead
	if *signedHead != "" {
		raw, err := e.read(inSignedHead, *signedHead)
		if err != nil {
			return err
		}
		if _, err := did.Parse(*signer); err != nil {
			return usageError("audit verify: --signer: %v", err)
		}
		r, err := resolver(*gateway)
		if err != nil {
			return err
		}
		if sh, err = security.ParseSignedHead(ctx, strings.TrimSpace(string(raw)), didHeadVerifier(r, *signer)); err != nil {
			return signedHeadError(err)
		}
		checkpoints = append(checkpoints, sh)
	}
	l, err := openAudit(ctx, *dir)
	if err != nil {
		return err
	}
	defer l.Close()
	rep, err := l.Verify(ctx, checkpoints...)
	if err != nil && (rep == nil || !errors.Is(err, security.ErrTampered)) {
		return err
	}
	out := struct {
		Intact     bool          `json:"intact"`
		Entries    int           `json:"entries"`
		Head       string        `json:"head"`
		Checkpoint string        `json:"checkpoint,omitempty"` // the newest checkpoint the log is proven intact up to
		SignedHead *signedJSON   `json:"signed_head,omitempty"`
		Problems   []problemJSON `json:"problems"`
		Omitted    int           `json:"omitted"`
	}{Intact: len(rep.Problems) == 0 && rep.Omitted == 0, Entries: rep.Entries, Head: rep.Head.String(), Problems: []problemJSON{},
		Omitted: rep.Omitted}
	if rep.Checkpoint != (security.Head{}) {
		out.Checkpoint = rep.Checkpoint.String()
	}
	if sh != nil {
		out.SignedHead = &signedJSON{Head: sh.Head().String(), KeyID: sh.KeyID(), Algorithm: sh.Algorithm(), IssuedAt: sh.IssuedAt().UTC()}
	}
	for _, p := range rep.Problems {
		out.Problems = append(out.Problems, problemJSON{Seq: p.Seq, Kind: string(p.Kind), Detail: p.Detail})
	}
	return writeJSON(e.stdout, out)
}

type signedJSON struct {
	Head      string    `json:"head"`
	KeyID     string    `json:"kid"`
	Algorithm string    `json:"alg"`
	IssuedAt  time.Time `json:"issued_at"`
}

type entryJSON struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Kind      string    `json:"kind"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Action    string    `json:"action"`
	Principal string    `json:"principal,omitempty"`
	Decision  string    `json:"decision"`
	Rule      string    `json:"rule,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	DataHash  string    `json:"data_hash,omitempty"`
	Hash      string    `json:"hash"`
}

func runAuditTail(ctx context.Context, e *env, args []string) error {
	fs := newFlags("audit tail")
	dir := dataDirFlag(fs)
	n := fs.Int("n", 10, "how many of the newest entries (`N`) to print")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if *n < 1 || *n > 10_000 {
		return usageError("audit tail: -n must be 1 to 10000")
	}
	l, err := openAudit(ctx, *dir)
	if err != nil {
		return err
	}
	defer l.Close()
	head, err := l.Head(ctx)
	if err != nil {
		return err
	}
	from := uint64(1)
	if head.Seq > uint64(*n) {
		from = head.Seq - uint64(*n) + 1
	}
	entries, err := l.Entries(ctx, from, *n)
	if err != nil {
		return err
	}
	out := []entryJSON{}
	for _, en := range entries {
		out = append(out, entryJSON{Seq: en.Seq, Time: en.Time.UTC(), Kind: en.Kind, From: en.From, To: en.To, Action: en.Action,
			Principal: en.Principal, Decision: en.Decision, Rule: en.Rule, Reason: en.Reason, DataHash: en.DataHash,
			Hash: hex.EncodeToString(en.Hash[:])})
	}
	return writeJSON(e.stdout, map[string]any{"head": head.String(), "entries": out})
}
