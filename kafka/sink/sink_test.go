package sink

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/motifcep/motif/internal/wait"
)

func TestRelayExactlyOnce(t *testing.T) {
	_, addrs := newCluster(t, 3)
	st := newStore(t)
	want := appendAlerts(t, st, 0, 120)

	cfg := testConfig(addrs, "relay")
	cfg.PollInterval = time.Hour // only wake signals new alerts
	s := newSink(t, cfg, st)
	if got := s.Position(); got != 1 {
		t.Fatalf("new sink: Position() = %d, want 1", got)
	}
	wake := make(chan struct{}, 1)
	r := run(t, s, wake)
	wait.For(t, "the first alerts relayed", caughtUp(s, st))

	want = append(want, appendAlerts(t, st, 120, 150)...)
	wake <- struct{}{}
	wait.For(t, "the new alerts relayed after a wake", caughtUp(s, st))
	if err := r.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	checkExactlyOnce(t, readAll(t, addrs), want)
	st1 := s.Stats()
	if st1.Produced != 150 || st1.Lag != 0 || st1.Retries != 0 || st1.Aborted != 0 || st1.Buffered != 0 || st1.LastError != nil {
		t.Errorf("Stats = %+v, want 150 produced, no lag, no failure", st1)
	}
	if st1.Transactions < 3 { // 150 alerts, at most 50 a transaction
		t.Errorf("Stats.Transactions = %d, want at least 3", st1.Transactions)
	}

	// The position is in Kafka: a new sink starts there, and has nothing
	// to do.
	s.Close()
	s2 := newSink(t, cfg, st)
	if got, want := s2.Position(), st.LastAlertSeq()+1; got != want {
		t.Errorf("restarted sink: Position() = %d, want %d", got, want)
	}
}

func TestMalformedAlertRelayedAsStored(t *testing.T) {
	_, addrs := newCluster(t, 1)
	st := newStore(t)
	b := st.NewBatch()
	b.AppendAlert("bad", 0, []byte(`{"id":"bad","pattern":`))
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	want := appendAlerts(t, st, 0, 3)
	s := newSink(t, testConfig(addrs, "malformed"), st)
	run(t, s, nil)
	wait.For(t, "alerts relayed", caughtUp(s, st))

	recs := readAll(t, addrs)
	if len(recs) != 4 {
		t.Fatalf("read %d records, want 4", len(recs))
	}
	bad := recs[0]
	if string(bad.Value) != `{"id":"bad","pattern":` || bad.Key != nil || len(bad.Headers) != 1 || header(bad, HeaderSeq) != "1" {
		t.Errorf("malformed alert's record: key %q value %q headers %v", bad.Key, bad.Value, bad.Headers)
	}
	checkExactlyOnce(t, recs[1:], want)
	if got := s.Stats().Malformed; got != 1 {
		t.Errorf("Stats.Malformed = %d, want 1", got)
	}
}

func TestNewErrors(t *testing.T) {
	_, addrs := newCluster(t, 1)
	st := newStore(t)
	ctx := context.Background()

	cfg := testConfig(addrs, "missing-topic")
	cfg.Topic = "nope"
	if _, err := New(ctx, cfg, st); !errors.Is(err, ErrTopicNotFound) {
		t.Errorf("New with a missing topic: %v, want ErrTopicNotFound", err)
	}
	if _, err := New(ctx, Config{}, st); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New with an empty config: %v, want ErrInvalidConfig", err)
	}
	if _, err := New(ctx, testConfig(addrs, "nil-log"), nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New with a nil log: %v, want ErrInvalidConfig", err)
	}
}

func TestPositionAheadOfLog(t *testing.T) {
	_, addrs := newCluster(t, 1)
	st := newStore(t)
	appendAlerts(t, st, 0, 10)
	cfg := testConfig(addrs, "ahead")
	s := newSink(t, cfg, st)
	run(t, s, nil)
	wait.For(t, "alerts relayed", caughtUp(s, st))
	s.Close()

	// The store is replaced by one that has fewer alerts: the sink must not
	// skip the alerts the new store will number 6 to 10.
	st2 := newStore(t)
	appendAlerts(t, st2, 0, 5)
	_, err := New(context.Background(), cfg, st2)
	if !errors.Is(err, ErrPositionAhead) {
		t.Fatalf("New over a shorter log: %v, want ErrPositionAhead", err)
	}
}

func TestLogErrorIsFatal(t *testing.T) {
	_, addrs := newCluster(t, 1)
	st := newStore(t)
	appendAlerts(t, st, 0, 1)
	s := newSink(t, testConfig(addrs, "log-error"), errLog{st})
	err := s.Run(context.Background(), nil)
	if !errors.Is(err, errBroken) {
		t.Fatalf("Run over a failing log: %v, want %v", err, errBroken)
	}
}

func TestRunAfterClose(t *testing.T) {
	_, addrs := newCluster(t, 1)
	st := newStore(t)
	s := newSink(t, testConfig(addrs, "closed"), st)
	r := run(t, s, nil)
	wait.For(t, "Run running", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.running
	})
	if err := s.Run(context.Background(), nil); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run: %v, want ErrRunning", err)
	}
	s.Close() // stops the Run
	<-r.done
	if r.err != nil {
		t.Errorf("Run stopped by Close: %v", r.err)
	}
	if err := s.Run(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
}
