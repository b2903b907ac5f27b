package sink

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/kafka/kafkatest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestBrokerOutage puts the sink through failed commits, a stalled broker
// and failures while it reconnects. It must retry, hold no more than
// MaxBatch alerts meanwhile, and deliver every alert once in the end.
func TestBrokerOutage(t *testing.T) {
	cl, addrs := newCluster(t, 3)
	st := newStore(t)
	log := &countingLog{Log: st}
	want := appendAlerts(t, st, 0, 40)
	cfg := testConfig(addrs, "outage")
	cfg.MaxBatch = 20
	cfg.TransactionTimeout = time.Second // an attempt is given up after 500ms
	s := newSink(t, cfg, log)
	wake := make(chan struct{}, 1)
	run(t, s, wake)
	wait.For(t, "the first alerts relayed", caughtUp(s, st))
	more := func(n int) {
		want = append(want, appendAlerts(t, st, len(want), len(want)+n)...)
		select {
		case wake <- struct{}{}:
		default:
		}
	}

	// Commits refused: nothing applied, the sink must relay the batch again.
	refused := cl.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.EndTxn}, Count: 3})
	more(30)
	wait.For(t, "alerts relayed after refused commits", caughtUp(s, st))
	if n := refused.Hits(); n != 3 {
		t.Errorf("EndTxn refused %d times, want 3", n)
	}

	// The position staged but answered with a timeout, then the producer id
	// cannot be initialised twice on reconnect.
	cl.Fault(
		kfake.Fault{Keys: []kmsg.Key{kmsg.TxnOffsetCommit}, Err: kerr.RequestTimedOut},
		kfake.Fault{Keys: []kmsg.Key{kmsg.InitProducerID}, Count: 2},
	)
	more(30)
	wait.For(t, "alerts relayed after a failed reconnect", caughtUp(s, st))

	// The broker stalls every produce request for longer than an attempt,
	// while alerts pile up in the log.
	var stalled atomic.Bool
	release := make(chan struct{})
	stalled.Store(true)
	cl.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cl.KeepControl()
		if stalled.Load() {
			cl.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	before := s.Stats().Retries
	more(300)
	mostBuffered := 0
	wait.For(t, "attempts given up while the broker stalls", func() bool {
		mostBuffered = max(mostBuffered, s.Stats().Buffered)
		return s.Stats().Retries >= before+2
	})
	if s.Position() > st.LastAlertSeq()-250 {
		t.Errorf("position %d moved while the broker stalled", s.Position())
	}
	stalled.Store(false)
	close(release)
	wait.For(t, "alerts relayed after the stall", func() bool {
		mostBuffered = max(mostBuffered, s.Stats().Buffered)
		return caughtUp(s, st)()
	})

	if mostBuffered > cfg.MaxBatch || log.most() > cfg.MaxBatch {
		t.Errorf("the sink held %d alerts and read %d in one go, want at most MaxBatch %d", mostBuffered, log.most(), cfg.MaxBatch)
	}
	stats := s.Stats()
	if stats.Retries < 6 || stats.Aborted < 4 || stats.LastError == nil {
		t.Errorf("Stats = %+v, want at least 6 retries and 4 aborted", stats)
	}
	checkExactlyOnce(t, readAll(t, addrs), want)
}

// TestPositionGoneFromKafka deletes the sink's group, as the broker's
// offset expiry does for a sink idle longer than offsets.retention.minutes,
// then makes the sink reconnect: it must keep the position it committed
// rather than relay the log again from the start.
func TestPositionGoneFromKafka(t *testing.T) {
	cl, addrs := newCluster(t, 3)
	st := newStore(t)
	want := appendAlerts(t, st, 0, 60)
	cfg := testConfig(addrs, "expired")
	s := newSink(t, cfg, st)
	wake := make(chan struct{}, 1)
	run(t, s, wake)
	wait.For(t, "alerts relayed", caughtUp(s, st))

	adm := kadm.NewClient(kafkatest.Client(t, addrs))
	deleted, err := adm.DeleteGroup(t.Context(), cfg.group())
	if err == nil {
		err = deleted.Err
	}
	if err != nil {
		t.Fatalf("delete group: %v", err)
	}
	refused := cl.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.EndTxn}})
	want = append(want, appendAlerts(t, st, 60, 70)...)
	wake <- struct{}{}
	wait.For(t, "alerts relayed after a reconnect", caughtUp(s, st))
	if refused.Hits() != 1 {
		t.Fatalf("EndTxn refused %d times, want 1", refused.Hits())
	}
	checkExactlyOnce(t, readAll(t, addrs), want)
}
