package kafkatest

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Timeout bounds each helper's work against the cluster; a helper that takes
// longer fails the test.
const Timeout = 20 * time.Second

// Cluster starts a single-broker kfake cluster on an ephemeral 127.0.0.1 port
// with the given topics (name → number of partitions) and returns the
// brokers' addresses. The cluster is closed when the test ends.
func Cluster(t testing.TB, topics map[string]int32) (addrs []string) {
	t.Helper()
	_, addrs = NewCluster(t, topics)
	return addrs
}

// NewCluster is Cluster, also returning the cluster, for tests that
// control its requests (kfake's ControlKey) or inject faults.
func NewCluster(t testing.TB, topics map[string]int32) (*kfake.Cluster, []string) {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	for _, name := range slices.Sorted(maps.Keys(topics)) {
		n := topics[name]
		if n <= 0 {
			t.Fatalf("kafkatest: topic %q: %d partitions, want at least 1", name, n)
		}
		opts = append(opts, kfake.SeedTopics(n, name))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kafkatest: starting kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()
}

// Client returns a kgo client for addrs with opts added, closed when the
// test ends.
func Client(t testing.TB, addrs []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl := newClient(t, addrs, opts...)
	t.Cleanup(cl.Close)
	return cl
}

// newClient is Client for a helper that closes the client itself: helpers
// that tests call in a polling loop must not hold a client (and its
// connections) per call until the test ends.
func newClient(t testing.TB, addrs []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	all := append([]kgo.Opt{kgo.SeedBrokers(addrs...)}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		t.Fatalf("kafkatest: new client: %v", err)
	}
	return cl
}

// Produce writes one record per value to partition of topic, in order, and
// waits until every one is acknowledged. Records have no key.
func Produce(t testing.TB, addrs []string, topic string, partition int32, values ...[]byte) {
	t.Helper()
	cl := Client(t, addrs, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Partition: partition, Value: v}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("kafkatest: producing to %s/%d: %v", topic, partition, err)
	}
}

// ProduceTxn writes one record per value to partition of topic inside one
// transaction, which it commits if commit is true and aborts otherwise.
func ProduceTxn(t testing.TB, addrs []string, topic string, partition int32, commit bool, values ...[]byte) {
	t.Helper()
	id := fmt.Sprintf("kafkatest-%s-%d-%d", topic, partition, time.Now().UnixNano())
	cl := Client(t, addrs,
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.TransactionalID(id))
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatalf("kafkatest: begin transaction: %v", err)
	}
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Partition: partition, Value: v}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("kafkatest: producing to %s/%d in a transaction: %v", topic, partition, err)
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("kafkatest: ending transaction (commit=%v): %v", commit, err)
	}
}

// ReadAll reads every partition of topic with read_committed isolation, from
// its log start to its last stable offset as listed when ReadAll starts (the
// high watermark when no transaction is open), and returns the records
// sorted by partition, then offset. Records of aborted transactions and
// transaction markers are not returned.
func ReadAll(t testing.TB, addrs []string, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	start, end := listBounds(ctx, t, addrs, topic)
	next := make(map[int32]int64)
	assign := make(map[int32]kgo.Offset)
	for p, s := range start {
		if s < end[p] {
			next[p] = s
			assign[p] = kgo.NewOffset().At(s)
		}
	}
	if len(assign) == 0 {
		return nil
	}
	cl := newClient(t, addrs,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords())
	defer cl.Close()
	var out []*kgo.Record
	for !caughtUp(next, end) {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("kafkatest: reading %s: at %v, want %v: %v", topic, next, end, err)
		}
		fs.EachError(func(tp string, p int32, err error) {
			t.Fatalf("kafkatest: reading %s/%d: %v", tp, p, err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= end[r.Partition] {
				return
			}
			next[r.Partition] = r.Offset + 1
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
	slices.SortStableFunc(out, func(a, b *kgo.Record) int {
		if c := cmp.Compare(a.Partition, b.Partition); c != 0 {
			return c
		}
		return cmp.Compare(a.Offset, b.Offset)
	})
	return out
}

// listBounds returns the log start and last stable offset of every partition
// of topic.
func listBounds(ctx context.Context, t testing.TB, addrs []string, topic string) (start, end map[int32]int64) {
	t.Helper()
	cl := newClient(t, addrs)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	collect := func(what string, l kadm.ListedOffsets, err error) map[int32]int64 {
		if err == nil {
			err = l.Error()
		}
		if err != nil {
			t.Fatalf("kafkatest: listing %s offsets of %s: %v", what, topic, err)
		}
		m := make(map[int32]int64)
		l.Each(func(o kadm.ListedOffset) { m[o.Partition] = o.Offset })
		if len(m) == 0 {
			t.Fatalf("kafkatest: topic %s has no partitions", topic)
		}
		return m
	}
	s, err := adm.ListStartOffsets(ctx, topic)
	start = collect("start", s, err)
	e, err := adm.ListCommittedOffsets(ctx, topic)
	end = collect("last stable", e, err)
	return start, end
}

func caughtUp(next, end map[int32]int64) bool {
	for p, n := range next {
		if n < end[p] {
			return false
		}
	}
	return true
}

// Bounds returns, for every partition of topic, its last stable offset (the
// end read_committed readers see) and its high watermark (the end with open
// transactions' records): they differ while a transaction is open.
func Bounds(t testing.TB, addrs []string, topic string) (stable, high map[int32]int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	_, stable = listBounds(ctx, t, addrs, topic)
	cl := newClient(t, addrs)
	defer cl.Close()
	e, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err == nil {
		err = e.Error()
	}
	if err != nil {
		t.Fatalf("kafkatest: listing end offsets of %s: %v", topic, err)
	}
	high = make(map[int32]int64)
	e.Each(func(o kadm.ListedOffset) { high[o.Partition] = o.Offset })
	return stable, high
}
