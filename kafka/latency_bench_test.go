package kafka_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/kafka"
	"github.com/motifcep/motif/kafka/kafkatest"
	"github.com/motifcep/motif/kafka/sink"
	"github.com/motifcep/motif/node"
)

// BenchmarkKafkaLatency: events produced at a steady rate to a 6-partition
// topic on kfake; a node reads them as `motif serve --kafka-brokers` does,
// matches durably and relays its alerts exactly once to an alert topic,
// which a read_committed consumer reads. Reported: the time from handing an
// event that completes a match to the producer until its alert is consumed,
// p50 and p99, over one op of 5 s of events (half of them complete a
// match), the first second left out as warm-up.
func BenchmarkKafkaLatency(b *testing.B) {
	for _, rate := range []int{10_000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			var all []time.Duration
			for i := range b.N {
				all = append(all, latencyRun(b, rate, 5*time.Second, fmt.Sprint("lat", i))...)
			}
			slices.Sort(all)
			q := func(f float64) float64 { return float64(all[int(f*float64(len(all)-1))]) / 1e6 }
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(float64(len(all))/float64(b.N), "alerts/op")
		})
	}
}

const latencyPattern = `
event a { user: string }
event b { user: string }

pattern pair {
    key user
    begin x: a
    followed_by y: b
    within 1m
}
`

func latencyRun(b *testing.B, rate int, d time.Duration, sinkID string) []time.Duration {
	const parts, users = 6, 6000
	addrs := kafkatest.Cluster(b, map[string]int32{"events": parts, "alerts": 3})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	in, err := kafka.NewInput(ctx, kafka.SourceConfig{Brokers: addrs, Topics: []string{"events"}})
	if err != nil {
		b.Fatal(err)
	}
	n, err := node.Open(node.Config{Dir: b.TempDir(), Input: in, IdleTimeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	ran := make(chan error, 1)
	go func() { ran <- n.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	if _, diags, err := n.Apply(ctx, []node.File{{Name: "pair.motif", Source: []byte(latencyPattern)}}); err != nil || diags.HasErrors() {
		b.Fatal(err, diags)
	}
	s, err := sink.New(ctx, sink.Config{Brokers: addrs, Topic: "alerts", SinkID: sinkID, Transactional: true}, n.Store())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	go s.Run(ctx, n.AlertSignals(ctx)) // as motif serve runs its sink

	// The consumer of the alert topic.
	var mu sync.Mutex
	sent := map[string]time.Time{} // b event id → when handed to the producer
	var lat []time.Duration
	consumer := kafkatest.Client(b, addrs, kgo.ConsumeTopics("alerts"), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(10*time.Millisecond))
	go func() {
		for {
			fs := consumer.PollFetches(ctx)
			if ctx.Err() != nil {
				return
			}
			now := time.Now()
			for r := range fs.RecordsAll() {
				var al struct {
					Events map[string][]string `json:"events"`
				}
				if err := json.Unmarshal(r.Value, &al); err != nil || len(al.Events["y"]) != 1 {
					b.Errorf("alert %s: %v", r.Value, err)
					continue
				}
				mu.Lock()
				if at, ok := sent[al.Events["y"][0]]; ok {
					lat = append(lat, now.Sub(at))
				}
				mu.Unlock()
			}
		}
	}()

	// The producer: a steady rate, in ticks of 1 ms, event time = now (so
	// out-of-orderness 0 holds), users spread over partitions by number.
	producer := kafkatest.Client(b, addrs, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	start := time.Now()
	// Measured: events of the middle, not the first second (warm-up) nor
	// the last (the watermark of the end waits for the idle timeout).
	from, to := start.Add(time.Second), start.Add(d-time.Second)
	perTick := rate / 1000
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := 0; i < int(d.Seconds())*rate; {
		<-tick.C
		due := int(time.Since(start).Seconds() * float64(rate))
		for ; i < min(due, i+10*perTick); i++ {
			round, u := i/users, i%users
			typ := "a"
			if round%2 == 1 {
				typ = "b"
			}
			id := fmt.Sprintf("%s%d", typ, i)
			now := time.Now()
			v := fmt.Appendf(nil, `{"type":%q,"id":%q,"time":%q,"user":"u%d"}`, typ, id, now.UTC().Format(time.RFC3339Nano), u)
			if typ == "b" && now.After(from) && now.Before(to) {
				mu.Lock()
				sent[id] = now
				mu.Unlock()
			}
			producer.Produce(ctx, &kgo.Record{Topic: "events", Partition: int32(u % parts), Value: v}, func(_ *kgo.Record, err error) {
				if err != nil && ctx.Err() == nil {
					b.Error(err)
				}
			})
		}
	}
	mu.Lock()
	want := len(sent)
	mu.Unlock()
	wait.Within(b, time.Minute, "every measured alert consumed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lat) == want
	})
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(lat)
}
