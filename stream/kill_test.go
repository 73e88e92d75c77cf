package stream_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anya-org/anya-go/stream"
)

// The kill test runs a three-stream outer join and a cross-protocol pattern over a
// deterministic input in a child process (this test binary re-executed with killChildEnv set),
// checkpointing to a SQLite file after every batch, kills it with SIGKILL at random moments,
// again and again, and restarts it until it finishes. Each result the child emits is printed
// before the pipeline goes on, so the parent sees everything that was emitted. The union of
// what all lives emitted, de-duplicated by ID, must equal what one uninterrupted run emits: no
// result lost, and no result emitted under two different IDs.

const (
	killChildEnv = "ANYA_STREAM_KILL_CHILD"
	killDirEnv   = "ANYA_STREAM_KILL_DIR"
	killEvents   = 2400 // per source
	killKeys     = 40
	killKills    = 25
	killMinKills = 8
	killMaxLives = 200
)

// killEvent is event i (1-based) of source side: a deterministic stream with event times
// jittered by up to 5 s, inside the sources' 10 s OutOfOrder bound.
func killEvent(side, i int) stream.Record[ev] {
	key := fmt.Sprintf("did:%02d", (i*7+side*3)%killKeys)
	jitter := time.Duration((i*37+side*11)%6) * time.Second
	at := t0.Add(time.Duration(i)*2*time.Second - jitter)
	e := ev{DID: key, Addr: "bc1" + key[4:]}
	switch side {
	case 0:
		e.Kind, e.Sat = "paid", int64(i%9)*100
	case 1:
		e.Kind = []string{"created", "linked"}[i%2]
	default:
		e.Kind = "scored"
	}
	return stream.Record[ev]{Offset: uint64(i), Time: at, Value: e}
}

func killSource(side int, name string, slow bool) *stream.Source[ev] {
	return stream.NewSource(func(ctx context.Context, after uint64, e *stream.Emitter[ev]) error {
		for i := int(after) + 1; i <= killEvents; i++ {
			if err := e.Emit(ctx, killEvent(side, i)); err != nil {
				return err
			}
			if slow && i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		return nil
	}, stream.Named(name), stream.OutOfOrder(10*time.Second))
}

func killPipelines(opts ...stream.Option) (*stream.Join3[string, ev, ev, ev], *stream.Matcher[string, ev], error) {
	j, err := stream.NewJoin3(byDID, byDID, byDID, stream.Tumbling(time.Minute),
		append([]stream.Option{stream.WithOuter(), stream.WithName("join")}, opts...)...)
	if err != nil {
		return nil, nil, err
	}
	p := stream.Begin("created", kind("created")).
		Then("linked", kind("linked")).
		Then("paid", func(e ev) bool { return e.Kind == "paid" && e.Sat >= 300 }).
		Within(5 * time.Minute)
	m, err := stream.NewMatcher(byDID, p, append([]stream.Option{stream.WithName("pattern")}, opts...)...)
	return j, m, err
}

func offsets(rs []stream.Record[ev]) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(r.Offset, 10))
	}
	return b.String()
}

func joinLine(r stream.Joined3[string, ev, ev, ev]) string {
	return fmt.Sprintf("J %s %s %d %s|%s|%s|%s", r.ID, r.Key, r.Window.Start.Unix(), strings.Join(r.Missing, "+"), offsets(r.A), offsets(r.B), offsets(r.C))
}

func matchLine(m stream.Match[string, ev]) string {
	var steps []string
	for _, e := range m.Events {
		steps = append(steps, fmt.Sprintf("%s@%d", e.Step, e.Offset))
	}
	return fmt.Sprintf("M %s %s %s", m.ID, m.Key, strings.Join(steps, ","))
}

// runPipelines runs both pipelines to the end, handing every result line to out.
func runPipelines(ctx context.Context, slow bool, out func(string), opts ...stream.Option) error {
	j, m, err := killPipelines(opts...)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	var jerr, merr error
	wg.Go(func() {
		jerr = stream.Pipe(ctx, j.Run(ctx, killSource(0, "bitcoin", slow), killSource(1, "web5", slow), killSource(2, "ml", slow)),
			func(_ context.Context, r stream.Joined3[string, ev, ev, ev]) error { out(joinLine(r)); return nil })
	})
	wg.Go(func() {
		merr = stream.Pipe(ctx, m.Run(ctx, killSource(0, "bitcoin", slow), killSource(1, "web5", slow), killSource(2, "ml", slow)),
			func(_ context.Context, r stream.Match[string, ev]) error { out(matchLine(r)); return nil })
	})
	wg.Wait()
	if jerr != nil {
		return jerr
	}
	return merr
}

func killChild() int {
	ctx := context.Background()
	store, err := stream.OpenSQLiteStore(ctx, filepath.Join(os.Getenv(killDirEnv), "state.db"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	defer store.Close()
	w := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	fmt.Println("START")
	err = runPipelines(ctx, true, func(line string) {
		mu.Lock()
		defer mu.Unlock()
		// flushed before the pipeline goes on: what was emitted is what the parent sees
		w.WriteString(line + "\n")
		w.Flush()
	}, stream.WithStore(store), stream.WithCheckpointInterval(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	fmt.Println("DONE")
	return 0
}

func randDuration(t *testing.T, max time.Duration) time.Duration {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(max)))
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(n.Int64())
}

func TestKill9RestartNoLossNoDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary dozens of times")
	}
	// The reference: one uninterrupted run, in this process.
	want := map[string]string{} // ID -> line
	var mu sync.Mutex
	if err := runPipelines(t.Context(), false, func(line string) {
		f := strings.SplitN(line, " ", 3)
		mu.Lock()
		want[f[1]] = line
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) < 100 {
		t.Fatalf("the reference run emitted only %d results", len(want))
	}

	dir := t.TempDir()
	got := map[string]string{}
	emitted, kills, lives := 0, 0, 0
	for done := false; !done; lives++ {
		if lives >= killMaxLives {
			t.Fatalf("no completion after %d lives", lives)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), killChildEnv+"=1", killDirEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var timer *time.Timer
		killed := false
		var kmu sync.Mutex
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "START":
				if kills < killKills {
					timer = time.AfterFunc(randDuration(t, 80*time.Millisecond), func() {
						kmu.Lock()
						killed = true
						kmu.Unlock()
						_ = cmd.Process.Kill() // SIGKILL
					})
				}
			case line == "DONE":
				done = true
			case strings.HasPrefix(line, "J ") || strings.HasPrefix(line, "M "):
				emitted++
				id := strings.SplitN(line, " ", 3)[1]
				if prev, ok := got[id]; ok && prev != line {
					t.Fatalf("ID %s emitted for two different results:\n%s\n%s", id, prev, line)
				}
				got[id] = line
			}
		}
		if timer != nil {
			timer.Stop()
		}
		err = cmd.Wait()
		kmu.Lock()
		wasKilled := killed
		kmu.Unlock()
		switch {
		case wasKilled && !done:
			kills++
		case err != nil && !done:
			t.Fatalf("child failed: %v\n%s", err, stderr.String())
		}
	}
	t.Logf("%d lives, %d kills; %d results emitted in all, %d distinct, %d in the reference", lives, kills, emitted, len(got), len(want))
	if kills < killMinKills {
		t.Errorf("only %d kills landed before the run finished, want at least %d", kills, killMinKills)
	}
	// no loss, nothing extra, and the same ID for the same result
	var missing, extra []string
	for id, line := range want {
		if g, ok := got[id]; !ok {
			missing = append(missing, line)
		} else if g != line {
			t.Errorf("result %s differs:\n got %s\nwant %s", id, g, line)
		}
	}
	for id, line := range got {
		if _, ok := want[id]; !ok {
			extra = append(extra, line)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("%d results lost, %d results not in the reference (first lost %q, first extra %q)", len(missing), len(extra), first(missing), first(extra))
	}
	// Two different IDs for one result would show as an extra line with a known content.
	byContent := map[string]string{}
	for id, line := range got {
		content := strings.Replace(line, id, "", 1)
		if other, ok := byContent[content]; ok {
			t.Fatalf("one result under two IDs: %s and %s", other, id)
		}
		byContent[content] = id
	}
}

func first(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[0]
}
