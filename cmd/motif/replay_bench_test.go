package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/motifcep/motif/internal/workload"
)

// BenchmarkReplay times replay over the bench workloads, whole pipeline
// (decode, order, match, alerts) in process: 200k events, or
// MOTIF_BENCH_EVENTS. Profile it with
// go test ./cmd/motif -run '^$' -bench Replay -cpuprofile cpu.out.
func BenchmarkReplay(b *testing.B) {
	for _, name := range []string{"fraud", "abc"} {
		b.Run(name, func(b *testing.B) {
			events := 200_000
			if v, err := strconv.Atoi(os.Getenv("MOTIF_BENCH_EVENTS")); err == nil && v > 0 {
				events = v
			}
			dir := b.TempDir()
			evPath, patPath := filepath.Join(dir, "events.ndjson"), filepath.Join(dir, "patterns.motif")
			if err := generate(workload.Spec{Name: name, Events: events, Seed: 1}, evPath, patPath); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var errb bytes.Buffer
				if code := replay([]string{"-p", patPath, "-e", evPath}, nil, io.Discard, &errb); code != 0 {
					b.Fatalf("replay exited %d: %s", code, errb.String())
				}
			}
			b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
