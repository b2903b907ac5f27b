package sink

import (
	"fmt"
	"testing"
	"time"

	"github.com/motifcep/motif/internal/wait"
)

// BenchmarkSink relays b.N alerts from a store to a kfake cluster, one
// transaction per MaxBatch (1000) alerts, and reports alerts per second.
//
//	go test -run XXX -bench Sink -benchmem ./kafka/sink/
func BenchmarkSink(b *testing.B) {
	for _, mode := range []struct {
		name          string
		transactional bool
	}{{"exactly-once", true}, {"at-least-once", false}} {
		b.Run(mode.name, func(b *testing.B) {
			_, addrs := newCluster(b, 3)
			st := newStore(b)
			appendAlerts(b, st, 0, b.N)
			cfg := testConfig(addrs, fmt.Sprintf("bench-%d", b.N))
			cfg.Transactional = mode.transactional
			cfg.MaxBatch = DefaultMaxBatch
			s := newSink(b, cfg, st)
			b.ResetTimer()
			start := time.Now()
			r := run(b, s, nil)
			wait.Within(b, 10*time.Minute, "alerts relayed", caughtUp(s, st))
			elapsed := time.Since(start)
			b.StopTimer()
			if err := r.stop(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "alerts/s")
		})
	}
}
