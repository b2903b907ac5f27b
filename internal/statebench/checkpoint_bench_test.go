package statebench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

// BenchmarkCheckpointWhileProcessing fills the store with a gigabyte of key
// state (a million keys, each an open partial match holding a 1000-byte
// note: Pattern), then streams events steadily through the pipeline (a
// new key's `a`, then a `b` completing a stored match, in turn) and takes
// checkpoints (pipeline.Checkpoint) while it runs. The stream starts once
// Pebble's compactions of the fill are done. Each iteration first
// watches the stream for 3 s without a checkpoint, then takes one.
//
// A pause is a gap between two consecutive events taken by the pipeline
// from its input while the later one was waiting (Input.Pause). It reports
// medians over the iterations:
//
//	checkpoint-s    how long pipeline.Checkpoint took (it commits first)
//	max-pause-ms    the longest pause while it ran (worst-pause-ms: the
//	                largest of them)
//	base-pause-ms   the longest pause in the 3 s before, without checkpoint
//	state-GiB       encoded key states in the store
//
// It writes gigabytes, so it runs only when asked:
//
//	MOTIF_BENCH_BIG=1 go test ./internal/statebench -run '^$' -bench CheckpointWhileProcessing -benchtime 3x -timeout 1h
//
// MOTIF_BENCH_KEYS=N sets the keys, MOTIF_BENCH_NOTE the bytes of each
// note (default 1000), MOTIF_BENCH_RATE the stream's events per second
// (default 5000, about half what the pipeline keeps up with on a shared
// 2-core machine; 0: as fast as it goes); MOTIF_BENCH_TRACE=FILE writes an
// execution trace of each iteration to FILE.1, FILE.2...
func BenchmarkCheckpointWhileProcessing(b *testing.B) {
	keys := uint64(benchKeys(b, 1_000_000))
	ev := Events{NoteBytes: envInt(b, "MOTIF_BENCH_NOTE", 1000), Seed: 2}
	rate := float64(envInt(b, "MOTIF_BENCH_RATE", 5000))
	in := NewInput(func(buf []byte, n uint64) []byte {
		if n < keys {
			return ev.A(buf, n, n)
		}
		j := n - keys
		if j%2 == 0 {
			return ev.A(buf, n, keys+j/2) // a new key
		}
		return ev.B(buf, n, Mix(ev.Seed, j/2, keys)) // a stored match
	})
	r := startPipeline(b, b.TempDir(), in, 0)
	defer r.stop(b)
	start := time.Now()
	in.Release(keys)
	r.waitOffset(b, keys, time.Hour)
	stateBytes, _ := r.stateBytes()
	b.Logf("%d keys, %.2f GiB of state, filled in %v", keys, float64(stateBytes)/(1<<30), time.Since(start).Round(time.Millisecond))
	if n, longest, reasons := r.stalls.in(start, time.Now()); n > 0 {
		b.Logf("Pebble stalled writes %d times while filling (longest %v: %v)", n, longest.Round(time.Millisecond), reasons)
	}

	settle(b, 5*time.Minute)
	in.Pace(rate)
	in.Release(keys + 1<<40)
	time.Sleep(2 * time.Second) // the stream settles
	var ckS, pauseMs, baseMs []float64
	for b.Loop() {
		ck, pause, base := checkpointOnce(b, r, len(ckS)+1)
		ckS = append(ckS, ck.Seconds())
		pauseMs = append(pauseMs, ms(pause))
		baseMs = append(baseMs, ms(base))
	}
	b.Logf("stream: %d events taken, %d due and not taken", in.Taken()-keys, in.Behind())
	b.ReportMetric(median(ckS), "checkpoint-s")
	b.ReportMetric(median(pauseMs), "max-pause-ms")
	b.ReportMetric(slices.Max(pauseMs), "worst-pause-ms")
	b.ReportMetric(median(baseMs), "base-pause-ms")
	b.ReportMetric(float64(stateBytes)/(1<<30), "state-GiB")
}

// checkpointOnce watches the stream for 3 s, then takes checkpoint i, and
// returns how long it took, the longest pause while it ran and the longest
// in the 3 s before.
func checkpointOnce(b *testing.B, r *running, i int) (ck, pause, base time.Duration) {
	in := r.in
	stopTrace := startTrace(b, fmt.Sprintf(".%d", i))
	from := time.Now()
	time.Sleep(3 * time.Second)
	baseGap, _ := in.Pause(from, time.Now())
	taken := in.Taken()
	ckStart := time.Now()
	info, err := r.p.Checkpoint(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	ckEnd := time.Now()
	stopTrace()
	gap, gaps := in.Pause(ckStart, ckEnd)
	b.Logf("checkpoint %d: %v (store's part %v; %.2f GiB of files), longest pause %v (from %+v to %+v of the call; %d of %v or more, %d events) against %v without",
		i, ckEnd.Sub(ckStart).Round(time.Millisecond), info.Duration.Round(time.Millisecond), float64(info.Size)/(1<<30), gap.D.Round(time.Microsecond),
		gap.Start().Sub(ckStart).Round(time.Millisecond), gap.End.Sub(ckStart).Round(time.Millisecond),
		gaps, MinGap, in.Taken()-taken, baseGap.D.Round(time.Microsecond))
	if n, longest, reasons := r.stalls.in(from, ckEnd); n > 0 {
		b.Logf("Pebble stalled writes %d times (longest %v: %v) in the 3 s without and the checkpoint", n, longest.Round(time.Millisecond), reasons)
	}
	if os.Getenv("MOTIF_BENCH_TRACE") != "" {
		b.Logf("trace %d: longest pause without checkpoint from %v to %v, checkpoint from %v", i,
			baseGap.Start().Sub(from).Round(time.Millisecond), baseGap.End.Sub(from).Round(time.Millisecond), ckStart.Sub(from).Round(time.Millisecond))
	}
	return ckEnd.Sub(ckStart), gap.D, baseGap.D
}
