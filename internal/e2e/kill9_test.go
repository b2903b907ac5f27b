package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/internal/workload"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

// kills is how many times TestKill9ThroughAPI kills the server.
const kills = 6

// A real `motif serve` process, killed with SIGKILL at random points while
// a client publishes a fraud workload (retrying, and re-sending the batch
// it had in flight) and a subscriber follows the alerts (its iterator
// reconnecting and resuming after the last seq it saw), and restarted each
// time on the same data directory and address, ends with every event in
// its log exactly once, and the subscriber has received exactly the alerts
// of `motif replay` over the same events: none missing, none twice, in the
// same order, with strictly increasing sequence numbers.
func TestKill9ThroughAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the motif binary")
	}
	bin := buildMotif(t)
	work := t.TempDir()
	patternsFile := filepath.Join(work, "fraud.motif")
	if err := os.WriteFile(patternsFile, []byte(workload.FraudPatterns), 0o644); err != nil {
		t.Fatal(err)
	}
	lines, tick := fraudInput(t, fraudEvents, fraudKeys, fraudSeed)
	input := append(lines[:len(lines):len(lines)], tick)
	eventsFile := filepath.Join(work, "events.ndjson")
	if err := os.WriteFile(eventsFile, joinLines(input...), 0o644); err != nil {
		t.Fatal(err)
	}
	// The reference is the real `motif replay`, which the in-memory engine
	// agrees with.
	want := motifReplay(t, bin, patternsFile, eventsFile)
	if ref := reference(t, fraudSet(t), input); !slices.Equal(want, ref) {
		t.Fatalf("motif replay (%d alerts) and the in-memory engine (%d alerts) disagree", len(want), len(ref))
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d; %d events, %d alerts expected", seed, len(input), len(want))
	rng := rand.New(rand.NewPCG(seed, 9))

	// No automatic checkpoints during the kills: a kill that lands while an
	// old checkpoint is being pruned leaves a directory that stops the
	// server from ever starting again (TestOpenAfterKillDuringCheckpointPrune),
	// which would make this test fail once in a few dozen runs. With
	// MOTIF_E2E_KNOWN_BUGS=1 it checkpoints every 150ms, and finds it.
	ckpt := "1h"
	if os.Getenv("MOTIF_E2E_KNOWN_BUGS") != "" {
		ckpt = "150ms"
	}
	srv := newServeProc(t, bin, filepath.Join(work, "data"), freeAddr(t),
		"--patterns", patternsFile, "--checkpoint-interval", ckpt, "--log-level", "info")
	// The first start applies --patterns after the port is open: wait for
	// all of them. Later starts restore the catalog before they serve, and
	// apply the same files again (unchanged).
	ready := fraudPatternsServed
	if err := srv.start(t.Context(), ready); err != nil {
		t.Fatal(err)
	}

	opts := []client.Option{client.WithBackoff(10*time.Millisecond, 100*time.Millisecond), client.WithRetry(100)}
	c, err := client.New(srv.addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()

	// The subscriber: one Subscribe iterator for the whole test.
	got := &sink{}
	sctx, stopSub := context.WithCancel(ctx)
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		for a, err := range c.Subscribe(sctx, client.FromStart(), client.Filter{}) {
			if err != nil {
				got.end(err)
				return
			}
			got.add(deliveredOf(a.Seq, a.Alert))
		}
	}()
	defer func() { stopSub(); <-subDone }()

	// The killer: after the publisher has had batch k acknowledged, for
	// each k of killAt, it waits a random 0-40ms and kills the server
	// (the next batch is in flight: being validated, appended or synced;
	// matching is working through its backlog, or committing), then starts
	// it again and waits until it serves.
	bs := batches(lines, 100)
	bs = append(bs, [][]byte{tick}) // alone: see publish below
	killAt := rng.Perm(len(bs) - 2)[:kills]
	for i := range killAt {
		killAt[i]++
	}
	slices.Sort(killAt)
	var acked, sending atomic.Int64
	killed := 0
	killerErr := make(chan error, 1)
	killerDone := make(chan struct{})
	defer func() { cancel(); <-killerDone }()
	go func() {
		defer close(killerDone)
		killerErr <- func() error {
			for _, k := range killAt {
				for acked.Load() < int64(k) {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					time.Sleep(time.Millisecond)
				}
				select {
				case <-time.After(time.Duration(rng.IntN(40_000)) * time.Microsecond):
				case <-ctx.Done():
					return ctx.Err()
				}
				if err := srv.died(); err != nil {
					return err
				}
				sent, ok := sending.Load(), acked.Load()
				srv.kill()
				killed++
				where := "between batches"
				if sent > ok {
					where = fmt.Sprintf("batch %d in flight", sent)
				}
				t.Logf("kill %d: %d batches acknowledged, %s; the subscriber is at seq %d", killed, ok, where, got.lastSeq())
				if err := srv.start(ctx, ready); err != nil {
					return fmt.Errorf("restart after kill %d: %w", killed, err)
				}
			}
			return nil
		}()
	}()

	// The publisher: each batch until it is acknowledged. Publish retries
	// by itself; when it gives up the batch is sent again, which the
	// server's dedupe by event id makes safe. The tick goes alone, last:
	// the dedupe window is event time behind the newest event, and a batch
	// re-sent after the tick (a day later) would be appended again.
	retries := 0
	for i, b := range bs {
		sending.Store(int64(i + 1))
		for {
			res, err := c.Publish(ctx, b...)
			if err == nil {
				if res.Accepted+res.Duplicates != len(b) || len(res.Rejections) != 0 {
					t.Fatalf("batch %d of %d events: %+v", i, len(b), res)
				}
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("batch %d: %v", i, err)
			}
			retries++
			t.Logf("batch %d: %v; sending it again", i, err)
		}
		acked.Store(int64(i + 1))
	}
	if err := <-killerErr; err != nil {
		t.Fatal(err)
	}
	if killed < 5 {
		t.Fatalf("only %d kills", killed)
	}

	// Every event once in the log, every event matched, and the subscriber
	// has what the log has.
	st := settle(t, uint64(len(input)), got, func() (*motifv1.GetStatusResponse, error) { return c.Status(ctx) })
	if err := srv.died(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, got.alerts(), want)
	if st.lastSeq != uint64(len(want)) {
		t.Errorf("the alert log ends at seq %d, want %d: sequence numbers were skipped", st.lastSeq, len(want))
	}
	t.Logf("%d kills, %d starts, %d publish calls given up and sent again; %s", killed, srv.starts, retries, st)

	// A graceful stop after all that: SIGTERM, exit 0.
	if err := srv.terminate(20 * time.Second); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	if log := srv.log(); strings.Contains(log, "DATA RACE") || strings.Contains(log, "panic:") {
		t.Errorf("the server's log has a race or a panic:\n%s", srv.logTail(8192))
	}
}

// motifReplay runs `motif replay` and returns its alerts, without
// detected_at; it checks that no event was invalid or late.
func motifReplay(t testing.TB, bin, patterns, events string) []string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "replay", "-p", patterns, "-e", events)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("motif replay: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), " 0 invalid, 0 late,") {
		t.Fatalf("motif replay: %s", stderr.String())
	}
	var out []string
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, stripDetected(sc.Bytes()))
	}
	return out
}
