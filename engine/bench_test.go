package engine

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/internal/workload"
	"github.com/motifcep/motif/pattern"
)

// BenchmarkEngineFraud times the engine alone (validation, ordering, key
// lookup, matching, timers, alerts) over decoded events of the fraud
// workload: 200k events of 20k cards, or MOTIF_BENCH_EVENTS events of a
// tenth as many cards; MOTIF_BENCH_PATTERNS (comma-separated names) keeps
// only those patterns. Decoding is done before the timer starts.
func BenchmarkEngineFraud(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("MOTIF_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	var buf bytes.Buffer
	if err := workload.Fraud(&buf, workload.Spec{Name: "fraud", Events: n, Keys: n / 10, Seed: 7}); err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	set, err := workload.FraudSet()
	if err != nil {
		b.Fatal(err)
	}
	if only := os.Getenv("MOTIF_BENCH_PATTERNS"); only != "" { // comma-separated names
		set.Patterns = slices.DeleteFunc(set.Patterns, func(p *pattern.PatternDecl) bool {
			return !slices.Contains(strings.Split(only, ","), p.Name.Name)
		})
	}
	evs := make([]*event.Event, len(lines))
	alerts := 0
	for b.Loop() {
		b.StopTimer()
		var sink countSink
		eng, err := New(set, Config{Recycle: func(*event.Event) {}}, &sink)
		if err != nil {
			b.Fatal(err)
		}
		dec := event.NewDecoder(eng.Schema(), event.DecoderOptions{RequireTime: true})
		for i, l := range lines {
			evs[i] = &event.Event{}
			if err := dec.Decode(l, evs[i]); err != nil {
				b.Fatal(err)
			}
			evs[i].Seq = uint64(i)
		}
		b.StartTimer()
		for _, ev := range evs {
			if err := eng.Push(ev); err != nil {
				b.Fatal(err)
			}
		}
		eng.Close()
		if alerts != 0 && sink.n != alerts {
			b.Fatalf("%d alerts, then %d", alerts, sink.n)
		}
		alerts = sink.n
	}
	if alerts == 0 {
		b.Fatal("no alerts")
	}
	b.ReportMetric(float64(len(lines)*b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(len(lines)*b.N), "ns/event")
}

type countSink struct{ n int }

func (s *countSink) Alert(*alert.Alert)       { s.n++ }
func (s *countSink) Late(*event.Event, int64) {}
