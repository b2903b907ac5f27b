package statebench

import (
	"runtime"
	"testing"
	"time"

	"github.com/motifcep/motif/engine"
)

// BenchmarkOpenMatches holds an open partial match on each of ten million
// keys in the durable pipeline (Pattern, one `a` per user, states in
// Pebble behind the default 256 MiB cache), then sends a `b` to a million
// of them in random order, so that most are not in the cache: each such
// `b` reads the key's state from Pebble, completes the match (an alert)
// and deletes the state.
//
// It reports, the process being the whole pipeline:
//
//	heap-MiB          peak Go heap live after a GC (/gc/heap/live:bytes)
//	heap-objects-MiB  peak Go heap occupied (/memory/classes/heap/objects:bytes)
//	heap-open-MiB     live heap after a forced GC, all matches open
//	rss-MiB           peak resident set (VmRSS, with Pebble's cache and memtables)
//	gc-p99-ms, gc-max-ms  GC pauses, whole run (/sched/pauses/total/gc:seconds,
//	                  the upper edge of the histogram bucket; not the GC it forces)
//	gc-stop-p99-ms    the part of the pauses spent stopping the world
//	open-events/s     the `a`s, each a new key
//	cold-events/s     the `b`s
//	cold-%            the `b`s whose key was read from Pebble
//	state-MiB         encoded states stored after the `a`s
//
// It writes a few gigabytes, so it runs only when asked:
//
//	MOTIF_BENCH_BIG=1 go test ./internal/statebench -run '^$' -bench OpenMatches -benchtime 1x -timeout 2h
//
// MOTIF_BENCH_KEYS=N sets the number of keys (say 1000000 to try it in a
// minute); MOTIF_BENCH_COLD the `b`s (default: a tenth of the keys, at
// most a million); MOTIF_BENCH_CACHE the cache bound in bytes;
// MOTIF_BENCH_NOTE the note bytes of each `a` (default 0: the smallest
// state); MOTIF_BENCH_HEAPPROFILE=FILE writes heap profiles FILE.open and
// FILE.cold; MOTIF_BENCH_CPUPROFILE=FILE a CPU profile of the b's,
// FILE.cold.
func BenchmarkOpenMatches(b *testing.B) {
	keys := uint64(benchKeys(b, 10_000_000))
	cold := uint64(envInt(b, "MOTIF_BENCH_COLD", int(min(keys/10, 1_000_000))))
	cache := int64(envInt(b, "MOTIF_BENCH_CACHE", engine.DefaultCacheBytes))
	ev := Events{NoteBytes: envInt(b, "MOTIF_BENCH_NOTE", 0), Seed: 1}
	for b.Loop() {
		m := openMatches(b, keys, cold, cache, ev)
		b.ReportMetric(float64(keys), "keys")
		b.ReportMetric(mib(m.peak.HeapLive), "heap-MiB")
		b.ReportMetric(mib(m.peak.HeapObjects), "heap-objects-MiB")
		b.ReportMetric(mib(m.settled.HeapLive), "heap-open-MiB")
		b.ReportMetric(mib(m.peak.RSS), "rss-MiB")
		b.ReportMetric(ms(m.gc.Quantile(0.99)), "gc-p99-ms")
		b.ReportMetric(ms(m.gc.Max()), "gc-max-ms")
		b.ReportMetric(ms(m.gcStopping.Quantile(0.99)), "gc-stop-p99-ms")
		b.ReportMetric(float64(keys)/m.open.Seconds(), "open-events/s")
		b.ReportMetric(float64(cold)/m.cold.Seconds(), "cold-events/s")
		b.ReportMetric(100*float64(m.coldLoads)/float64(cold), "cold-%")
		b.ReportMetric(mib(uint64(m.stateBytes)), "state-MiB")
	}
}

// openMatchesResult is what openMatches measured.
type openMatchesResult struct {
	open, cold time.Duration // the times of the a's and of the b's
	coldLoads  uint64        // the b's whose key was read from the store
	stateBytes int64         // stored after the a's
	peak       Memory        // over the whole run
	settled    Memory        // after a GC, all matches open
	gc         GCPauses      // over the whole run, but for the forced GC
	gcStopping GCPauses      // their part stopping the world
}

// openMatches runs the scenario of BenchmarkOpenMatches: keys a's, then
// cold b's over them in random order.
func openMatches(b testing.TB, keys, cold uint64, cache int64, ev Events) openMatchesResult {
	in := NewInput(func(buf []byte, n uint64) []byte {
		if n < keys {
			return ev.A(buf, n, n)
		}
		return ev.B(buf, n, Mix(ev.Seed, n-keys, keys))
	})
	runtime.GC()
	gc0, stop0 := ReadGCPauses(), ReadGCStopping()
	sampler := StartSampler(20 * time.Millisecond)
	r := startPipeline(b, b.TempDir(), in, cache)
	defer func() {
		if r != nil {
			r.stop(b)
		}
	}()

	start := time.Now()
	in.Release(keys)
	r.waitOffset(b, keys, 2*time.Hour)
	open := time.Since(start)
	stateBytes, partials := r.stateBytes()
	if partials != int64(keys) {
		b.Fatalf("%d open partial matches, want %d", partials, keys)
	}
	peakOpen := sampler.Peak()
	gcOpen, stopOpen := ReadGCPauses().Since(gc0), ReadGCStopping().Since(stop0)
	heapProfile(b, ".open")
	runtime.GC()
	settled := ReadMemory()
	b.Logf("%d keys open in %v: %.0f events/s; %.0f MiB of state; peak heap live %.0f MiB, objects %.0f MiB, rss %.0f MiB; after GC heap %.0f MiB; GC pauses %d, p99 %v, max %v (stopping the world: p99 %v)",
		keys, open.Round(time.Millisecond), float64(keys)/open.Seconds(), mib(uint64(stateBytes)),
		mib(peakOpen.HeapLive), mib(peakOpen.HeapObjects), mib(peakOpen.RSS), mib(settled.HeapLive),
		gcOpen.Count(), gcOpen.Quantile(0.99), gcOpen.Max(), stopOpen.Quantile(0.99))

	gc1, stop1 := ReadGCPauses(), ReadGCStopping() // after the forced GC
	loads0 := r.loads.Load()
	stopProfile := cpuProfile(b, ".cold")
	start = time.Now()
	in.Release(keys + cold)
	r.waitOffset(b, keys+cold, 2*time.Hour)
	coldTime := time.Since(start)
	stopProfile()
	coldLoads := r.loads.Load() - loads0
	heapProfile(b, ".cold")
	peakCold := sampler.Stop()
	gcCold, stopCold := ReadGCPauses().Since(gc1), ReadGCStopping().Since(stop1)
	gcAll, stopAll := gcOpen.Plus(gcCold), stopOpen.Plus(stopCold)
	b.Logf("%d cold events in %v: %.0f events/s, %.1f%% read from Pebble; peak heap live %.0f MiB, objects %.0f MiB, rss %.0f MiB; GC pauses %d, p99 %v, max %v (stopping the world: p99 %v)",
		cold, coldTime.Round(time.Millisecond), float64(cold)/coldTime.Seconds(), 100*float64(coldLoads)/float64(cold),
		mib(peakCold.HeapLive), mib(peakCold.HeapObjects), mib(peakCold.RSS), gcCold.Count(), gcCold.Quantile(0.99), gcCold.Max(),
		stopCold.Quantile(0.99))
	r.stop(b)
	r = nil

	return openMatchesResult{open: open, cold: coldTime, coldLoads: coldLoads, stateBytes: stateBytes,
		peak: peakOpen.Max(peakCold), settled: settled, gc: gcAll, gcStopping: stopAll}
}
