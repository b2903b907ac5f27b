package kafka

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/kafka/kafkatest"
)

const (
	benchPartitions = 6
	benchPerPart    = 10_000
	benchEvents     = benchPartitions * benchPerPart
)

// benchTopic starts a cluster with a 6-partition topic "events" holding
// benchEvents JSON events.
func benchTopic(b *testing.B) []string {
	b.Helper()
	addrs := kafkatest.Cluster(b, map[string]int32{"events": benchPartitions})
	for p := range int32(benchPartitions) {
		vs := make([][]byte, benchPerPart)
		for i := range vs {
			vs[i] = fmt.Appendf(nil, `{"type":"auth","time":"2026-01-01T00:00:%02d.%03dZ","card":"c%d","amount":%d.5}`,
				i/1000%60, i%1000, i%977, i%500)
		}
		kafkatest.Produce(b, addrs, "events", p, vs...)
	}
	return addrs
}

func benchDecoder() *event.Decoder {
	s := event.NewSchema()
	s.Slot("card")
	s.Slot("amount")
	return event.NewDecoder(s, event.DecoderOptions{RequireTime: true})
}

// BenchmarkConsumeDecode reads and decodes a pre-filled 6-partition topic
// from kfake over a socket: once with a bare kgo consume loop, once through
// Source. One op reads all benchEvents events.
func BenchmarkConsumeDecode(b *testing.B) {
	addrs := benchTopic(b)
	b.Run("kgo", func(b *testing.B) {
		benchConsume(b, func(ctx context.Context, d *event.Decoder, ev *event.Event) {
			assign := map[int32]kgo.Offset{}
			for p := range int32(benchPartitions) {
				assign[p] = kgo.NewOffset().AtStart()
			}
			cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...),
				kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"events": assign}),
				kgo.FetchIsolationLevel(kgo.ReadCommitted()))
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			for n := 0; n < benchEvents; {
				fs := cl.PollFetches(ctx)
				if err := fs.Err0(); err != nil {
					b.Fatal(err)
				}
				for r := range fs.RecordsAll() {
					if err := d.Decode(r.Value, ev); err != nil {
						b.Fatal(err)
					}
					n++
				}
			}
		})
	})
	b.Run("source", func(b *testing.B) {
		benchConsume(b, func(ctx context.Context, d *event.Decoder, ev *event.Event) {
			s, err := NewSource(ctx, SourceConfig{Brokers: addrs, Topics: []string{"events"}})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var derr error
			decode := func(_ int, r *Record) bool {
				derr = d.Decode(r.Value, ev)
				return derr == nil
			}
			for n := 0; n < benchEvents; {
				k, err := s.Poll(ctx, decode)
				if err != nil || derr != nil {
					b.Fatal(err, derr)
				}
				n += k
			}
		})
	})
}

func benchConsume(b *testing.B, consume func(context.Context, *event.Decoder, *event.Event)) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	d := benchDecoder()
	var ev event.Event
	b.ReportAllocs()
	for b.Loop() {
		consume(ctx, d, &ev)
	}
	b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
