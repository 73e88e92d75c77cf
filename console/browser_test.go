package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/anya-org/anya-go"
)

// chromiumEnv names a Chromium (or Chrome) binary for TestConsoleInBrowser; without it the
// test looks for chromium, chromium-browser, google-chrome and google-chrome-stable on PATH.
const chromiumEnv = "ANYA_CHROMIUM"

// screenshotEnv names a file where TestConsoleInBrowser also saves its screenshot (the README's
// is made so: ANYA_CONSOLE_SCREENSHOT=$PWD/docs/console.png go test -run TestConsoleInBrowser ./console/).
const screenshotEnv = "ANYA_CONSOLE_SCREENSHOT"

func findChromium(t *testing.T) string {
	if p := os.Getenv(chromiumEnv); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skipf("TestConsoleInBrowser needs Chromium and none was found: install Debian's chromium package (make setup does), or set %s to a Chromium or Chrome binary", chromiumEnv)
	return ""
}

// TestConsoleInBrowser loads the console in headless Chromium over a Manager that ran the
// demo's payments and checks what a person sees: the three payments with their outcomes and the
// reasons of the two not sent, an intact audit chain, the detail of the blocked payment, and a
// live event arriving when a block is mined — with no script error and nothing the
// Content-Security-Policy had to refuse. Without credentials the browser gets 401. It saves a
// screenshot under the test's temporary directory.
func TestConsoleInBrowser(t *testing.T) {
	bin := findChromium(t)
	f := demo(t)
	srv, _ := serve(t, f)
	base := srv.URL + "/ops"

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1440, 1000))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()

	// What the page reports: script exceptions and errors logged (a refusal of the
	// Content-Security-Policy is one).
	var mu sync.Mutex
	var problems []string
	statuses := map[string]int64{} // by URL, the last status the browser received
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+(&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
		case *network.EventResponseReceived:
			statuses[ev.Response.URL] = ev.Response.Status
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError && !strings.HasPrefix(ev.Entry.URL, "chrome-error:") { // not the 401 page
				problems = append(problems, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}

	// Without credentials: 401, which headless Chromium, having no one to ask for a password,
	// reports as a failed load.
	if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/")); err == nil || !strings.Contains(err.Error(), "ERR_INVALID_AUTH_CREDENTIALS") {
		t.Errorf("without credentials: %v", err)
	}
	mu.Lock()
	if got := statuses[base+"/"]; got != 401 {
		t.Errorf("without credentials: status %d (%v)", got, statuses)
	}
	problems = nil // the 401 is logged as a failed load
	mu.Unlock()

	// The operator's browser sends the credentials with every request (the page, its script
	// and style, the event stream).
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": basic(testUser, testPassword)}}); err != nil {
		t.Fatal(err)
	}
	step, stop := context.WithTimeout(ctx, 60*time.Second)
	defer stop()
	if resp, err := chromedp.Run(step, chromedp.NavigateResponse(base+"/")); err != nil || resp.Status != 200 {
		t.Fatalf("overview: %v %v", resp, err)
	}
	if err := chromedp.Do(step, chromedp.WaitVisible("table.payments"), chromedp.WaitVisible("#audit-status")); err != nil {
		t.Fatal(err)
	}

	// The three payments, as a person reads them.
	rows, err := chromedp.Run(step, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("table.payments tr.payment")).map(r => r.innerText)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("payments shown: %q", rows)
	}
	// Each row shows the payment's outcome, the amount, and for one not sent the reason's code
	// and message as the Manager reports them.
	infos, err := f.m.Payments(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		id      string
		outcome anya.Outcome
		amount  string
	}{{"order-3", anya.OutcomeUnverified, "25 000 sat"}, {"order-2", anya.OutcomeBlocked, "100 000 000 sat"}, {"order-1", anya.OutcomeSent, "25 000 sat"}} {
		row := strings.ReplaceAll(rows[i], "\u202f", " ")
		info := infos[i]
		if info.PaymentID != want.id || info.Outcome != want.outcome {
			t.Fatalf("the Manager lists %s %s as payment %d, want %s %s", info.PaymentID, info.Outcome, i, want.id, want.outcome)
		}
		parts := []string{want.id, string(want.outcome), want.amount}
		if want.outcome != anya.OutcomeSent {
			if info.Reason == nil || info.Reason.Reason == "" || info.Reason.Message == "" {
				t.Fatalf("%s: no reason %+v", want.id, info.Reason)
			}
			// The message as the console shows it: identifiers in it are pseudonyms.
			msg := info.Reason.Message
			if i := strings.Index(msg, "did:"); i >= 0 {
				msg = msg[:i]
			}
			if strings.Contains(rows[i], "did:") {
				t.Fatalf("payment row %d shows a DID in clear: %q", i, rows[i])
			}
			parts = append(parts, string(info.Reason.Reason), msg)
		}
		if want.outcome == anya.OutcomeBlocked {
			parts = append(parts, "risk_above_threshold", "0.70")
		}
		for _, w := range parts {
			if !strings.Contains(row, w) {
				t.Errorf("payment row %d %q lacks %q", i, row, w)
			}
		}
	}
	audit, err := chromedp.Run(step, chromedp.Text("#audit-status"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(audit, "Audit chain: intact") || !strings.Contains(audit, "entries verified") {
		t.Errorf("audit status %q", audit)
	}
	health, err := chromedp.Run(step, chromedp.Text("#health-summary"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(health, "OK") {
		t.Errorf("health %q", health)
	}

	// A live event: the stream is connected, a block is mined, its event appears.
	if err := func() error {
		_, err := chromedp.Run(step, chromedp.Poll[bool](`document.getElementById("events-status").textContent === "connected"`))
		return err
	}(); err != nil {
		t.Fatalf("the event stream did not connect: %v", err)
	}
	if _, err := f.sim.Mine(1); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(step, chromedp.WaitVisible(`tr.event[data-topic="bitcoin.block.connected"]`)); err != nil {
		t.Fatalf("no live event: %v", err)
	}
	event, err := chromedp.Run(step, chromedp.Text(`tr.event[data-topic="bitcoin.block.connected"]`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(event, "bitcoin.block.connected") {
		t.Errorf("event row %q", event)
	}

	shot, err := chromedp.Run(step, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "console.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
	if out := os.Getenv(screenshotEnv); out != "" {
		if err := os.WriteFile(out, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The blocked payment's detail, reached by its link: the reason and the step that decided.
	if err := chromedp.Do(step, chromedp.Click(`tr.payment[data-payment="order-2"] a`), chromedp.WaitVisible("#reason")); err != nil {
		t.Fatal(err)
	}
	reason, err := chromedp.Run(step, chromedp.Text("#reason"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reason, "risk_above_threshold") || !strings.Contains(reason, "fraud_assessment") {
		t.Errorf("reason %q", reason)
	}
	steps, err := chromedp.Run(step, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("tr.step")).map(r => r.dataset.step + " " + r.dataset.status)`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"verify_sender completed", "fraud_assessment completed", "send_payment skipped", "record_payment skipped"}; strings.Join(steps, ",") != strings.Join(want, ",") {
		t.Errorf("steps %q, want %q", steps, want)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("the page reported %s", p)
	}
}
