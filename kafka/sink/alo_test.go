package sink

import (
	"testing"

	"github.com/motifcep/motif/internal/wait"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestAtLeastOnce(t *testing.T) {
	cl, addrs := newCluster(t, 3)
	st := newStore(t)
	want := appendAlerts(t, st, 0, 100)
	cfg := testConfig(addrs, "alo")
	cfg.Transactional = false
	cfg.MaxBatch = 20
	s := newSink(t, cfg, st)
	wake := make(chan struct{}, 1)
	r := run(t, s, wake)
	wait.For(t, "alerts relayed", caughtUp(s, st))
	// Without failures nothing is written twice.
	checkExactlyOnce(t, readAll(t, addrs), want)

	// The position commit fails after the alerts were acknowledged: the
	// sink writes them again.
	cl.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Count: 2})
	want = append(want, appendAlerts(t, st, 100, 150)...)
	wake <- struct{}{}
	wait.For(t, "alerts relayed after failed position commits", caughtUp(s, st))
	if err := r.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	s.Close()

	// A crash after the produce, before the position commit.
	want = append(want, appendAlerts(t, st, 150, 170)...)
	dead := newSink(t, cfg, st)
	b := dead.batch
	if err := dead.fill(b); err != nil {
		t.Fatal(err)
	}
	if err := dead.produce(t.Context(), dead.conn, b); err != nil {
		t.Fatal(err)
	}
	dead.abandon = true
	dead.Close()

	s = newSink(t, cfg, st)
	run(t, s, nil)
	wait.For(t, "alerts relayed after the crash", caughtUp(s, st))
	recs := readAll(t, addrs)
	checkAtLeastOnce(t, recs, want)
	if len(recs) <= len(want) {
		t.Errorf("read %d records for %d alerts: the failures wrote nothing twice", len(recs), len(want))
	}
}
