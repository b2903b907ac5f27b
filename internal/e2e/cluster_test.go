package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/cluster"
	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/internal/workload"
	"github.com/motifcep/motif/kafka/kafkatest"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

// member is one `motif serve` of a test cluster.
type member struct {
	id, raft string
	proc     *serveProc
	client   *client.Client
}

// freeAddrOn returns host:port with a port free right now on host.
func freeAddrOn(t testing.TB, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// quickFailover are the cluster tests' flags: partitions move after 1s,
// no periodic checkpoint.
var quickFailover = []string{"--fail-after", "1s", "--checkpoint-interval", "1h"}

// startCluster starts n members on 127.0.0.1..n (raft) reading topic
// "events" and writing "alerts": the first bootstraps the cluster and
// applies patternsFile, the others join it. extra are more flags for
// every member.
func startCluster(t testing.TB, bin, work, patternsFile string, brokers []string, n int, ready func(context.Context, *client.Client) error, extra ...string) []*member {
	t.Helper()
	var ms []*member
	for i := range n {
		m := &member{id: fmt.Sprintf("n%d", i+1), raft: freeAddrOn(t, fmt.Sprintf("127.0.0.%d", i+1))}
		args := append([]string{"--node-id", m.id, "--raft-addr", m.raft,
			"--kafka-brokers", strings.Join(brokers, ","), "--kafka-topics", "events", "--alerts-topic", "alerts",
			"--log-level", "info"}, extra...)
		if i == 0 {
			args = append(args, "--bootstrap", "--patterns", patternsFile)
		} else {
			args = append(args, "--join", ms[0].proc.addr)
		}
		m.proc = newServeProc(t, bin, filepath.Join(work, m.id), freeAddr(t), args...)
		if err := m.proc.start(t.Context(), ready); err != nil {
			t.Fatal(err)
		}
		c, err := client.New(m.proc.addr, client.WithRetry(1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		m.client = c
		ms = append(ms, m)
	}
	return ms
}

// clusterStatus asks the first member in ms that answers.
func clusterStatus(ms []*member, skip ...*member) *motifv1.ClusterStatus {
	for _, m := range ms {
		if slices.Contains(skip, m) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := m.client.Status(ctx)
		cancel()
		if err == nil && st.GetCluster() != nil {
			return st.GetCluster()
		}
	}
	return nil
}

// owners counts the partitions each member owns; "" counts unassigned
// ones.
func owners(cs *motifv1.ClusterStatus) map[string]int {
	out := map[string]int{}
	for _, p := range cs.GetPartitions() {
		out[p.GetOwner()]++
	}
	return out
}

// balancedOver reports whether every partition is owned by one of ids,
// each owning its share (within one).
func balancedOver(cs *motifv1.ClusterStatus, parts int, ids ...string) bool {
	if cs == nil || len(cs.GetPartitions()) != parts {
		return false
	}
	own := owners(cs)
	for o, n := range own {
		if !slices.Contains(ids, o) || n < parts/len(ids) || n > (parts+len(ids)-1)/len(ids) {
			return false
		}
	}
	return len(own) == len(ids)
}

// A three-node cluster over a topic of six partitions, events flowing:
// the node owning the most partitions is killed with SIGKILL, its
// partitions move and are taken over (their state rebuilt from Kafka);
// it restarts and rejoins, and partitions move back; then the leader is
// killed the same way and restarts; then a node is frozen (SIGSTOP, as a
// network partition would cut it off) until its partitions have moved, and
// thawed while its old sinks still hold alerts. Through all of it the
// alert topic, read with read_committed, holds exactly `motif replay`'s
// alerts, each once.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the motif binary")
	}
	bin, work, patternsFile, lines, tick, want := fraudReplayed(t)
	const parts = 6
	brokers := kafkatest.Cluster(t, map[string]int32{"events": parts, "alerts": 1})
	per := make([][][]byte, parts)
	for _, l := range lines {
		p := keyNumber(t, l) % parts
		per[p] = append(per[p], l)
	}
	ms := startCluster(t, bin, work, patternsFile, brokers, 3, fraudPatternsServed, quickFailover...)
	ids := []string{"n1", "n2", "n3"}
	wait.Within(t, 30*time.Second, "partitions spread over three nodes", func() bool {
		return balancedOver(clusterStatus(ms), parts, ids...)
	})
	// The replay the alerts are checked against matched every event with
	// the patterns: so must the partitions, from their first record.
	wait.Within(t, 30*time.Second, "the patterns installed in every partition", func() bool {
		return patternsEverywhere(ms, parts)
	})

	const chunks = 5
	chunk := func(k int) {
		for p := range parts {
			from, to := len(per[p])*k/chunks, len(per[p])*(k+1)/chunks
			vals := slices.Clone(per[p][from:to])
			if k == chunks-1 {
				vals = append(vals, tick)
			}
			if len(vals) > 0 {
				kafkatest.Produce(t, brokers, "events", int32(p), vals...)
			}
		}
	}
	alerted := func() int { return len(kafkatest.ReadAll(t, brokers, "alerts")) }
	byID := func(id string) *member {
		for _, m := range ms {
			if m.id == id {
				return m
			}
		}
		t.Fatalf("no member %s", id)
		return nil
	}
	// failover kills victim, waits for its partitions to move to the
	// others, restarts it and waits for the partitions to come back.
	failover := func(victim *member) {
		t.Helper()
		victim.proc.kill()
		start := time.Now()
		rest := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == victim.id })
		wait.Within(t, 30*time.Second, "partitions of "+victim.id+" to move", func() bool {
			return balancedOver(clusterStatus(ms, victim), parts, rest...)
		})
		t.Logf("%s killed: its partitions moved in %v", victim.id, time.Since(start).Round(time.Millisecond))
		if err := victim.proc.start(t.Context(), fraudPatternsServed); err != nil {
			t.Fatal(err)
		}
		wait.Within(t, 30*time.Second, "partitions back on three nodes", func() bool {
			return balancedOver(clusterStatus(ms), parts, ids...)
		})
	}

	chunk(0)
	before := alerted()
	wait.Within(t, 30*time.Second, "alerts of the first chunk", func() bool { return alerted() > before })
	cs := clusterStatus(ms)
	most := ""
	for id, n := range owners(cs) {
		if id != cs.GetLeaderId() && (most == "" || n > owners(cs)[most]) {
			most = id
		}
	}
	chunk(1)
	failover(byID(most))

	chunk(2)
	failover(byID(clusterStatus(ms).GetLeaderId()))

	// Frozen, as if cut off by the network: the others take its
	// partitions under new epochs; thawed, it must not deliver an alert
	// for them.
	cs = clusterStatus(ms)
	frozen := byID(ids[0])
	if frozen.id == cs.GetLeaderId() {
		frozen = byID(ids[1])
	}
	chunk(3)
	frozen.proc.signal(t, syscall.SIGSTOP)
	rest := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == frozen.id })
	wait.Within(t, 30*time.Second, "partitions of the frozen node to move", func() bool {
		return balancedOver(clusterStatus(ms, frozen), parts, rest...)
	})
	chunk(4)
	frozen.proc.signal(t, syscall.SIGCONT)
	wait.Within(t, 30*time.Second, "partitions back on three nodes", func() bool {
		return balancedOver(clusterStatus(ms), parts, ids...)
	})

	if !wait.Until(90*time.Second, func() bool { return alerted() >= len(want) }) {
		describeStall(t, brokers, ms, parts, want)
		t.Fatalf("timed out after %v waiting for every alert in the alert topic", 90*time.Second)
	}
	checkAlertTopic(t, brokers, "alerts", want)
	takeovers, replays := 0, 0
	for _, m := range ms {
		if err := m.proc.died(); err != nil {
			t.Errorf("%s: %v", m.id, err)
		}
		log := m.proc.log()
		takeovers += strings.Count(log, "taking the partition over")
		replays += strings.Count(log, "replay done")
	}
	// Every move after the first assignment rebuilt state from Kafka; at
	// least one replayed records whose alerts were already delivered.
	t.Logf("%d alerts; %d takeovers, %d of them replayed delivered records", len(want), takeovers, replays)
	if replays == 0 {
		t.Error("no takeover replayed records with alerts suppressed: the test did not exercise it")
	}
}

// patternsEverywhere reports whether every one of parts partitions runs
// with the cluster's current catalog, as its owner reports it.
func patternsEverywhere(ms []*member, parts int) bool {
	running := 0
	for _, m := range ms {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := m.client.Status(ctx)
		cancel()
		cs := st.GetCluster()
		if err != nil || cs == nil || cs.GetCatalogRevision() == 0 {
			return false
		}
		for _, p := range cs.GetPartitions() {
			if p.GetOwner() == m.id && p.GetCatalogRevision() == cs.GetCatalogRevision() {
				running++
			}
		}
	}
	return running == parts
}

// describeStall logs what a test needs to tell where alerts stopped: the
// alerts wanted and delivered per input partition, the alert topic's
// stable and high offsets (they differ while a transaction is open), and
// the cluster's view of every partition.
func describeStall(t *testing.T, brokers []string, ms []*member, parts int, want []string) {
	t.Helper()
	per := func(alerts []string) []int {
		n := make([]int, parts+1)
		for _, a := range alerts {
			if m := alertKeyNum.FindStringSubmatch(a); m != nil {
				n[atoi(m[1])%parts]++
			} else {
				n[parts]++
			}
		}
		return n
	}
	var got []string
	for _, r := range kafkatest.ReadAll(t, brokers, "alerts") {
		got = append(got, string(r.Value))
	}
	wantN, gotN := per(want), per(got)
	t.Logf("alerts per input partition (last: no key found): want %v, delivered %v", wantN, gotN)
	for p := range parts {
		if wantN[p] == gotN[p] {
			continue
		}
		for _, a := range want {
			if m := alertKeyNum.FindStringSubmatch(a); m != nil && atoi(m[1])%parts == p && !slices.ContainsFunc(got, func(g string) bool { return stripDetected([]byte(g)) == a }) {
				t.Logf("partition %d: missing %s", p, a)
			}
		}
		part, sink := fmt.Sprintf("partition=events/%d ", p), fmt.Sprintf("sink=motif-events-%d ", p)
		for _, m := range ms {
			for l := range strings.Lines(m.proc.log()) {
				if strings.Contains(l, part) || strings.Contains(l, sink) || strings.Contains(l, "=== start") {
					t.Logf("%s: %s", m.id, strings.TrimSpace(l))
				}
			}
		}
	}
	stable, high := kafkatest.Bounds(t, brokers, "alerts")
	t.Logf("alert topic: last stable offsets %v, high watermarks %v", stable, high)
	for _, p := range clusterStatus(ms).GetPartitions() {
		t.Logf("partition %v", p)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

var alertKeyNum = regexp.MustCompile(`"key":"[cu](\d+)"`)

// signal sends sig to the running server.
func (p *serveProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil {
		t.Fatal("not running")
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// A pattern applied on a follower is committed through the leader and
// matched by every node's partitions; every node's Subscribe serves the
// whole cluster's alerts from the alert topic, with cursors that mean the
// same on every node.
func TestClusterApplyOnFollower(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the motif binary")
	}
	bin := buildMotif(t)
	work := t.TempDir()
	empty := filepath.Join(work, "none.motif")
	if err := os.WriteFile(empty, []byte("event auth { card: string, amount: number }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const parts = 3
	brokers := kafkatest.Cluster(t, map[string]int32{"events": parts, "alerts": 1})
	up := func(ctx context.Context, c *client.Client) error {
		_, err := c.Status(ctx)
		return err
	}
	ms := startCluster(t, bin, work, empty, brokers, 3, up, quickFailover...)
	wait.Within(t, 30*time.Second, "partitions spread over three nodes", func() bool {
		return balancedOver(clusterStatus(ms), parts, "n1", "n2", "n3")
	})
	leader := clusterStatus(ms).GetLeaderId()
	var follower *member
	for _, m := range ms {
		if m.id != leader {
			follower = m
		}
	}
	res, err := follower.client.ApplyPatterns(t.Context(), client.File{Name: "probe.motif", Content: []byte(workload.ProbePattern)})
	if err != nil {
		t.Fatalf("apply on follower %s: %v", follower.id, err)
	}
	if len(res.Changes) != 1 || res.Changes[0].Version != 1 {
		t.Fatalf("apply on follower: %+v", res.Changes)
	}
	for _, m := range ms {
		wait.Within(t, 10*time.Second, "the pattern on "+m.id, func() bool {
			_, err := m.client.GetPattern(t.Context(), "probe", 0)
			return err == nil
		})
	}
	// Live on a partition once its owner matches with the new revision.
	rev := clusterStatus(ms).GetCatalogRevision()
	wait.Within(t, 10*time.Second, "every partition on the new catalog", func() bool {
		live := 0
		for _, m := range ms {
			for _, p := range clusterStatus([]*member{m}).GetPartitions() {
				if p.GetCatalogRevision() >= rev {
					live++
				}
			}
		}
		return live == parts
	})
	// A probe then a big amount on one card of every partition: each
	// partition's owner raises one alert.
	for p := range parts {
		card := fmt.Sprintf("c%d", p)
		kafkatest.Produce(t, brokers, "events", int32(p),
			[]byte(fmt.Sprintf(`{"type":"auth","time":"2026-01-01T00:00:00Z","card":%q,"amount":1}`, card)),
			[]byte(fmt.Sprintf(`{"type":"auth","time":"2026-01-01T00:01:00Z","card":%q,"amount":900}`, card)))
	}

	// Every node serves all of them, under the same sequence numbers.
	collect := func(m *member, from client.Cursor, n int) []client.Alert {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		var got []client.Alert
		for a, err := range m.client.Subscribe(ctx, from, client.Filter{}) {
			if err != nil {
				t.Fatalf("subscribe on %s: %v", m.id, err)
			}
			got = append(got, a)
			if len(got) == n {
				break
			}
		}
		return got
	}
	first := collect(ms[0], client.FromStart(), parts)
	if n := len(kafkatest.ReadAll(t, brokers, "alerts")); n != parts {
		t.Fatalf("%d alerts in the topic, want %d", n, parts)
	}
	for _, m := range ms[1:] {
		got := collect(m, client.FromStart(), parts)
		for i := range got {
			if got[i].Seq != first[i].Seq || got[i].Alert.GetId() != first[i].Alert.GetId() {
				t.Errorf("%s alert %d = seq %d id %s; %s has seq %d id %s", m.id, i, got[i].Seq, got[i].Alert.GetId(),
					ms[0].id, first[i].Seq, first[i].Alert.GetId())
			}
		}
		// A cursor from one node resumes on another.
		rest := collect(m, client.After(first[0].Seq), parts-1)
		if rest[0].Alert.GetId() != first[1].Alert.GetId() {
			t.Errorf("after seq %d on %s: %s, want %s", first[0].Seq, m.id, rest[0].Alert.GetId(), first[1].Alert.GetId())
		}
	}

	// Every member shows the lag of every partition: live for its own,
	// as recorded by their owners for the others.
	for _, m := range ms {
		wait.Within(t, 10*time.Second, "every partition's lag on "+m.id, func() bool {
			ps := clusterStatus([]*member{m}).GetPartitions()
			for _, p := range ps {
				if p.GetLag() != 0 {
					return false
				}
			}
			return len(ps) == parts
		})
	}
	checkClusterMetrics(t, ms, leader, parts)

	// A checkpoint on a member checkpoints the partition it owns too.
	res2, err := cluster.AdminClient(follower.proc.addr, "").CreateCheckpoint(t.Context(),
		connect.NewRequest(&motifv1.CreateCheckpointRequest{}))
	if err != nil {
		t.Fatalf("checkpoint on %s: %v", follower.id, err)
	}
	if cps := res2.Msg.GetPartitions(); len(cps) != 1 || cps[0].GetError() != "" || cps[0].GetCheckpoint() == nil {
		t.Errorf("checkpoint on %s: partitions %v, want its one partition checkpointed", follower.id, cps)
	}

	// motif status on any member shows the cluster.
	out, err := exec.Command(bin, "status", "--server", follower.proc.addr).CombinedOutput()
	if err != nil {
		t.Fatalf("motif status: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{"leader " + leader, "MEMBER", "n1", "n2", "n3", "TOPIC", "events"} {
		if !strings.Contains(text, want) {
			t.Errorf("motif status lacks %q:\n%s", want, text)
		}
	}
	rows := 0
	for line := range strings.Lines(text) {
		if f := strings.Fields(line); len(f) == 7 && f[0] == "events" {
			rows++
			if f[5] != "0" { // TOPIC PARTITION OWNER EPOCH COMMITTED LAG WATERMARK
				t.Errorf("motif status: %q: lag %s, want 0", strings.TrimSpace(line), f[5])
			}
		}
	}
	if rows != parts {
		t.Errorf("motif status shows %d partitions, want %d:\n%s", rows, parts, text)
	}
}

// checkClusterMetrics checks each member's /metrics: the series of the
// partitions it owns (each matched two events), none of the others', and
// the cluster as it sees it.
func checkClusterMetrics(t *testing.T, ms []*member, leader string, parts int) {
	t.Helper()
	cs := clusterStatus(ms)
	for _, m := range ms {
		url := "http://" + m.proc.addr
		wait.Within(t, 10*time.Second, "the partitions of "+m.id+" in its /metrics", func() bool {
			for _, p := range cs.GetPartitions() {
				got := metric(t, url, fmt.Sprintf(`motif_cluster_partition_events_in_total{partition="%d",topic="events"}`, p.GetPartition()))
				if p.GetOwner() == m.id && got != "2" || p.GetOwner() != m.id && got != "" {
					return false
				}
			}
			return true
		})
		isLeader := "0"
		if m.id == leader {
			isLeader = "1"
		}
		for name, want := range map[string]string{
			"motif_cluster_is_leader":              isLeader,
			`motif_cluster_members{state="alive"}`: "3",
			"motif_cluster_partitions":             strconv.Itoa(parts),
			"motif_cluster_partitions_owned":       strconv.Itoa(owners(cs)[m.id]),
		} {
			if got := metric(t, url, name); got != want {
				t.Errorf("%s: %s = %q, want %q", m.id, name, got, want)
			}
		}
	}
}
