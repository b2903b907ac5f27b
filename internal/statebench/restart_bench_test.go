package statebench

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/node"
)

// BenchmarkRestartAfterKill builds the motif binary, prepares a node data
// directory holding a gigabyte of key state (a million keys, each an open
// partial match with a 1000-byte note: Pattern, published through a node
// in process), and runs `motif serve` on it. Each iteration publishes
// events through the client for 2 s, kills the server with SIGKILL while
// it ingests and matches, starts it again and times it:
//
//	restart-s   from exec to the gRPC health check answering SERVING
//	            (median; restart-max-s the longest)
//	resume-s    from exec to matching caught up with the log (lag 0)
//
// After the iterations it kills the server once more under load and times
// the phases of a start in process, on that directory:
//
//	open-store-s   checkpoint.Open: Pebble's open, WAL replay, the store's own loading
//	open-node-s    node.Open: all of the above, the catalog and the pipeline
//
// (A start reads no key state and no timer: the engine reads them as it
// needs them.)
//
// It writes gigabytes, so it runs only when asked:
//
//	MOTIF_BENCH_BIG=1 go test ./internal/statebench -run '^$' -bench RestartAfterKill -benchtime 3x -timeout 1h
//
// MOTIF_BENCH_KEYS=N sets the keys, MOTIF_BENCH_NOTE the bytes of each
// note (default 1000). The same gigabyte over ten million small states
// (ten million stored timers):
//
//	MOTIF_BENCH_KEYS=10000000 MOTIF_BENCH_NOTE=32 go test ./internal/statebench -run '^$' -bench RestartAfterKill -benchtime 3x -timeout 1h
func BenchmarkRestartAfterKill(b *testing.B) {
	keys := uint64(benchKeys(b, 1_000_000))
	ev := Events{NoteBytes: envInt(b, "MOTIF_BENCH_NOTE", 1000), Seed: 3}
	ctx := context.Background()
	tmp := b.TempDir()
	start := time.Now()
	bin, err := BuildMotif(ctx, tmp)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("built motif in %v", time.Since(start).Round(time.Millisecond))
	dir := filepath.Join(tmp, "data")
	start = time.Now()
	prepareNode(b, dir, keys, ev)
	b.Logf("prepared %s in %v", dir, time.Since(start).Round(time.Millisecond))

	addr, err := FreeAddr()
	if err != nil {
		b.Fatal(err)
	}
	srv := &Serve{Bin: bin, Dir: dir, Addr: addr, Log: filepath.Join(tmp, "serve.log")}
	defer srv.Kill()
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	if err := srv.WaitServing(ctx, time.Minute); err != nil {
		b.Fatal(err)
	}
	c, err := client.New(addr, client.WithRetry(1))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	next := keys // the next event (and new key) to publish
	var restartS, resumeS []float64
	for b.Loop() {
		next = publishThenKill(b, c, srv, next, ev)
		start := time.Now()
		if err := srv.Start(); err != nil {
			b.Fatal(err)
		}
		if err := srv.WaitServing(ctx, 5*time.Minute); err != nil {
			b.Fatal(err)
		}
		serving := time.Since(start)
		waitCaughtUp(b, c)
		resumed := time.Since(start)
		b.Logf("restart: serving after %v, caught up after %v", serving.Round(time.Millisecond), resumed.Round(time.Millisecond))
		restartS = append(restartS, serving.Seconds())
		resumeS = append(resumeS, resumed.Seconds())
	}
	st, err := c.Status(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var stateBytes uint64
	for _, p := range st.GetPatterns() {
		stateBytes += p.GetStateBytes()
	}
	publishThenKill(b, c, srv, next, ev)
	startPhases(b, dir)
	b.ReportMetric(median(restartS), "restart-s")
	b.ReportMetric(slices.Max(restartS), "restart-max-s")
	b.ReportMetric(median(resumeS), "resume-s")
	b.ReportMetric(float64(stateBytes)/(1<<30), "state-GiB")
}

// prepareNode makes dir a node data directory with Pattern applied and an
// open partial match on each of keys keys (events 0 to keys-1).
func prepareNode(b *testing.B, dir string, keys uint64, ev Events) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, err := node.Open(node.Config{Dir: dir, CheckpointInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- n.Run(ctx) }()
	_, diags, err := n.Apply(ctx, []node.File{{Name: "statebench.motif", Source: []byte(Pattern)}})
	if err != nil || diags.HasErrors() {
		b.Fatalf("apply: %v %v", err, diags)
	}
	const batch = 5000
	var evs [][]byte
	for i := uint64(0); i < keys; i += batch {
		evs = evs[:0]
		for k := i; k < min(i+batch, keys); k++ {
			evs = append(evs, ev.A(nil, k, k))
		}
		res, err := n.Publish(ctx, evs)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Rejections) > 0 {
			b.Fatalf("publish: %d rejected: %v", len(res.Rejections), res.Rejections[0])
		}
	}
	var st node.Status
	wait.Within(b, time.Hour, "every event matched", func() bool {
		var err error
		if st, err = n.Status(); err != nil {
			b.Fatal(err)
		}
		return len(st.Partitions) == 1 && st.Partitions[0].Lag() == 0 && st.Partitions[0].Offset >= keys
	})
	var bytes, partials int64
	for _, p := range st.Patterns {
		bytes += p.StateBytes
		partials += p.PartialMatches
	}
	b.Logf("%d partial matches, %.2f GiB of state, %.2f GiB of log", partials, float64(bytes)/(1<<30), float64(st.Store.LogBytes)/(1<<30))
	cancel()
	if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
		b.Fatal(err)
	}
	if err := n.Close(); err != nil {
		b.Fatal(err)
	}
}

// publishThenKill publishes new keys' `a`s from event next on, in batches
// of 1000, for 2 s, then kills the server while it still publishes, and
// returns the next event not published.
func publishThenKill(b *testing.B, c *client.Client, srv *Serve, next uint64, ev Events) uint64 {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		var evs [][]byte
		for ctx.Err() == nil {
			mu.Lock()
			from := next
			next += 1000
			mu.Unlock()
			evs = evs[:0]
			for n := from; n < from+1000; n++ {
				evs = append(evs, ev.A(nil, n, n))
			}
			if _, err := c.Publish(ctx, evs...); err != nil {
				return // killed
			}
		}
	}()
	time.Sleep(2 * time.Second)
	srv.Kill()
	cancel()
	wg.Wait()
	return next
}

// waitCaughtUp waits until the server's matching has read its whole log.
func waitCaughtUp(b *testing.B, c *client.Client) {
	caughtUp := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := c.Status(ctx)
		if err != nil {
			return false
		}
		caught := len(st.GetPartitions()) > 0
		for _, p := range st.GetPartitions() {
			caught = caught && p.GetLag() == 0
		}
		return caught
	}
	wait.Within(b, 5*time.Minute, "matching to catch up with the log", caughtUp)
}

// startPhases times the phases of a node's start on dir, in process.
func startPhases(b *testing.B, dir string) {
	start := time.Now()
	s, err := checkpoint.Open(dir, checkpoint.Options{})
	if err != nil {
		b.Fatal(err)
	}
	openStore := time.Since(start)
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	n, err := node.Open(node.Config{Dir: dir, CheckpointInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	openNode := time.Since(start)
	if err := n.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("start in process after kill -9: store open %v, node open %v (store again, catalog, pipeline)",
		openStore.Round(time.Millisecond), openNode.Round(time.Millisecond))
	b.ReportMetric(openStore.Seconds(), "open-store-s")
	b.ReportMetric(openNode.Seconds(), "open-node-s")
}
