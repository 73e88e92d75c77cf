package main

// The commands that run on a Manager: address links, verified payments, stored payments and
// workflow runs. See manager.go for how the Manager is opened.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	sdk "github.com/anya-org/anya-go"
	"github.com/anya-org/anya-go/bitcoin"
	"github.com/anya-org/anya-go/bus"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/web5/did"
	"github.com/anya-org/anya-go/web5/dwn"
	"github.com/anya-org/anya-go/workflow"
)

// linkJSON is an address linked to a DID.
type linkJSON struct {
	DID        string    `json:"did"`
	Address    string    `json:"address"`
	Account    string    `json:"account"`
	CAIP10     string    `json:"caip10"`
	Credential string    `json:"credential"`
	RecordID   string    `json:"record_id"`
	ValidUntil time.Time `json:"valid_until"`
}

// runLinkChallenge links an address to a DID on a data directory: the Manager issues a
// challenge naming both, the address's key signs it (BIP-322), and the host stores the
// address-link credential in the DID's records store. With --wif the command signs itself;
// without, it shows the challenge on standard error and reads the signature, one line, from
// standard input (a Manager's challenges are answered to the Manager that issued them, so the
// command waits for the answer).
func runLinkChallenge(ctx context.Context, e *env, args []string) error {
	fs := newFlags("link challenge")
	mf := addManagerFlags(fs)
	idf := addIdentityFlags(fs, "the DID")
	addr := fs.String("address", "", "the address (`ADDR`) to link (default: the P2WPKH address of --wif's key)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	id, err := idf.read(e, false)
	if err != nil {
		return err
	}
	if *addr == "" && id.key == nil {
		return usageError("link challenge: give --address, or the key with %s", idf.wif.flags())
	}
	if id.key == nil && e.stdinUsed != "" {
		return usageError("link challenge: the signature is read from standard input, which %s takes", e.stdinUsed)
	}
	s, err := mf.open(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	m := s.m
	ident, err := id.register(ctx, m)
	if err != nil {
		return err
	}
	a := ident.Address
	if *addr != "" {
		if a, err = bitcoin.ParseAddress(*addr, m.Network()); err != nil {
			return bitcoinError(err)
		}
	}
	challenge, err := m.Challenge(ident.String(), a.String())
	if err != nil {
		return managerError(err)
	}
	var sig string
	if id.key != nil {
		if sig, err = bitcoin.SignMessage(id.key.PrivKey, a, challenge); err != nil {
			return bitcoinError(err)
		}
	} else if sig, err = askSignature(ctx, e, a.String(), challenge); err != nil {
		return err
	}
	l, err := m.Link(ctx, sdk.BitcoinToWeb5{DID: ident.String(), Address: a.String(), Challenge: challenge, Signature: sig})
	if err != nil {
		return managerError(err)
	}
	return writeJSON(e.stdout, linkJSON{DID: l.DID, Address: l.Address, Account: l.Account, CAIP10: l.CAIP10, Credential: l.Credential,
		RecordID: l.RecordID, ValidUntil: l.ValidUntil})
}

// askSignature shows challenge on standard error — to a person as text, to a program as one
// JSON line — and reads the BIP-322 signature from the first line of standard input.
func askSignature(ctx context.Context, e *env, address, challenge string) (string, error) {
	if terminal(e.stderr) != nil {
		fmt.Fprintf(e.stderr, "Sign this message with the key of %s (BIP-322; anya link prove does it),\nthen paste the signature and press Enter:\n\n%s\n\nsignature> ", address, challenge)
	} else {
		_ = writeJSON(e.stderr, map[string]string{"challenge": challenge, "address": address})
	}
	e.stdinUsed = "the signature"
	type line struct {
		s   string
		err error
	}
	got := make(chan line, 1)
	stdin := e.stdin
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	// The reader is left behind if ctx ends first; the process is ending then.
	go func() {
		s, err := bufio.NewReader(io.LimitReader(stdin, maxSignature+2)).ReadString('\n')
		got <- line{s, err}
	}()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case l := <-got:
		sig := strings.TrimSpace(l.s)
		if sig == "" {
			if l.err != nil && !errors.Is(l.err, io.EOF) {
				return "", &cliError{Code: "io", Err: fmt.Errorf("read the signature: %w", l.err)}
			}
			return "", &cliError{Code: "invalid_proof", Err: errors.New("link challenge: no signature on standard input")}
		}
		if len(sig) > maxSignature {
			return "", tooLarge(inSignature.spec(), " from standard input")
		}
		return sig, nil
	}
}

// challengeHeader is the first line of a Manager's address-link challenges (the two-way
// challenges of package bridge/link, which the DID signs too).
const challengeHeader = "anya two-way address link"

// runLinkProve answers a challenge: the wallet's side, which needs no data directory.
func runLinkProve(_ context.Context, e *env, args []string) error {
	fs := newFlags("link prove")
	ch := fs.String("challenge", "", "the `CHALLENGE` (the value, @FILE or -)")
	addr := fs.String("address", "", "the address (`ADDR`) the challenge names")
	d := fs.String("did", "", "the `DID` the challenge must name (default: any)")
	wif := addSecret(fs, "wif", inWIF, false, "the address's private key in WIF")
	netName := fs.String("network", "", networkUsage+" (default: the address's)")
	if err := noArgs(fs, args, "challenge", "address"); err != nil {
		return err
	}
	raw, err := e.read(inChallenge, *ch)
	if err != nil {
		return err
	}
	key, err := readWIF(e, wif, 0)
	if err != nil {
		return err
	}
	a, err := address(*addr, *netName)
	if err != nil {
		return err
	}
	// Files may end the text with a line ending, or carry Windows ones; a challenge has
	// neither.
	challenge := strings.TrimRight(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
	// A wallet checks what it signs: an address-link challenge for this address (and DID).
	lines := strings.Split(challenge, "\n")
	named := map[string]string{}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ": "); ok {
			named[k] = v
		}
	}
	switch {
	case lines[0] != challengeHeader:
		return &cliError{Code: "invalid_challenge", Err: fmt.Errorf("link prove: not an address-link challenge (it does not start %q)", challengeHeader)}
	case named["Address"] != a.String():
		return &cliError{Code: "invalid_challenge", Err: fmt.Errorf("link prove: the challenge names the address %q, not %s", clip(named["Address"]), a)}
	case *d != "" && named["DID"] != *d:
		return &cliError{Code: "invalid_challenge", Err: fmt.Errorf("link prove: the challenge names the DID %q, not %s", clip(named["DID"]), *d)}
	}
	if !key.IsForNet(a.Network().Params()) {
		return &cliError{Code: "wrong_network", Err: errors.New("bitcoin: the WIF key is for another network than the address")}
	}
	sig, err := bitcoin.SignMessage(key.PrivKey, a, challenge)
	if err != nil {
		return bitcoinError(err)
	}
	return writeJSON(e.stdout, map[string]string{"signature": sig, "address": a.String(), "did": named["DID"]})
}

func runLinkVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags("link verify")
	mf := addManagerFlags(fs)
	d := fs.String("did", "", "the `DID`")
	addr := fs.String("address", "", "the address (`ADDR`)")
	cred := fs.String("credential", "", "the address-link credential (`JWT`, @FILE or -; default: the ones in the DID's records store)")
	if err := noArgs(fs, args, "did", "address"); err != nil {
		return err
	}
	if _, err := e.read(inDID, *d); err != nil {
		return err
	}
	token := ""
	if *cred != "" {
		raw, err := e.read(inCredential, *cred)
		if err != nil {
			return err
		}
		token = strings.TrimSpace(string(raw))
	}
	s, err := mf.open(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := s.m.VerifyLink(ctx, sdk.VerifyLink{DID: *d, Address: *addr, Credential: token})
	if err != nil {
		return managerError(err)
	}
	out := map[string]any{"did": v.DID, "address": v.Address, "verified": v.Verified, "score": v.Score}
	if v.Refusal != nil {
		out["reason"], out["refusal"] = v.Refusal.Reason, v.Refusal
	}
	if v.Credential != nil {
		out["credential"] = map[string]any{"id": v.Credential.ID, "issuer": v.Credential.Issuer, "issued_at": v.Credential.IssuedAt,
			"expires_at": v.Credential.ExpiresAt}
	}
	return writeJSON(e.stdout, out)
}

// paymentJSON is a verified payment as the CLI prints it.
type paymentJSON struct {
	PaymentID string `json:"payment_id"`
	Outcome   string `json:"outcome"` // sent, blocked, unverified, failed, pending
	// Reason is why the payment was not sent, a stable code (sdk.Reason: no_link,
	// risk_above_threshold, insufficient_funds, ...); Refusal has its message and details.
	Reason            string            `json:"reason,omitempty"`
	Refusal           *sdk.Refusal      `json:"refusal,omitempty"`
	Status            string            `json:"status"` // the workflow run's
	SenderVerified    bool              `json:"sender_verified"`
	VerificationScore float64           `json:"verification_score"`
	Risk              float64           `json:"risk"`
	Threshold         float64           `json:"threshold"`
	Txid              string            `json:"txid,omitempty"`
	RecordID          string            `json:"record_id,omitempty"`
	Error             string            `json:"error,omitempty"`
	Confirmation      *confirmationJSON `json:"confirmation,omitempty"` // where its transaction is on the chain
	Events            []eventJSON       `json:"events,omitempty"`       // its events, in order: sent, confirmed, reorged, ...
	Steps             []stepJSON        `json:"steps"`
}

// eventJSON is one of a payment's events.
type eventJSON struct {
	Seq     int          `json:"seq"`
	Outcome string       `json:"outcome"`
	Status  string       `json:"status,omitempty"`
	Height  int32        `json:"height,omitempty"`
	Block   string       `json:"block,omitempty"`
	Refusal *sdk.Refusal `json:"refusal,omitempty"`
}

type stepJSON struct {
	ID      string         `json:"id"`
	Status  string         `json:"status"`
	Attempt int            `json:"attempt"`
	Output  map[string]any `json:"output,omitempty"`
	Error   string         `json:"error,omitempty"`
}

func stepsOf(r *workflow.Result) []stepJSON {
	out := []stepJSON{}
	if r == nil {
		return out
	}
	for _, s := range r.Steps {
		out = append(out, stepJSON{ID: s.ID, Status: string(s.Status), Attempt: s.Attempt, Output: s.Output, Error: s.Error})
	}
	return out
}

// paymentOf is the payment as the CLI prints it: the SDK's Payment, its typed reason included.
// threshold is the Manager's risk threshold; a blocked payment's refusal names the one it ran with.
func paymentOf(p *sdk.Payment, threshold float64) paymentJSON {
	if p.Refusal != nil && p.Refusal.Threshold > 0 {
		threshold = p.Refusal.Threshold
	}
	out := paymentJSON{PaymentID: p.PaymentID, Outcome: string(p.Outcome), Refusal: p.Refusal, Status: string(p.Status),
		SenderVerified: p.SenderVerified, VerificationScore: p.VerificationScore, Risk: p.Risk, Threshold: threshold,
		Txid: p.Txid, RecordID: p.RecordID, Error: p.Error, Steps: stepsOf(p.Run)}
	if p.Refusal != nil {
		out.Reason = string(p.Refusal.Reason)
	}
	if c := p.Confirmation; c != nil {
		out.Confirmation = &confirmationJSON{Status: c.Status, Height: c.Height, Block: c.BlockHash}
	}
	for _, ev := range p.Events {
		e := eventJSON{Seq: ev.Seq, Outcome: string(ev.Outcome), Status: ev.Status, Refusal: ev.Refusal}
		if !ev.Block.IsZero() {
			e.Height, e.Block = ev.Block.Height, ev.Block.Hash.String()
		}
		out.Events = append(out.Events, e)
	}
	return out
}

// paymentError is the error of a payment that was not sent: its code names the outcome, its
// message the reason, its detail is the payment.
func paymentError(p paymentJSON) error {
	msg := fmt.Sprintf("payment %s was not sent: %s", p.PaymentID, p.Refusal)
	switch {
	case p.Outcome == string(sdk.OutcomePending) && p.Reason == string(sdk.ReasonAwaitingKeys):
		msg = fmt.Sprintf("payment %s is unfinished: %s", p.PaymentID, p.Refusal)
	case p.Outcome == string(sdk.OutcomePending):
		msg = fmt.Sprintf("payment %s is unfinished; run the command again to continue it", p.PaymentID)
	case p.Outcome == string(sdk.OutcomeFailed) && p.Txid != "":
		msg += fmt.Sprintf(" (its transaction %s was sent: do not pay it again)", p.Txid)
	default:
		msg += "; after fixing the cause, pay under a new --id"
	}
	return &cliError{Code: "payment_" + p.Outcome, Err: errors.New(msg), Detail: p}
}

// runPay makes a verified payment. Only a sent payment exits 0; the others are errors whose
// code names the outcome (payment_blocked, payment_unverified, payment_failed,
// payment_pending) and whose detail is the payment.
func runPay(ctx context.Context, e *env, args []string) error {
	fs := newFlags("pay")
	mf := addManagerFlags(fs)
	idf := addIdentityFlags(fs, "the sender")
	to := fs.String("to", "", "the recipient's address (`ADDR`)")
	amt := fs.Int64("amount", 0, "the amount in satoshis (`SAT`)")
	id := fs.String("id", "", "the payment's ID (`PAYMENT_ID`): its idempotency key; paying an ID again returns its stored outcome")
	cred := fs.String("credential", "", "the sender's address-link credential (`JWT`, @FILE or -; default: the ones in its records store)")
	fund := fs.Int64("fund", DefaultFund, "embedded chain only: first pay the sender `SAT` from the chain's faucet (0: none)")
	mine := fs.Int("mine", 0, "embedded chain only: mine `N` blocks after sending and wait for the payment to confirm")
	if err := noArgs(fs, args, "to", "amount", "id"); err != nil {
		return err
	}
	if *amt <= 0 {
		return usageError("pay: --amount must be 1 satoshi or more")
	}
	if *mine < 0 || *fund < 0 {
		return usageError("pay: --mine and --fund must not be negative")
	}
	embedded := *mf.rpc == ""
	if !embedded && (flagSet(fs, "fund") || *mine > 0) {
		return usageError("pay: --fund and --mine are for the embedded chain; on a node, fund and mine with the node")
	}
	sender, err := idf.read(e, true)
	if err != nil {
		return err
	}
	token := ""
	if *cred != "" {
		raw, err := e.read(inCredential, *cred)
		if err != nil {
			return err
		}
		token = strings.TrimSpace(string(raw))
	}
	if embedded && *fund > 0 {
		if _, err := sender.p2wpkh(bitcoin.Regtest); err != nil {
			return err
		}
	}
	s, err := mf.open(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	m := s.m
	ident, err := sender.register(ctx, m)
	if err != nil {
		return err
	}
	if embedded && *fund > 0 {
		if err := fundSender(ctx, m, ident.Address.String(), *fund); err != nil {
			return err
		}
	}
	confirmed := make(chan sdk.PaymentEvent, 1)
	if *mine > 0 {
		sub, err := bus.Subscribe(m.Bus(), sdk.TopicPaymentConfirmed, func(_ context.Context, ev bus.Envelope[sdk.PaymentEvent]) error {
			if ev.Payload.PaymentID == *id {
				select {
				case confirmed <- ev.Payload:
				default:
				}
			}
			return nil
		}, bus.Named("anya-cli.pay"))
		if err != nil {
			return err
		}
		defer func() {
			_ = sub.Unsubscribe()
			<-sub.Done()
		}()
	}
	pay, err := m.Pay(ctx, sdk.TriProtocol{PaymentID: *id, SenderDID: ident.String(), SenderAddress: ident.Address.String(),
		RecipientAddress: *to, AmountSat: *amt, Credential: token})
	if pay == nil {
		return managerError(err)
	}
	p := paymentOf(pay, m.RiskThreshold())
	if p.Outcome != string(sdk.OutcomeSent) {
		return paymentError(p)
	}
	out := struct {
		paymentJSON
		Confirmed *confirmationJSON `json:"confirmed,omitempty"`
	}{paymentJSON: p}
	if *mine > 0 {
		if _, err := s.sim.Mine(*mine); err != nil {
			return err
		}
		wait := time.NewTimer(30 * time.Second)
		defer wait.Stop()
		select {
		case ev := <-confirmed:
			out.Confirmed = &confirmationJSON{Status: ev.Status, Height: ev.Block.Height, Block: ev.Block.Hash.String()}
		case <-wait.C:
			return &cliError{Code: "timeout", Err: fmt.Errorf("pay: payment %s sent but not confirmed within 30s of mining", *id), Detail: p}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return writeJSON(e.stdout, out)
}

type confirmationJSON struct {
	Status string `json:"status,omitempty"` // broadcast, included or confirmed
	Height int32  `json:"height"`
	Block  string `json:"block"`
}

func runPaymentShow(ctx context.Context, e *env, args []string) error {
	fs := newFlags("payment show")
	mf := addManagerFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("payment show: want one payment ID, got %d arguments", len(pos))
	}
	if _, err := dataDir(*mf.dir, sdk.WorkflowFile, false); err != nil {
		return err
	}
	s, err := mf.open(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	p, err := s.m.Payment(ctx, pos[0])
	if errors.Is(err, workflow.ErrNotFound) {
		return &cliError{Code: "not_found", Err: fmt.Errorf("payment %q: no such payment in %s", pos[0], *mf.dir)}
	}
	if err != nil {
		return managerError(err)
	}
	return writeJSON(e.stdout, paymentOf(p, s.m.RiskThreshold()))
}

// runPaymentList lists the payment records in a sender's records store (the payments that were
// sent: blocked and unverified ones have no record; payment show shows any payment).
func runPaymentList(ctx context.Context, e *env, args []string) error {
	fs := newFlags("payment list")
	dirFlag := dataDirFlag(fs)
	sender := fs.String("did", "", "the sender (`DID`) whose payments to list")
	if err := noArgs(fs, args, "did"); err != nil {
		return err
	}
	if _, err := e.read(inDID, *sender); err != nil {
		return err
	}
	if _, err := did.Parse(*sender); err != nil {
		return &cliError{Code: "invalid_did", Err: err}
	}
	dir, err := localDataDir(*dirFlag, sdk.DWNFile, false)
	if err != nil {
		return err
	}
	// Payment records are written by the host; a record the sender wrote into its own store
	// at the same protocol path is not one.
	host, err := hostURI(dir)
	if err != nil {
		return err
	}
	// The data directory's own records, read from its store as the operator who holds it.
	store, err := dwn.OpenSQLiteStore(ctx, filepath.Join(dir, sdk.DWNFile))
	if err != nil {
		return &cliError{Code: "io", Err: err}
	}
	defer store.Close()
	type listed struct {
		RecordID    string `json:"record_id"`
		DateCreated string `json:"date_created"`
		DateUpdated string `json:"date_updated"`
		sdk.PaymentRecord
	}
	out := []listed{}
	q := dwn.StoreQuery{Filter: dwn.Filter{Protocol: sdk.ProtocolURI, ProtocolPath: sdk.PathPayment, Author: host}, Sort: dwn.CreatedAscending,
		Limit: dwn.DefaultQueryLimit}
	for {
		recs, err := store.Query(ctx, *sender, q)
		if err != nil {
			return err
		}
		for _, r := range recs {
			var pr sdk.PaymentRecord
			if err := json.Unmarshal(r.Data, &pr); err != nil {
				return &cliError{Code: "invalid_record", Err: fmt.Errorf("payment record %s: %w", r.ID, err)}
			}
			out = append(out, listed{RecordID: r.ID, DateCreated: r.DateCreated, DateUpdated: r.DateUpdated, PaymentRecord: pr})
		}
		if len(recs) < q.Limit {
			break
		}
		last := recs[len(recs)-1]
		q.After = &dwn.Cursor{RecordID: last.ID, Value: last.DateCreated}
	}
	return writeJSON(e.stdout, map[string]any{"did": *sender, "payments": out})
}

// hostURI returns the DID of the host of a data directory (HostDIDFile).
func hostURI(dir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, HostDIDFile))
	if err != nil {
		code := "io"
		if errors.Is(err, os.ErrNotExist) {
			code = "not_found"
		}
		return "", &cliError{Code: code, Err: fmt.Errorf("data directory %s has no host: %w", dir, err)}
	}
	p, err := did.ParsePortableDID(raw)
	if err != nil {
		return "", didError(err)
	}
	return p.URI, nil
}

// runWorkflowRun runs a workflow definition on a Manager: its steps call the Manager's
// operations (web5.verify_identity, ml.assess_risk, bitcoin.send_payment,
// web5.record_payment). With an identity, the run acts for it: its key pays and the security
// context names it, holding its verified address link.
func runWorkflowRun(ctx context.Context, e *env, args []string) error {
	fs := newFlags("workflow run")
	mf := addManagerFlags(fs)
	idf := addIdentityFlags(fs, "the identity the run acts for")
	runID := fs.String("id", "", "the run's ID (`RUN_ID`): running an ID again returns its stored outcome or continues it")
	input := fs.String("input", "{}", "the run's input: a JSON object (`INPUT`, @FILE or -)")
	fund := fs.Int64("fund", DefaultFund, "embedded chain only, with an identity: first pay it `SAT` from the chain's faucet (0: none)")
	pos, err := parse(fs, args, "id")
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("workflow run: want one workflow definition (FILE, @FILE or -), got %d arguments", len(pos))
	}
	if *fund < 0 {
		return usageError("workflow run: --fund must not be negative")
	}
	raw, err := e.readFile(inWorkflow, pos[0])
	if err != nil {
		return err
	}
	in, err := e.read(inWorkflowInput, *input)
	if err != nil {
		return err
	}
	var inputs map[string]any
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	if err := dec.Decode(&inputs); err != nil || inputs == nil {
		return &cliError{Code: "invalid_input", Err: errors.New("workflow run: --input must be a JSON object")}
	}
	def, err := workflow.Parse(raw)
	if err != nil {
		return &cliError{Code: "invalid_workflow", Err: err}
	}
	var ident *identity
	if idf.portable.given() {
		id, err := idf.read(e, true)
		if err != nil {
			return err
		}
		ident = &id
	} else if idf.wif.given() {
		return usageError("workflow run: --wif goes with --portable-did")
	}
	fundIt := ident != nil && *mf.rpc == "" && *fund > 0
	if fundIt {
		if _, err := ident.p2wpkh(bitcoin.Regtest); err != nil {
			return err
		}
	}
	s, err := mf.open(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	m := s.m
	if err := m.Workflows().Register(def); err != nil {
		return &cliError{Code: "invalid_workflow", Err: err}
	}
	if ident != nil {
		id, err := ident.register(ctx, m)
		if err != nil {
			return err
		}
		if fundIt {
			if err := fundSender(ctx, m, id.Address.String(), *fund); err != nil {
				return err
			}
		}
		sc, err := m.SecurityContext(ctx, id.String(), id.Address.String(), "")
		if err != nil {
			return managerError(err)
		}
		ctx = security.NewContext(ctx, sc)
	}
	res, err := m.Workflows().Run(ctx, def.Name, *runID, inputs)
	var runErr *workflow.RunError
	var inErr *workflow.InputError
	switch {
	case errors.As(err, &inErr):
		return &cliError{Code: "invalid_input", Err: err}
	case err != nil && !errors.As(err, &runErr):
		return managerError(err)
	}
	out := map[string]any{"run_id": res.RunID, "workflow": res.Workflow, "status": res.Status, "output": res.Output,
		"error": res.Error, "steps": stepsOf(res)}
	if runErr != nil || res.Status == workflow.StatusFailed {
		return &cliError{Code: "workflow_failed", Err: fmt.Errorf("workflow run %s failed: %s", res.RunID, res.Error), Detail: out}
	}
	return writeJSON(e.stdout, out)
}
