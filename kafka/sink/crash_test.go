package sink

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motifcep/motif/internal/wait"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestCrashInTransaction kills a sink at each point of a transaction (the
// process dies: no abort, no EndTxn) and checks that the next sink with the
// same SinkID neither loses nor repeats an alert.
func TestCrashInTransaction(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stage    int // how far the dead sink got: 1 produced, 2 position staged, 3 committed
		position uint64
	}{
		{"after produce", 1, 1},
		{"after position staged", 2, 1},
		{"after commit, before the sink learnt it", 3, 51},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addrs := newCluster(t, 3)
			st := newStore(t)
			want := appendAlerts(t, st, 0, 80)
			cfg := testConfig(addrs, "crash")
			dead := newSink(t, cfg, st)
			dieMidTransaction(t, dead, tc.stage)

			s := newSink(t, cfg, st) // fences the dead sink, aborting its transaction
			if got := s.Position(); got != tc.position {
				t.Errorf("Position() after the crash = %d, want %d", got, tc.position)
			}
			run(t, s, nil)
			wait.For(t, "alerts relayed", caughtUp(s, st))
			checkExactlyOnce(t, readAll(t, addrs), want)
		})
	}
}

// dieMidTransaction runs s's first transaction up to stage and then drops
// its client as a dying process would.
func dieMidTransaction(t *testing.T, s *Sink, stage int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, b := s.conn, s.batch
	if err := s.fill(b); err != nil || b.len() != s.cfg.MaxBatch {
		t.Fatalf("fill: %d alerts, %v", b.len(), err)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("dying sink: %s: %v", what, err)
		}
	}
	must("begin", c.cl.BeginTransaction())
	must("produce", s.produce(ctx, c, b))
	if stage >= 2 {
		must("add offsets", s.addOffsetsToTxn(ctx, c, c.pid, c.epoch))
		must("stage position", s.txnCommitPosition(ctx, c, c.pid, c.epoch, b.last+1))
	}
	if stage >= 3 {
		must("commit", c.cl.EndTransaction(ctx, kgo.TryCommit))
	}
	c.cl.Close()
	s.conn = nil
}

// TestCrashLoop stops a sink twenty times over while alerts keep coming,
// each time at a random request to the broker: the stop is a crash (no
// abort) half of the time, and a third of the time the broker first drops
// the connection at that request (a failure the sink retries). The broker
// may or may not have applied the request the sink was waiting for. At the
// end the topic must hold every alert exactly once.
func TestCrashLoop(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	cl, addrs := newCluster(t, 3)
	st := newStore(t)
	cfg := testConfig(addrs, "loop")
	cfg.MaxBatch = 7
	cfg.Linger = -1
	var want []logged
	n, retried := 0, uint64(0)
	for i := range 20 {
		more := 20 + rng.IntN(60)
		want = append(want, appendAlerts(t, st, n, n+more)...)
		n += more

		s := newSink(t, cfg, st)
		s.abandon = rng.IntN(2) == 0
		start := s.Position()
		ctx, cancel := context.WithCancel(context.Background())
		k, dropConn := 1+rng.IntN(40), rng.IntN(3) == 0
		after := time.Duration(rng.IntN(20)) * time.Millisecond // the sink's retry time after a drop
		stopAt := interruptAt(cl, k, func() {
			if !dropConn {
				cancel()
				return
			}
			time.AfterFunc(after, cancel)
		}, dropConn)
		time.AfterFunc(50*time.Millisecond, cancel) // if the sink runs out of requests first
		if err := s.Run(ctx, nil); err != nil {
			t.Fatalf("restart %d: Run: %v", i, err)
		}
		stopAt()
		s.Close()
		retried += s.Stats().Retries
		t.Logf("restart %d: at request %d (drop %v, crash %v): position %d -> %d of %d",
			i, k, dropConn, s.abandon, start, s.Position(), st.LastAlertSeq())
	}
	s := newSink(t, cfg, st)
	run(t, s, nil)
	wait.For(t, "alerts relayed", caughtUp(s, st))
	checkExactlyOnce(t, readAll(t, addrs), want)
	t.Logf("%d retries", retried)
}

// interruptAt calls fn at the k-th request the cluster receives from now
// on, and makes the cluster drop the connection of that request without
// answering if drop (else the request is handled as usual). It returns a
// function that disarms it.
func interruptAt(cl *kfake.Cluster, k int, fn func(), drop bool) (disarm func()) {
	var seen atomic.Int64
	var off atomic.Bool
	cl.Control(func(kmsg.Request) (kmsg.Response, error, bool) {
		if off.Load() {
			cl.DropControl()
			return nil, nil, false
		}
		if seen.Add(1) != int64(k) {
			return nil, nil, false
		}
		cl.DropControl()
		fn()
		if drop {
			return nil, errors.New("connection lost"), true
		}
		return nil, nil, false
	})
	return func() { off.Store(true) }
}
