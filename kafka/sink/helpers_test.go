package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/kafka/kafkatest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// topic is the alert topic of every test cluster.
const topic = "alerts"

// newCluster starts a one-broker kfake cluster on 127.0.0.1 with the alert
// topic (partitions partitions) and returns it, for tests that inject
// faults, and its addresses.
func newCluster(t testing.TB, partitions int32, opts ...kfake.Opt) (*kfake.Cluster, []string) {
	t.Helper()
	all := append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic)}, opts...)
	c, err := kfake.NewCluster(all...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// newStore opens a store in a temporary directory, closed when the test
// ends.
func newStore(t testing.TB) *checkpoint.Store {
	t.Helper()
	st, err := checkpoint.Open(t.TempDir(), checkpoint.Options{})
	if err != nil {
		t.Fatalf("checkpoint.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("store Close: %v", err)
		}
	})
	return st
}

// logged is an alert as the test appended it to the log.
type logged struct {
	seq  uint64
	a    alert.Alert
	json []byte
}

// testAlert returns alert number i. Keys cycle through the three forms:
// null, one part, several parts, with characters JSON escapes.
func testAlert(i int) alert.Alert {
	a := alert.Alert{
		ID:      fmt.Sprintf("A%06d", i),
		Pattern: "burst",
		Version: 1 + i%3,
		Kind:    alert.KindMatch,
		Start:   int64(i) * 1e9,
		End:     int64(i)*1e9 + 5e8,
	}
	switch i % 5 {
	case 0:
		a.Key = nil
	case 1, 2:
		a.Key = []string{fmt.Sprintf("card-%d", i%7)}
	case 3:
		a.Key = []string{fmt.Sprintf("c<%d>&\"q\"", i%4)}
	case 4:
		a.Key = []string{fmt.Sprintf("card-%d", i%3), "m\u00e9rchant"}
	}
	return a
}

// appendAlerts appends alerts from .. to-1 to the log, one commit per
// chunk of 50, and returns them with their sequence numbers.
func appendAlerts(t testing.TB, st *checkpoint.Store, from, to int) []logged {
	t.Helper()
	var out []logged
	for lo := from; lo < to; lo += 50 {
		b := st.NewBatch()
		for i := lo; i < min(lo+50, to); i++ {
			a := testAlert(i)
			js := a.AppendJSON(nil)
			seq := b.AppendAlert(a.ID, a.End, js)
			out = append(out, logged{seq: seq, a: a, json: js})
		}
		if err := b.Commit(true); err != nil {
			t.Fatalf("commit alerts: %v", err)
		}
	}
	return out
}

// testConfig is a transactional config with short waits for tests.
func testConfig(addrs []string, sinkID string) Config {
	return Config{
		Brokers:            addrs,
		Topic:              topic,
		SinkID:             sinkID,
		Transactional:      true,
		MaxBatch:           50,
		Linger:             time.Millisecond,
		PollInterval:       20 * time.Millisecond,
		RetryBackoff:       5 * time.Millisecond,
		MaxRetryBackoff:    50 * time.Millisecond,
		TransactionTimeout: 10 * time.Second,
		Logger:             debugLogger,
	}
}

// debugLogger is the tests' sink logger: nil (discard) unless the
// environment sets MOTIF_SINK_LOG, then the sink's messages go to stderr.
var debugLogger = func() *slog.Logger {
	if os.Getenv("MOTIF_SINK_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}()

// newSink makes a sink and closes it when the test ends.
func newSink(t testing.TB, cfg Config, log Log) *Sink {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := New(ctx, cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// running is a Run in its own goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// run starts s.Run; stop it with stop, or let the test's end do it.
func run(t testing.TB, s *Sink, wake <-chan struct{}) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = s.Run(ctx, wake)
	}()
	t.Cleanup(func() { r.stop() })
	return r
}

// stop cancels the Run and returns what it returned.
func (r *running) stop() error {
	r.cancel()
	<-r.done
	return r.err
}

// returned reports whether Run has returned.
func (r *running) returned() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// caughtUp reports whether s has committed every alert of st.
func caughtUp(s *Sink, st *checkpoint.Store) func() bool {
	return func() bool { return s.Position() == st.LastAlertSeq()+1 }
}

// checkExactlyOnce checks that recs (read with read_committed, by
// partition then offset) hold every alert of want exactly once and nothing
// else, each record as the doc says, the alerts of a key in one partition
// and in sequence order.
func checkExactlyOnce(t testing.TB, recs []*kgo.Record, want []logged) {
	t.Helper()
	checkRecords(t, recs, want, false)
}

// checkAtLeastOnce is checkExactlyOnce allowing duplicates.
func checkAtLeastOnce(t testing.TB, recs []*kgo.Record, want []logged) {
	t.Helper()
	checkRecords(t, recs, want, true)
}

func checkRecords(t testing.TB, recs []*kgo.Record, want []logged, dupsOK bool) {
	t.Helper()
	bySeq := make(map[uint64]logged, len(want))
	for _, l := range want {
		bySeq[l.seq] = l
	}
	seen := make(map[uint64]int)
	partOf := make(map[string]int32)
	lastSeq := make(map[string]uint64) // per key: the last sequence number seen
	errs := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if errs++; errs <= 10 {
			t.Errorf(format, args...)
		}
	}
	for _, r := range recs {
		seq, err := strconv.ParseUint(header(r, HeaderSeq), 10, 64)
		if err != nil {
			fail("record at %d@%d: bad %s header: %v", r.Partition, r.Offset, HeaderSeq, err)
			continue
		}
		l, ok := bySeq[seq]
		if !ok {
			fail("record at %d@%d: seq %d is not in the log", r.Partition, r.Offset, seq)
			continue
		}
		seen[seq]++
		if string(r.Value) != string(l.json) {
			fail("seq %d: value %s, want %s", seq, r.Value, l.json)
		}
		if got, want := header(r, HeaderID), l.a.ID; got != want {
			fail("seq %d: id header %q, want %q", seq, got, want)
		}
		if got, want := header(r, HeaderPattern), l.a.Pattern; got != want {
			fail("seq %d: pattern header %q, want %q", seq, got, want)
		}
		if got, want := header(r, HeaderVersion), strconv.Itoa(l.a.Version); got != want {
			fail("seq %d: version header %q, want %q", seq, got, want)
		}
		key, wantKey := string(r.Key), wantKey(l.a.Key)
		if key != wantKey || (r.Key == nil) != (l.a.Key == nil) {
			fail("seq %d: key %q (nil %v), want %q", seq, r.Key, r.Key == nil, wantKey)
		}
		if r.Key == nil {
			continue
		}
		if p, ok := partOf[key]; ok && p != r.Partition {
			fail("key %q in partitions %d and %d", key, p, r.Partition)
		}
		partOf[key] = r.Partition
		if last := lastSeq[key]; seq <= last && !dupsOK {
			fail("key %q: seq %d after %d", key, seq, last)
		}
		lastSeq[key] = max(lastSeq[key], seq)
	}
	for _, l := range want {
		switch n := seen[l.seq]; {
		case n == 0:
			fail("seq %d (%s) missing from the topic", l.seq, l.a.ID)
		case n > 1 && !dupsOK:
			fail("seq %d (%s) in the topic %d times", l.seq, l.a.ID, n)
		}
	}
	if errs > 10 {
		t.Errorf("... %d problems in all", errs)
	}
}

// wantKey is the record key of an alert key, as doc.go states it.
func wantKey(key []string) string {
	switch len(key) {
	case 0:
		return ""
	case 1:
		return key[0]
	}
	a := alert.Alert{Key: key}
	js := string(a.AppendJSON(nil))
	start := strings.Index(js, `"key":`) + len(`"key":`)
	end := strings.Index(js, `,"severity"`)
	return js[start:end]
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// readAll reads the alert topic with read_committed.
func readAll(t testing.TB, addrs []string) []*kgo.Record {
	t.Helper()
	return kafkatest.ReadAll(t, addrs, topic)
}

// countingLog wraps a Log and records the most alerts one Alerts call
// handed to the sink before it stopped reading.
type countingLog struct {
	Log
	mu      sync.Mutex
	maxRead int
	calls   atomic.Int64
}

func (c *countingLog) Alerts(from uint64, fn func(uint64, []byte) bool) error {
	c.calls.Add(1)
	n := 0
	err := c.Log.Alerts(from, func(seq uint64, p []byte) bool {
		n++
		return fn(seq, p)
	})
	c.mu.Lock()
	c.maxRead = max(c.maxRead, n)
	c.mu.Unlock()
	return err
}

func (c *countingLog) most() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxRead
}

// errLog is a Log whose reads fail.
type errLog struct{ Log }

var errBroken = errors.New("disk on fire")

func (errLog) Alerts(uint64, func(uint64, []byte) bool) error { return errBroken }
