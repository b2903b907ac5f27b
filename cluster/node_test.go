package cluster

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/motifcep/motif/api"
	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/internal/workload"
	"github.com/motifcep/motif/kafka/kafkatest"
	"github.com/motifcep/motif/node"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
	"github.com/motifcep/motif/raftstate"
)

// testNode is a cluster of one node in this process, over an in-process
// Kafka whose topic "events" has the partitions given, serving its API
// (with its cluster metrics) at addr.
type testNode struct {
	*Node
	t       *testing.T
	brokers []string
	cfg     Config
	addr    string
	stop    func()
}

func startNode(t *testing.T, partitions int32) *testNode {
	t.Helper()
	tn := &testNode{t: t, brokers: kafkatest.Cluster(t, map[string]int32{"events": partitions, "alerts": 1})}
	tn.cfg = Config{
		NodeID: "n1",
		Dir:    t.TempDir(),
		Raft: raftstate.Config{RaftAddr: freeAddr(t), Bootstrap: true,
			HeartbeatTimeout: 250 * time.Millisecond, ElectionTimeout: 250 * time.Millisecond,
			LeaderLeaseTimeout: 125 * time.Millisecond, CommitTimeout: 10 * time.Millisecond, FailAfter: 750 * time.Millisecond},
		Kafka:          Kafka{Brokers: tn.brokers, Topics: []string{"events"}, AlertsTopic: "alerts"},
		Node:           node.Config{CommitInterval: 20 * time.Millisecond, CheckpointInterval: -1},
		ReportInterval: 50 * time.Millisecond,
	}
	tn.start()
	t.Cleanup(func() { tn.stop() })
	return tn
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start opens and runs the node, and serves its API; stop undoes it.
func (tn *testNode) start() {
	t := tn.t
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := tn.cfg
	cfg.Raft.APIAddr = ln.Addr().String()
	n, err := Open(t.Context(), cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	tn.Node, tn.addr = n, ln.Addr().String()
	srv := httptest.NewUnstartedServer(api.New(n.Front(), api.Options{Cluster: n, Collectors: []prometheus.Collector{n.Collector()}}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- n.Run(ctx) }()
	tn.stop = func() {
		srv.Close()
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		tn.stop = func() {}
	}
	wctx, wcancel := context.WithTimeout(t.Context(), wait.DefaultTimeout)
	defer wcancel()
	if _, _, err := n.Raft().WaitLeader(wctx); err != nil {
		t.Fatal(err)
	}
}

// applyProbe applies workload.ProbePattern and waits until every
// partition matches with it.
func (tn *testNode) applyProbe(partitions int) {
	t := tn.t
	t.Helper()
	if _, diags, err := tn.Front().Apply(t.Context(), []node.File{{Name: "probe.motif", Source: []byte(workload.ProbePattern)}}); err != nil || diags.HasErrors() {
		t.Fatalf("apply: %v %v", err, diags)
	}
	wait.For(t, "every partition on the catalog", func() bool {
		live := 0
		for _, p := range tn.Status().GetPartitions() {
			if p.GetCatalogRevision() == 1 {
				live++
			}
		}
		return live == partitions
	})
}

// probe produces, to partition p, a probe then a big amount on card: one
// alert.
func (tn *testNode) probe(p int32, card string, minute int) {
	tn.t.Helper()
	at := time.Date(2026, 1, 1, 0, minute, 0, 0, time.UTC)
	kafkatest.Produce(tn.t, tn.brokers, "events", p,
		fmt.Appendf(nil, `{"type":"auth","time":%q,"card":%q,"amount":1}`, at.Format(time.RFC3339), card),
		fmt.Appendf(nil, `{"type":"auth","time":%q,"card":%q,"amount":900}`, at.Add(time.Minute).Format(time.RFC3339), card))
}

// scrape returns the samples of /metrics named motif_cluster_*, by name
// and labels as the text format writes them.
func (tn *testNode) scrape() map[string]float64 {
	tn.t.Helper()
	res, err := http.Get("http://" + tn.addr + "/metrics")
	if err != nil {
		tn.t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "motif_cluster_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			tn.t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		tn.t.Fatal(err)
	}
	return out
}

// series names the series of a partition of topic events.
func series(name string, p int) string {
	return fmt.Sprintf(`motif_cluster_partition_%s{partition="%d",topic="events"}`, name, p)
}

// /metrics shows, for every partition the node owns, its matching, and the
// cluster as the node sees it; a partition's series go when the node stops
// owning it.
func TestPartitionMetrics(t *testing.T) {
	tn := startNode(t, 2)
	tn.applyProbe(2)
	for p := range int32(2) {
		tn.probe(p, fmt.Sprintf("c%d", p), 0)
	}
	var got map[string]float64
	wait.For(t, "both partitions' events and alerts in /metrics", func() bool {
		got = tn.scrape()
		for p := range 2 {
			if got[series("events_in_total", p)] != 2 || got[series("alerts_total", p)] != 1 ||
				got[series("committed_offset", p)] != 2 {
				return false
			}
		}
		return true
	})
	for p := range 2 {
		for name, want := range map[string]float64{
			"events_late_total": 0, "dead_letters_total": 0, "takeovers_total": 1, "replayed_records_total": 0,
			"watermark_seconds": float64(time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC).Unix()),
		} {
			if v, ok := got[series(name, p)]; !ok || v != want {
				t.Errorf("%s = %v (present %v), want %v", series(name, p), v, ok, want)
			}
		}
		for _, name := range []string{"epoch", "partial_matches", "state_bytes", "busy_seconds_total"} {
			if _, ok := got[series(name, p)]; !ok {
				t.Errorf("no %s", series(name, p))
			}
		}
	}
	for name, want := range map[string]float64{
		"motif_cluster_is_leader": 1, "motif_cluster_partitions": 2, "motif_cluster_partitions_owned": 2,
		`motif_cluster_members{state="alive"}`: 1, `motif_cluster_members{state="lost"}`: 0,
		"motif_cluster_catalog_revision": 1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	for _, name := range []string{"motif_cluster_raft_term", "motif_cluster_raft_commit_index", "motif_cluster_raft_applied_index"} {
		if got[name] < 1 {
			t.Errorf("%s = %v, want at least 1", name, got[name])
		}
	}
	wait.For(t, "the lag of both partitions", func() bool {
		got = tn.scrape()
		_, ok0 := got[series("lag_records", 0)]
		_, ok1 := got[series("lag_records", 1)]
		return ok0 && ok1
	})

	// events/1 is dropped from the cluster: its series go.
	if err := tn.Raft().SetPartitions(t.Context(), []raftstate.Partition{{Topic: "events", Partition: 0}}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "events/1's series to go", func() bool {
		got = tn.scrape()
		for name := range got {
			if strings.Contains(name, `partition="1"`) {
				return false
			}
		}
		return got["motif_cluster_partitions_owned"] == 1
	})
	if got[series("events_in_total", 0)] != 2 {
		t.Errorf("events/0's series went too: %v", got)
	}
}

// Each owner records its partitions' lag with their progress: the
// replicated state and the status carry it.
func TestStatusLag(t *testing.T) {
	tn := startNode(t, 2)
	tn.applyProbe(2)
	tn.probe(0, "c0", 0)
	tn.probe(1, "c1", 0)
	wait.For(t, "the lag recorded in the replicated state", func() bool {
		for _, ps := range tn.Raft().State().Partitions() {
			if ps.CheckpointEpoch == 0 || ps.Checkpoint.Lag != 0 || ps.Checkpoint.Offset != 2 {
				return false
			}
		}
		return true
	})
	for _, p := range tn.Status().GetPartitions() {
		if p.GetLag() != 0 {
			t.Errorf("status of %s/%d: lag %d, want 0", p.GetTopic(), p.GetPartition(), p.GetLag())
		}
	}
}

// CreateCheckpoint on a cluster member checkpoints its own store and every
// partition's, and says so.
func TestCheckpointPartitions(t *testing.T) {
	tn := startNode(t, 2)
	tn.applyProbe(2)
	res, err := AdminClient(tn.addr, "").CreateCheckpoint(t.Context(),
		connect.NewRequest(&motifv1.CreateCheckpointRequest{SavepointName: "before-upgrade"}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Msg.GetCheckpoint().GetSavepointName() != "before-upgrade" {
		t.Errorf("the member's own savepoint: %v", res.Msg.GetCheckpoint())
	}
	parts := res.Msg.GetPartitions()
	if len(parts) != 2 {
		t.Fatalf("partitions = %v, want 2", parts)
	}
	for i, p := range parts {
		if p.GetTopic() != "events" || p.GetPartition() != uint32(i) || p.GetEpoch() == 0 || p.GetError() != "" ||
			p.GetCheckpoint().GetSavepointName() != "before-upgrade" {
			t.Errorf("partition %d: %v", i, p)
		}
		dir := filepath.Join(tn.cfg.Dir, "partitions", fmt.Sprintf("events-%d", i), "savepoints", "before-upgrade")
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("partition %d: %v", i, err)
		}
	}
	// Again under the same name: the member's own store refuses it.
	_, err = AdminClient(tn.addr, "").CreateCheckpoint(t.Context(),
		connect.NewRequest(&motifv1.CreateCheckpointRequest{SavepointName: "before-upgrade"}))
	if connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Errorf("the same savepoint again: %v, want AlreadyExists", err)
	}
	// A checkpoint without a name, after events.
	tn.probe(1, "c1", 0)
	res, err = AdminClient(tn.addr, "").CreateCheckpoint(t.Context(), connect.NewRequest(&motifv1.CreateCheckpointRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range res.Msg.GetPartitions() {
		if p.GetCheckpoint() == nil || p.GetError() != "" {
			t.Errorf("partition %d: %v", i, p)
		}
	}
	st, err := AdminClient(tn.addr, "").GetStatus(t.Context(), connect.NewRequest(&motifv1.GetStatusRequest{}))
	if err != nil || st.Msg.GetLastCheckpointFailure() != nil {
		t.Errorf("status: %v, last failure %v", err, st.Msg.GetLastCheckpointFailure())
	}
}

// A partition whose store is gone is taken over from Kafka when the node
// restarts: the records up to where its delivered alerts end are replayed,
// counted in /metrics, and no alert is delivered twice.
func TestTakeoverMetrics(t *testing.T) {
	tn := startNode(t, 1)
	tn.applyProbe(1)
	tn.probe(0, "c1", 0)
	alerts := func() int { return len(kafkatest.ReadAll(t, tn.brokers, "alerts")) }
	wait.For(t, "the first alert delivered", func() bool { return alerts() == 1 })
	tn.probe(0, "c2", 5)
	wait.For(t, "the second alert delivered", func() bool { return alerts() == 2 })

	tn.stop()
	if err := os.RemoveAll(filepath.Join(tn.cfg.Dir, "partitions", "events-0")); err != nil {
		t.Fatal(err)
	}
	tn.start()
	wait.For(t, "the takeover's replay in /metrics", func() bool {
		got := tn.scrape()
		return got[series("takeovers_total", 0)] == 1 && got[series("replayed_records_total", 0)] == 2 &&
			got[series("committed_offset", 0)] == 4
	})
	if n := alerts(); n != 2 {
		t.Errorf("%d alerts in the topic after the takeover, want 2", n)
	}
}
