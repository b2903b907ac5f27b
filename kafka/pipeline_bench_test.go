package kafka_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/internal/workload"
	"github.com/motifcep/motif/kafka"
	"github.com/motifcep/motif/kafka/kafkatest"
	"github.com/motifcep/motif/kafka/sink"
	"github.com/motifcep/motif/pattern"
	"github.com/motifcep/motif/pipeline"
)

// BenchmarkKafkaPipeline: the fraud workload in a 6-partition topic on
// kfake, read, matched durably and its alerts relayed exactly once to an
// alert topic. One op is the whole topic, from a fresh store, until every
// record is committed and every alert is in the alert topic. Compare with
// BenchmarkConsumeDecode (a bare consume-and-decode loop).
func BenchmarkKafkaPipeline(b *testing.B) {
	const parts, events = 6, 60_000
	var buf bytes.Buffer
	if err := workload.Fraud(&buf, workload.Spec{Name: "fraud", Events: events, Keys: 5000, Seed: 5}); err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	set, err := workload.FraudSet()
	if err != nil {
		b.Fatal(err)
	}
	addrs := kafkatest.Cluster(b, map[string]int32{"events": parts, "alerts": 3})
	per := make([][][]byte, parts)
	for i, l := range lines {
		per[i%parts] = append(per[i%parts], l)
	}
	for p, vs := range per {
		kafkatest.Produce(b, addrs, "events", int32(p), vs...)
	}
	b.ResetTimer()
	var alerts uint64
	for i := range b.N {
		alerts = runOnce(b, addrs, set, len(lines), fmt.Sprint("bench", i))
	}
	b.ReportMetric(float64(b.N*len(lines))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(alerts), "alerts")
}

func runOnce(b *testing.B, addrs []string, set *pattern.Set, events int, sinkID string) uint64 {
	b.StopTimer()
	s, err := checkpoint.Open(b.TempDir(), checkpoint.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.StartTimer()
	in, err := kafka.NewInput(ctx, kafka.SourceConfig{Brokers: addrs, Topics: []string{"events"}})
	if err != nil {
		b.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{Set: set, Store: s, Input: in, Name: "kafka", IdleTimeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	sk, err := sink.New(ctx, sink.Config{Brokers: addrs, Topic: "alerts", SinkID: sinkID, Transactional: true}, s)
	if err != nil {
		b.Fatal(err)
	}
	defer sk.Close()
	done := make(chan error, 2)
	go func() { done <- p.Run(ctx) }()
	go func() { done <- sk.Run(ctx, nil) }()
	wait.Within(b, 5*time.Minute, "every event matched and every alert relayed", func() bool {
		st := p.Stats()
		return st.Events+st.Invalid+st.Late == uint64(events) && st.Commits > 0 &&
			sk.Position() == s.LastAlertSeq()+1
	})
	cancel()
	<-done
	<-done
	return s.LastAlertSeq()
}
