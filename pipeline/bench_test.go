package pipeline

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/motifcep/motif/engine"
	"github.com/motifcep/motif/event"
)

// BenchmarkPipeline compares the durable pipeline over the embedded log
// (states cached over Pebble, group commits) with the in-memory engine on
// the same fraud events, decoding included in both:
//
//	go test ./pipeline -run '^$' -bench Pipeline -count 5
//
// MOTIF_BENCH_EVENTS=1000000 runs it over the replay workload's size (one
// card per ten events, as `motif bench --workload fraud`).
func BenchmarkPipeline(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("MOTIF_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	set, lines := fraudInput(b, n, n/10)
	b.Run("in-memory", func(b *testing.B) {
		for b.Loop() {
			eng, err := engine.New(set, engine.Config{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			dec := event.NewDecoder(eng.Schema(), event.DecoderOptions{RequireTime: true})
			for off, l := range lines {
				ev := eng.NewEvent()
				if err := dec.Decode(l, ev); err != nil {
					b.Fatal(err)
				}
				ev.Seq = uint64(off)
				_ = eng.Push(ev)
			}
			eng.Close()
		}
		b.ReportMetric(float64(len(lines)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("durable", func(b *testing.B) {
		var stateCommits uint64
		for b.Loop() {
			b.StopTimer()
			s := openStore(b, b.TempDir())
			appendLog(b, s, lines)
			p, err := New(Config{Set: set, Store: s, CommitEvents: 10_000, StopAtEnd: true})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := p.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			stateCommits += p.Stats().StateCommits
			s.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(len(lines)*b.N)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(stateCommits)/float64(b.N), "state-commits")
	})
}
