package cluster

import (
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/motifcep/motif/raftstate"
)

// The node's metrics of the cluster, for /metrics beside the front node's
// own (api.Options.Collectors): the cluster as this member sees it, and
// the matching of every partition it owns, labelled by topic and
// partition. Like the API's, they are read at scrape time. A partition's
// series exist while the replicated state says the node owns it and its
// worker runs; its counters count since its matching last started on this
// node, but for takeovers and replayed records, which count since the
// process started, across every time the node owned the partition.

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("motif_cluster_"+name, help, labels, nil)
}

var (
	mLeader     = desc("is_leader", "1 while this node is the cluster's raft leader.")
	mMembers    = desc("members", "Members of the cluster, by the state the leader last decided.", "state")
	mPartitions = desc("partitions", "Source partitions of the cluster.")
	mOwned      = desc("partitions_owned", "Source partitions this node owns.")
	mRevision   = desc("catalog_revision", "Catalog revision in force.")
	mTerm       = desc("raft_term", "This node's current raft term.")
	mCommit     = desc("raft_commit_index", "Last raft log index this node knows to be committed.")
	mApplied    = desc("raft_applied_index", "Last raft log index this node applied.")

	mPartEvents    = desc("partition_events_in_total", "Events of the partition matched (valid, not late).", "topic", "partition")
	mPartLate      = desc("partition_events_late_total", "Events of the partition older than its watermark, kept as dead letters.", "topic", "partition")
	mPartDead      = desc("partition_dead_letters_total", "Records of the partition kept as dead letters: invalid or late.", "topic", "partition")
	mPartAlerts    = desc("partition_alerts_total", "Alerts raised on the partition (not those dropped by a takeover's replay).", "topic", "partition")
	mPartWatermark = desc("partition_watermark_seconds", "Event-time watermark of the partition (Unix seconds).", "topic", "partition")
	mPartOffset    = desc("partition_committed_offset", "Next offset of the partition to match.", "topic", "partition")
	mPartLag       = desc("partition_lag_records", "Records of the partition not yet matched: its end (high watermark) minus the next offset; absent while unknown.", "topic", "partition")
	mPartPartials  = desc("partition_partial_matches", "Open partial matches of the partition, over every pattern version.", "topic", "partition")
	mPartState     = desc("partition_state_bytes", "Encoded bytes of the partition's key states as last written to its store.", "topic", "partition")
	mPartBusy      = desc("partition_busy_seconds_total", "Time the partition's matching spent working rather than waiting for input; its rate near 1 means it cannot keep up.", "topic", "partition")
	mPartEpoch     = desc("partition_epoch", "Ownership epoch under which this node matches the partition.", "topic", "partition")
	mPartTakeovers = desc("partition_takeovers_total", "Times this node took the partition over: rebuilt its state from Kafka instead of resuming its own store.", "topic", "partition")
	mPartReplayed  = desc("partition_replayed_records_total", "Records of the partition replayed to rebuild its state after a takeover, their alerts dropped.", "topic", "partition")
)

// metrics is the prometheus.Collector of a Node.
type metrics struct{ c *Node }

var _ prometheus.Collector = metrics{}

// Collector returns the collector of the node's cluster metrics.
func (c *Node) Collector() prometheus.Collector { return metrics{c} }

func (metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mLeader, mMembers, mPartitions, mOwned, mRevision, mTerm, mCommit, mApplied,
		mPartEvents, mPartLate, mPartDead, mPartAlerts, mPartWatermark, mPartOffset, mPartLag, mPartPartials,
		mPartState, mPartBusy, mPartEpoch, mPartTakeovers, mPartReplayed} {
		ch <- d
	}
}

func (m metrics) Collect(ch chan<- prometheus.Metric) {
	c := m.c
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	st := c.raft.State()
	rs := c.raft.Status()
	leader := 0.0
	if c.raft.IsLeader() {
		leader = 1
	}
	gauge(mLeader, leader)
	byState := map[raftstate.MemberState]int{}
	for _, mb := range st.Members() {
		byState[mb.State]++
	}
	for _, s := range []raftstate.MemberState{raftstate.MemberAlive, raftstate.MemberLost} {
		gauge(mMembers, float64(byState[s]), s.String())
	}
	owned := map[raftstate.Partition]uint64{}
	for _, ps := range st.Owned(c.cfg.NodeID) {
		owned[ps.Partition] = ps.Epoch
	}
	gauge(mPartitions, float64(len(st.Partitions())))
	gauge(mOwned, float64(len(owned)))
	gauge(mRevision, float64(st.Catalog().Revision))
	gauge(mTerm, float64(rs.Term))
	gauge(mCommit, float64(rs.CommitIndex))
	gauge(mApplied, float64(rs.AppliedIndex))

	c.mu.Lock()
	workers := slices.SortedFunc(maps.Values(c.workers), func(a, b *worker) int { return a.part.Compare(b.part) })
	c.mu.Unlock()
	for _, w := range workers {
		if epoch, ok := owned[w.part]; ok && epoch == w.epoch {
			collectPartition(ch, w)
		}
	}
}

// collectPartition collects the series of one partition the node owns.
func collectPartition(ch chan<- prometheus.Metric, w *worker) {
	labels := []string{w.part.Topic, strconv.FormatInt(int64(w.part.Partition), 10)}
	metric := func(d *prometheus.Desc, t prometheus.ValueType, v float64) {
		ch <- prometheus.MustNewConstMetric(d, t, v, labels...)
	}
	metric(mPartEpoch, prometheus.GaugeValue, float64(w.epoch))
	metric(mPartTakeovers, prometheus.CounterValue, float64(w.counts.takeovers.Load()))
	metric(mPartReplayed, prometheus.CounterValue, float64(w.counts.replayed.Load()))
	nd, _ := w.running()
	if nd == nil {
		return
	}
	st, err := nd.Status()
	if err != nil {
		return
	}
	c := st.Counters
	metric(mPartEvents, prometheus.CounterValue, float64(c.Events))
	metric(mPartLate, prometheus.CounterValue, float64(c.Late))
	metric(mPartDead, prometheus.CounterValue, float64(c.Invalid+c.Late))
	metric(mPartAlerts, prometheus.CounterValue, float64(c.Alerts))
	metric(mPartBusy, prometheus.CounterValue, c.Busy.Seconds())
	var partials, bytes int64
	for _, p := range c.Patterns {
		partials += max(p.PartialMatches, 0)
		bytes += max(p.StateBytes, 0)
	}
	metric(mPartPartials, prometheus.GaugeValue, float64(partials))
	metric(mPartState, prometheus.GaugeValue, float64(bytes))
	if len(st.Partitions) == 1 {
		p := st.Partitions[0]
		metric(mPartOffset, prometheus.GaugeValue, float64(p.Offset))
		if p.Watermark != math.MinInt64 && p.Watermark != math.MaxInt64 {
			metric(mPartWatermark, prometheus.GaugeValue, float64(p.Watermark)/1e9)
		}
	}
	if len(c.Partitions) == 1 && c.Partitions[0].Lag >= 0 {
		metric(mPartLag, prometheus.GaugeValue, float64(c.Partitions[0].Lag))
	}
}
