package statebench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/pattern"
	"github.com/motifcep/motif/pipeline"
)

// benchKeys returns the number of keys of a benchmark: MOTIF_BENCH_KEYS if
// set, else full with MOTIF_BENCH_BIG set; it skips the benchmark if
// neither is.
func benchKeys(tb testing.TB, full int) int {
	tb.Helper()
	if os.Getenv("MOTIF_BENCH_KEYS") != "" {
		return envInt(tb, "MOTIF_BENCH_KEYS", full)
	}
	if os.Getenv("MOTIF_BENCH_BIG") == "" {
		tb.Skipf("writes gigabytes: set MOTIF_BENCH_BIG=1 for the full size (%d keys) or MOTIF_BENCH_KEYS=N", full)
	}
	return full
}

// envInt reads an integer setting, def if unset.
func envInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		tb.Fatalf("%s=%q: want a whole number >= 0", name, s)
	}
	return n
}

func patternSet(tb testing.TB) *pattern.Set {
	tb.Helper()
	set, diags := pattern.Compile("statebench.motif", []byte(Pattern))
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	return set
}

// running is a durable pipeline over an Input, run on its own goroutine.
type running struct {
	store  *checkpoint.Store
	in     *Input
	p      *pipeline.Pipeline
	cancel context.CancelFunc
	done   chan error
	err    error
	stalls *stallLog // Pebble's write stalls
	// From the engine, at the last commit.
	loads, evictions atomic.Uint64
}

// startPipeline opens a store in dir and runs a pipeline of Pattern over
// in, with the given cache bound (0: the default).
func startPipeline(tb testing.TB, dir string, in *Input, cacheBytes int64) *running {
	tb.Helper()
	stalls := &stallLog{}
	s, err := checkpoint.Open(dir, checkpoint.Options{Logger: slog.New(stalls)})
	if err != nil {
		tb.Fatal(err)
	}
	r := &running{store: s, in: in, stalls: stalls, done: make(chan error, 1)}
	r.p, err = pipeline.New(pipeline.Config{
		Set:        patternSet(tb),
		Store:      s,
		Input:      in,
		CacheBytes: cacheBytes,
		OnCommit: func(pipeline.Stats) {
			// Run's goroutine: the engine may be read here.
			_, loads, evictions := r.p.Engine().CacheStats()
			r.loads.Store(loads)
			r.evictions.Store(evictions)
		},
	})
	if err != nil {
		s.Close()
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.p.Run(ctx) }()
	return r
}

// waitOffset waits until the pipeline committed the records below n.
func (r *running) waitOffset(tb testing.TB, n uint64, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for r.p.Stats().Offset < n {
		select {
		case err := <-r.done:
			r.done <- err
			tb.Fatalf("the pipeline stopped at offset %d of %d: %v", r.p.Stats().Offset, n, err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the pipeline is at offset %d of %d after %v", r.p.Stats().Offset, n, timeout)
		}
	}
}

// settle waits, at most limit, until the process has written less than a
// MiB a second for 3 s: Pebble's compactions after a bulk load are done
// (the pipeline must be idle).
func settle(tb testing.TB, limit time.Duration) {
	tb.Helper()
	start := time.Now()
	last, quiet := Written(), 0
	for time.Since(start) < limit {
		time.Sleep(time.Second)
		now := Written()
		if now-last < 1<<20 {
			quiet++
		} else {
			quiet = 0
		}
		if quiet == 3 {
			tb.Logf("compactions settled in %v", time.Since(start).Round(time.Second))
			return
		}
		last = now
	}
	tb.Logf("still writing after %v", limit)
}

// startTrace starts an execution trace, with CPU samples, into the file
// MOTIF_BENCH_TRACE names, if set, with what suffix says, and returns what
// stops it.
func startTrace(tb testing.TB, suffix string) (stop func()) {
	tb.Helper()
	path := os.Getenv("MOTIF_BENCH_TRACE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path + suffix)
	if err != nil {
		tb.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		tb.Fatal(err)
	}
	// With the CPU profiler on, the trace holds CPU samples by goroutine.
	profiling := pprof.StartCPUProfile(io.Discard) == nil
	return func() {
		if profiling {
			pprof.StopCPUProfile()
		}
		trace.Stop()
		f.Close()
		tb.Logf("trace: %s", f.Name())
	}
}

// stop ends Run and closes the store.
func (r *running) stop(tb testing.TB) {
	tb.Helper()
	r.cancel()
	err := <-r.done
	if cerr := r.store.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		tb.Error(err)
	}
}

// stateBytes returns the encoded bytes and partial matches of the stored
// states as of the last commit.
func (r *running) stateBytes() (bytes, partials int64) {
	for _, ps := range r.p.Stats().Patterns {
		bytes += ps.StateBytes
		partials += ps.PartialMatches
	}
	return bytes, partials
}

// heapProfile writes a heap profile to the file MOTIF_BENCH_HEAPPROFILE
// names, if set, with what suffix says.
func heapProfile(tb testing.TB, suffix string) {
	tb.Helper()
	path := os.Getenv("MOTIF_BENCH_HEAPPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path + suffix)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("heap profile: %s", f.Name())
}

// cpuProfile starts a CPU profile into the file MOTIF_BENCH_CPUPROFILE
// names, if set, with what suffix says, and returns what stops it.
func cpuProfile(tb testing.TB, suffix string) (stop func()) {
	tb.Helper()
	path := os.Getenv("MOTIF_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path + suffix)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		tb.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		tb.Logf("CPU profile: %s", f.Name())
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
