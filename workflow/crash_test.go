package workflow_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anya-org/anya-go/internal/sqlitex"
	"github.com/anya-org/anya-go/security"
	"github.com/anya-org/anya-go/workflow"
)

// The crash test runs verified payments in a child process (this test binary, re-executed with
// crashChildEnv set) against a real SQLite file, kills it with SIGKILL at random moments and at
// the two critical points of the send operation (intent recorded but not broadcast; broadcast but
// not reported), restarts it, and lets it resume. The "network" the child broadcasts to is a
// table in a second SQLite file where a transaction's id is the hash of its bytes, so a rebuilt
// transaction shows up as a second broadcast for the same payment. Every step input that crosses
// protocols passes the default trust boundaries and is audited in the same database, under the
// security context each run was started with (restored from the store after each restart).

const (
	crashChildEnv  = "ANYA_WORKFLOW_CRASH_CHILD"
	crashDirEnv    = "ANYA_WORKFLOW_CRASH_DIR"
	crashCountEnv  = "ANYA_WORKFLOW_CRASH_PAYMENTS"
	crashPauseEnv  = "ANYA_WORKFLOW_CRASH_PAUSE" // pause at markers so the parent can kill there
	crashPayments  = 200
	crashKills     = 40
	markerKills    = 12 // of crashKills, alternating between the two markers
	minTimerKills  = 3
	crashMaxLives  = 400
	markIntent     = "MARK intent"
	markBroadcast  = "MARK broadcast"
	markReuseFound = "REUSE found"
	markReuseSent  = "REUSE rebroadcast"
)

func crashDefinition() *workflow.Definition {
	def := workflow.VerifiedPayment()
	for i := range def.Steps {
		// Every kill during a step counts as an attempt; allow plenty.
		def.Steps[i].Retry = &workflow.Retry{MaxAttempts: 100, Backoff: workflow.Duration(time.Millisecond)}
	}
	return def
}

func openNetwork(ctx context.Context, dir string) (*sql.DB, error) {
	db, err := sqlitex.Open(ctx, filepath.Join(dir, "network.db"))
	if err != nil {
		return nil, err
	}
	err = sqlitex.Migrate(ctx, db, "crashnet", []string{`
		CREATE TABLE broadcasts (txid TEXT PRIMARY KEY, payment_id TEXT NOT NULL, raw BLOB NOT NULL, submissions INTEGER NOT NULL);
		CREATE TABLE records (key TEXT PRIMARY KEY, payment_id TEXT NOT NULL, txid TEXT NOT NULL);`})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func crashChild() int {
	ctx := context.Background()
	dir := os.Getenv(crashDirEnv)
	n, _ := strconv.Atoi(os.Getenv(crashCountEnv))
	pause, _ := time.ParseDuration(os.Getenv(crashPauseEnv))
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 2 }

	store, err := workflow.OpenSQLiteStore(ctx, filepath.Join(dir, "workflow.db"))
	if err != nil {
		return fail(err)
	}
	network, err := openNetwork(ctx, dir)
	if err != nil {
		return fail(err)
	}
	broadcast := func(ctx context.Context, txid, payment string, raw []byte) error {
		_, err := network.ExecContext(ctx, `INSERT INTO broadcasts (txid, payment_id, raw, submissions) VALUES (?, ?, ?, 1)
			ON CONFLICT (txid) DO UPDATE SET submissions = submissions + 1`, txid, payment, raw)
		return err
	}
	mark := func(what, id string) {
		fmt.Println(what, id)
		if pause > 0 {
			time.Sleep(pause)
		}
	}
	ops := workflow.VerifiedPaymentOperations()
	for i := range ops {
		switch ops[i].Name {
		case workflow.OpVerifyIdentity:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				return map[string]any{"sender_verified": true, "verification_score": 0.9}, nil
			}
		case workflow.OpAssessRisk:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				return map[string]any{"risk_score": 0.1}, nil
			}
		case workflow.OpSendPayment:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				id := c.Input["payment_id"].(string)
				var intent struct {
					Txid string
					Raw  []byte
				}
				found, err := c.LoadIntent(ctx, &intent)
				if err != nil {
					return nil, err
				}
				if found { // look the transaction up; rebroadcast the same bytes if the network lacks it
					var one int
					err := network.QueryRowContext(ctx, `SELECT 1 FROM broadcasts WHERE txid = ?`, intent.Txid).Scan(&one)
					switch {
					case err == nil:
						fmt.Println(markReuseFound, id)
					case errors.Is(err, sql.ErrNoRows):
						fmt.Println(markReuseSent, id)
						if err := broadcast(ctx, intent.Txid, id, intent.Raw); err != nil {
							return nil, err
						}
					default:
						return nil, err
					}
					return map[string]any{"txid": intent.Txid}, nil
				}
				// Build and "sign": fresh randomness each time, as a real signer's nonce, so a
				// rebuilt transaction has a different txid.
				raw := make([]byte, 48)
				_, _ = rand.Read(raw)
				raw = append(raw, id...)
				sum := sha256.Sum256(raw)
				intent.Txid, intent.Raw = hex.EncodeToString(sum[:]), raw
				if err := c.SaveIntent(ctx, intent); err != nil {
					return nil, err
				}
				mark(markIntent, id)
				if err := broadcast(ctx, intent.Txid, id, raw); err != nil {
					return nil, err
				}
				mark(markBroadcast, id)
				return map[string]any{"txid": intent.Txid}, nil
			}
		case workflow.OpRecordPayment:
			ops[i].Func = func(ctx context.Context, c *workflow.Call) (map[string]any, error) {
				_, err := network.ExecContext(ctx, `INSERT INTO records (key, payment_id, txid) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`,
					c.IdempotencyKey, c.Input["payment_id"], c.Input["txid"])
				if err != nil {
					return nil, err
				}
				return map[string]any{"record_id": c.IdempotencyKey}, nil
			}
		}
	}
	reg, err := workflow.NewRegistry(ops...)
	if err != nil {
		return fail(err)
	}
	// Every crossing is audited in the same database file, with the same kills.
	audit, err := security.OpenAuditLog(ctx, filepath.Join(dir, "workflow.db"))
	if err != nil {
		return fail(err)
	}
	g, err := security.New(security.DefaultBoundaries(), security.WithAudit(audit),
		security.WithRedactionKey([]byte("crash-test-redaction-key-000000")))
	if err != nil {
		return fail(err)
	}
	e, err := workflow.New(store, reg, workflow.WithGuard(g))
	if err != nil {
		return fail(err)
	}
	if err := e.Register(crashDefinition()); err != nil {
		return fail(err)
	}
	fmt.Println("START")
	if _, err := e.Resume(ctx); err != nil {
		return fail(err)
	}
	for i := range n {
		id := fmt.Sprintf("pay-%03d", i)
		in := paymentInput(id)
		in["sender_did"] = crashSender(id)
		sctx := security.NewContext(ctx, senderContext(crashSender(id)))
		if _, err := e.Run(sctx, workflow.VerifiedPaymentName, id, in); err != nil {
			return fail(fmt.Errorf("%s: %w", id, err))
		}
	}
	fmt.Println("DONE")
	return 0
}

func crashSender(id string) string { return "did:key:z6MkSender-" + id }

func randN(t *testing.T, n int64) int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		t.Fatal(err)
	}
	return v.Int64()
}

func TestCrashKill9ExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary hundreds of times")
	}
	dir := t.TempDir()
	var lives, timerKills, markKills int
	counts := map[string]int{}
	for done := false; !done; lives++ {
		if lives >= crashMaxLives {
			t.Fatalf("no completion after %d lives", lives)
		}
		kills := timerKills + markKills
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDirEnv+"="+dir, crashCountEnv+"="+strconv.Itoa(crashPayments))
		var target string // kill at the (skip+1)-th line starting with target
		var skip int
		switch {
		case kills >= crashKills:
		case markKills < markerKills:
			target = markIntent
			if markKills%2 == 1 {
				target = markBroadcast
			}
			skip = int(randN(t, 5))
			cmd.Env = append(cmd.Env, crashPauseEnv+"=20ms")
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killed := false
		kill := func() {
			if !killed {
				killed = true
				_ = cmd.Process.Kill() // SIGKILL
			}
		}
		var timer *time.Timer
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "START" && target == "" && kills < crashKills:
				timer = time.AfterFunc(time.Duration(randN(t, 5_000))*time.Microsecond, kill)
			case line == "DONE":
				done = true
			case target != "" && strings.HasPrefix(line, target):
				if skip == 0 {
					kill()
				}
				skip--
			}
			for _, m := range []string{markReuseFound, markReuseSent} {
				if strings.HasPrefix(line, m) {
					counts[m]++
				}
			}
		}
		if timer != nil {
			timer.Stop()
		}
		err = cmd.Wait()
		switch {
		case killed && !done:
			if target != "" {
				markKills++
			} else {
				timerKills++
			}
		case err != nil && !killed:
			t.Fatalf("child failed: %v\n%s", err, stderr.String())
		}
	}
	t.Logf("%d lives: %d random-time kills, %d kills at send markers; resumed sends found their tx on the network %d times, rebroadcast it %d times",
		lives, timerKills, markKills, counts[markReuseFound], counts[markReuseSent])
	verifyCrashOutcome(t, dir)
	if markKills != markerKills || timerKills < minTimerKills {
		t.Errorf("%d marker kills and %d random-time kills landed, want %d and at least %d", markKills, timerKills, markerKills, minTimerKills)
	}
	if counts[markReuseFound] == 0 || counts[markReuseSent] == 0 {
		t.Errorf("the critical windows were not exercised: found %d, rebroadcast %d", counts[markReuseFound], counts[markReuseSent])
	}
}

func verifyCrashOutcome(t *testing.T, dir string) {
	ctx := context.Background()
	store, err := workflow.OpenSQLiteStore(ctx, filepath.Join(dir, "workflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	network, err := openNetwork(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer network.Close()
	e, err := workflow.New(store, &workflow.Registry{})
	if err != nil {
		t.Fatal(err)
	}
	var doubles, lost int
	for i := range crashPayments {
		id := fmt.Sprintf("pay-%03d", i)
		res, err := e.Get(ctx, id)
		if err != nil || res.Status != workflow.StatusCompleted {
			lost++
			t.Errorf("%s: %v %v", id, res, err)
			continue
		}
		rows, err := network.QueryContext(ctx, `SELECT txid FROM broadcasts WHERE payment_id = ?`, id)
		if err != nil {
			t.Fatal(err)
		}
		var txids []string
		for rows.Next() {
			var tx string
			_ = rows.Scan(&tx)
			txids = append(txids, tx)
		}
		rows.Close()
		switch {
		case len(txids) == 0:
			lost++
			t.Errorf("%s: completed but never broadcast", id)
		case len(txids) > 1:
			doubles++
			t.Errorf("%s: %d different transactions broadcast", id, len(txids))
		case res.Output["txid"] != txids[0]:
			t.Errorf("%s: run reports %v, network has %s", id, res.Output["txid"], txids[0])
		}
		var recTx string
		if err := network.QueryRowContext(ctx, `SELECT txid FROM records WHERE payment_id = ?`, id).Scan(&recTx); err != nil || len(txids) == 1 && recTx != txids[0] {
			t.Errorf("%s: record %q, %v", id, recTx, err)
		}
	}
	if ids, err := store.Unfinished(ctx); err != nil || len(ids) != 0 {
		t.Errorf("unfinished runs left: %v %v", ids, err)
	}
	t.Logf("%d payments: %d double broadcasts, %d lost", crashPayments, doubles, lost)

	// The audit log survived the kills intact and shows every payment's ML→Bitcoin crossing,
	// allowed for its sender.
	audit, err := security.OpenAuditLog(ctx, filepath.Join(dir, "workflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer audit.Close()
	rep, err := audit.Verify(ctx, nil)
	if err != nil {
		t.Fatalf("audit log after the kills: %v", err)
	}
	sent := map[string]bool{}
	for from := uint64(1); ; from += 1000 {
		es, err := audit.Entries(ctx, from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Decision != security.DecisionAllow {
				t.Errorf("denied crossing in the crash run: %+v", e)
			}
			if e.From == "ml" && e.To == "bitcoin" && e.Action == workflow.OpSendPayment {
				sent[e.Principal] = true
			}
		}
		if len(es) < 1000 {
			break
		}
	}
	for i := range crashPayments {
		if id := fmt.Sprintf("pay-%03d", i); !sent[crashSender(id)] {
			t.Errorf("%s: no audited ML→Bitcoin crossing", id)
		}
	}
	t.Logf("audit log: %d entries, chain intact", rep.Entries)
}
