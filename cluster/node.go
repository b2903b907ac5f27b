package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/kafka"
	"github.com/motifcep/motif/node"
	"github.com/motifcep/motif/pattern"
	"github.com/motifcep/motif/pipeline"
	"github.com/motifcep/motif/raftstate"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults of Config fields left at zero.
const (
	DefaultReportInterval = time.Second
	DefaultSinkPrefix     = "motif-"
)

// Kafka is what a cluster reads and writes in Kafka.
type Kafka struct {
	Brokers         []string
	Topics          []string // the event topics: every partition is matched
	AlertsTopic     string   // required: alerts go there, exactly once
	DeadLetterTopic string   // optional
	ClientOpts      []kgo.Opt
}

// Config configures a cluster node.
type Config struct {
	// NodeID names the node in the cluster, for good.
	NodeID string
	// Dir is the node's data directory: Dir/raft (replicated state),
	// Dir/front (the API's catalog and mirrored alerts),
	// Dir/partitions/<topic>-<partition> (a partition's matching state).
	Dir string
	// Raft configures the replicated state; NodeID, Dir, Forward and
	// Logger are set from this Config.
	Raft raftstate.Config
	// Kafka is the cluster's input and output.
	Kafka Kafka
	// Node is the template of every partition's node (store options,
	// decoding, out-of-orderness, default window, commit and checkpoint
	// intervals); CacheBytes is shared among the partitions owned.
	Node node.Config
	// SinkPrefix starts every partition's sink id (DefaultSinkPrefix); the
	// clusters sharing one Kafka need different ones.
	SinkPrefix string
	// AlertsMaxLag holds a partition's matching while that many of its
	// alerts wait for the alert topic (0: never).
	AlertsMaxLag uint64
	// ReportInterval is how often owners record their partitions' progress
	// in the replicated state (DefaultReportInterval).
	ReportInterval time.Duration
	// Forward sends a follower's replicated writes to the leader's API
	// (see raftstate.Config.Forward).
	Forward func(ctx context.Context, leaderAPIAddr string, cmd []byte) (uint64, error)
	// Token is presented to other members' APIs (joins forwarded to the
	// leader).
	Token string

	Logger *slog.Logger
}

// Node is one member of a cluster. Open it, then Run it.
type Node struct {
	cfg   Config
	log   *slog.Logger
	raft  *raftstate.Cluster
	front *node.Node
	dead  *kafka.DeadLetters
	parts []raftstate.Partition

	mu      sync.Mutex // guards workers and counts
	workers map[raftstate.Partition]*worker
	counts  map[raftstate.Partition]*partitionCounts
	// frontRev is the catalog revision the front node's catalog came from.
	frontRev atomic.Uint64
}

// Open starts the node's raft and its front node; Run starts matching.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.NodeID == "" || cfg.Dir == "" {
		return nil, errors.New("cluster: a node id and a data directory are required")
	}
	if len(cfg.Kafka.Brokers) == 0 || len(cfg.Kafka.Topics) == 0 || cfg.Kafka.AlertsTopic == "" {
		return nil, errors.New("cluster: Kafka brokers, topics and an alert topic are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = DefaultReportInterval
	}
	if cfg.SinkPrefix == "" {
		cfg.SinkPrefix = DefaultSinkPrefix
	}
	c := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeID), workers: map[raftstate.Partition]*worker{},
		counts: map[raftstate.Partition]*partitionCounts{}}
	tps, err := kafka.ResolvePartitions(ctx, kafka.SourceConfig{Brokers: cfg.Kafka.Brokers, Topics: cfg.Kafka.Topics,
		ClientOpts: cfg.Kafka.ClientOpts, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	for _, tp := range tps {
		c.parts = append(c.parts, raftstate.Partition{Topic: tp.Topic, Partition: tp.Partition})
	}
	if cfg.Kafka.DeadLetterTopic != "" {
		if c.dead, err = kafka.NewDeadLetters(ctx, kafka.DeadLetterConfig{Brokers: cfg.Kafka.Brokers, Logger: cfg.Logger,
			ClientOpts: cfg.Kafka.ClientOpts}, cfg.Kafka.DeadLetterTopic); err != nil {
			return nil, err
		}
	}
	rc := cfg.Raft
	rc.NodeID, rc.Dir, rc.Forward, rc.Logger = cfg.NodeID, cfg.Dir, cfg.Forward, cfg.Logger
	if c.raft, err = raftstate.Open(rc); err != nil {
		c.closeDead()
		return nil, err
	}
	fc := cfg.Node
	fc.Dir = filepath.Join(cfg.Dir, "front")
	fc.ID = cfg.NodeID
	fc.Input = noInput{}
	fc.Catalog = c.raft.State().Catalog().Doc
	fc.CommitCatalog = c.commitCatalog
	fc.CheckpointInterval = -1
	c.frontRev.Store(c.raft.State().Catalog().Revision)
	if c.front, err = node.Open(fc); err != nil {
		c.raft.Close()
		c.closeDead()
		return nil, err
	}
	return c, nil
}

func (c *Node) closeDead() {
	if c.dead != nil {
		c.dead.Close()
	}
}

// Front is the node the API serves: the catalog (changes go through the
// cluster) and the alerts mirrored from the alert topic.
func (c *Node) Front() *node.Node { return c.front }

// Raft is the node's replicated state.
func (c *Node) Raft() *raftstate.Cluster { return c.raft }

// Run matches the partitions the node owns until ctx ends, following the
// replicated state: catalog changes are installed, partitions started and
// stopped as ownership moves.
func (c *Node) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	frontDone := make(chan error, 1)
	go func() { frontDone <- c.front.Run(ctx) }()
	go c.setPartitions(ctx)
	go c.mirror(ctx)
	defer c.stopAll()
	for {
		changed := c.raft.Changed()
		c.reconcile(ctx)
		select {
		case <-ctx.Done():
			<-frontDone
			return nil
		case err := <-frontDone:
			return err
		case <-changed:
		case <-time.After(time.Second):
			// A worker that ended by itself (fenced) is started again if
			// the state still says the partition is ours.
		}
	}
}

// Close releases the node; Run must have returned.
func (c *Node) Close() error {
	err := c.front.Close()
	if e := c.raft.Close(); err == nil {
		err = e
	}
	c.closeDead()
	return err
}

// setPartitions records the partitions of the topics in the cluster,
// retrying until it succeeds (it needs a leader).
func (c *Node) setPartitions(ctx context.Context) {
	for ctx.Err() == nil {
		known := true
		for _, p := range c.parts {
			if _, ok := c.raft.State().Partition(p); !ok {
				known = false
			}
		}
		if known {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.raft.SetPartitions(rctx, c.parts)
		cancel()
		if err == nil {
			return
		}
		c.log.Debug("cannot record the partitions yet", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// reconcile installs a new catalog and starts and stops partition workers
// to match the replicated state.
func (c *Node) reconcile(ctx context.Context) {
	st := c.raft.State()
	if cat := st.Catalog(); cat.Doc != nil {
		// Installing waits for a pattern change in progress (which may be
		// waiting for raft): no lock of this node is held meanwhile.
		if cat.Revision != c.frontRev.Load() {
			if err := c.front.InstallCatalog(ctx, cat.Doc); err != nil {
				c.log.Error("cannot install the cluster's catalog", "revision", cat.Revision, "err", err)
			} else {
				c.frontRev.Store(cat.Revision)
			}
		}
		c.mu.Lock()
		var nodes []*worker
		for _, w := range c.workers {
			if w.rev.Load() != cat.Revision {
				nodes = append(nodes, w)
			}
		}
		c.mu.Unlock()
		for _, w := range nodes {
			if nd, _ := w.node(); nd != nil {
				if err := nd.InstallCatalog(ctx, cat.Doc); err != nil && ctx.Err() == nil {
					c.log.Error("cannot install the cluster's catalog", "partition", w.part.String(), "err", err)
				} else if err == nil {
					w.rev.Store(cat.Revision)
				}
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	owned := map[raftstate.Partition]uint64{}
	for _, ps := range st.Owned(c.cfg.NodeID) {
		owned[ps.Partition] = ps.Epoch
	}
	for p, w := range c.workers {
		select {
		case <-w.done:
			delete(c.workers, p)
			continue
		default:
		}
		if epoch, ok := owned[p]; !ok || epoch != w.epoch {
			c.log.Info("partition no longer owned under this epoch: stopping it", "partition", p.String(), "epoch", w.epoch)
			w.cancel()
			<-w.done
			delete(c.workers, p)
		}
	}
	for p, epoch := range owned {
		if _, ok := c.workers[p]; ok {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		counts := c.counts[p]
		if counts == nil {
			counts = &partitionCounts{}
			c.counts[p] = counts
		}
		w := &worker{part: p, epoch: epoch, cancel: cancel, done: make(chan struct{}), counts: counts}
		w.lag.Store(raftstate.LagUnknown)
		c.workers[p] = w
		c.log.Info("partition assigned: starting it", "partition", p.String(), "epoch", epoch)
		go c.run(wctx, w)
	}
}

func (c *Node) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, w := range c.workers {
		w.cancel()
		<-w.done
		delete(c.workers, p)
	}
}

// workerCache is each partition's share of the cache.
func (c *Node) workerCache() int64 {
	total := c.cfg.Node.CacheBytes
	if total <= 0 {
		return 0
	}
	n := max(1, len(c.raft.State().Owned(c.cfg.NodeID)))
	return max(total/int64(n), 1<<20)
}

// commitCatalog commits a catalog change of the front node through the
// cluster, from the revision the front node's catalog came from.
func (c *Node) commitCatalog(ctx context.Context, doc []byte) error {
	cat, err := c.raft.ApplyCatalog(ctx, c.frontRev.Load(), doc)
	if errors.Is(err, raftstate.ErrStaleRevision) {
		return fmt.Errorf("%w: the catalog changed on another node meanwhile; try again", node.ErrConflict)
	}
	if err != nil {
		return err
	}
	c.frontRev.Store(cat.Revision)
	return nil
}

// longestWindow is the longest time a partial match or a suppression of
// the catalog's running versions spans; bounded is false if one has no
// window (within none).
func longestWindow(doc []byte, defaultWithin time.Duration) (time.Duration, bool, error) {
	if defaultWithin <= 0 {
		defaultWithin = 24 * time.Hour
	}
	var cat struct {
		Patterns map[string]struct {
			Versions []struct {
				State  string `json:"state"`
				Text   string `json:"text"`
				Events string `json:"events"`
			} `json:"versions"`
		} `json:"patterns"`
	}
	if len(doc) == 0 {
		return 0, true, nil
	}
	if err := json.Unmarshal(doc, &cat); err != nil {
		return 0, false, fmt.Errorf("cluster: catalog document: %w", err)
	}
	var longest time.Duration
	for _, p := range cat.Patterns {
		for _, v := range p.Versions {
			if v.State == node.StateRetired {
				continue
			}
			f, diags := pattern.Parse("catalog", []byte(v.Events+"\n"+v.Text))
			if diags.HasErrors() || f == nil {
				return 0, false, fmt.Errorf("cluster: catalog pattern: %v", diags)
			}
			for _, d := range f.Decls {
				pd, ok := d.(*pattern.PatternDecl)
				if !ok {
					continue
				}
				w := defaultWithin
				if pd.Within != nil {
					if pd.Within.None {
						return 0, false, nil
					}
					w = pd.Within.Dur.Value
				}
				if pd.Suppress != nil && pd.Suppress.Dur != nil {
					w = max(w, pd.Suppress.Dur.Value)
				}
				longest = max(longest, w)
			}
		}
	}
	return longest, true, nil
}

// replayStart finds the first offset of tp whose event time is within
// back of the time of the record before end: where a replay up to end
// must start to rebuild every partial match open at end. Event times
// within a partition are ordered up to the out-of-orderness, which back
// includes twice; a binary search over the offsets finds the boundary.
func (c *Node) replayStart(ctx context.Context, tp kafka.TopicPartition, end uint64, back time.Duration) (uint64, error) {
	dec := event.NewDecoder(event.NewSchema(), c.cfg.Node.Decoder)
	probe := func(off uint64) (uint64, int64, error) {
		return c.recordTime(ctx, tp, off, dec)
	}
	lo, _, err := probe(0) // the first retained record
	if err != nil {
		return 0, err
	}
	if end <= lo+1 {
		return lo, nil
	}
	_, last, err := probe(end - 1)
	if err != nil {
		return 0, err
	}
	target := last - back.Nanoseconds()
	hi := end - 1 // time(hi) >= target
	for lo < hi {
		mid := lo + (hi-lo)/2
		at, t, err := probe(mid)
		if err != nil {
			return 0, err
		}
		if at >= hi {
			break
		}
		if t >= target {
			hi = mid
		} else {
			lo = at + 1
		}
	}
	return lo, nil
}

// recordTime reads the first record of tp at or after off and returns its
// offset and event time (the record's timestamp if the event has none).
func (c *Node) recordTime(ctx context.Context, tp kafka.TopicPartition, off uint64, dec *event.Decoder) (uint64, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	src, err := kafka.NewSource(ctx, kafka.SourceConfig{Brokers: c.cfg.Kafka.Brokers, Partitions: []kafka.TopicPartition{tp},
		Start:  func(kafka.TopicPartition) (int64, bool) { return int64(off), off > 0 },
		Logger: c.log, ClientOpts: c.cfg.Kafka.ClientOpts, MaxPollRecords: 1})
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	var at uint64
	var t int64
	found := false
	for !found {
		if _, err := src.Poll(ctx, func(_ int, r *kafka.Record) bool {
			at, found = uint64(r.Offset), true
			var ev event.Event
			if dec.Decode(r.Value, &ev) == nil && ev.Time != 0 {
				t = ev.Time
			} else {
				t = r.Timestamp.UnixNano()
			}
			return false
		}); err != nil {
			return 0, 0, fmt.Errorf("cluster: read %s at %d: %w", tp, off, err)
		}
	}
	return at, t, nil
}

// noInput is the front node's input: one partition that never has a
// record (the front node matches nothing; partitions are the workers').
type noInput struct{}

func (noInput) Partitions() []pipeline.Partition {
	return []pipeline.Partition{{Source: "cluster", Partition: 0}}
}
func (noInput) Open(context.Context, []*uint64) error { return nil }
func (noInput) Read(int, func(int, uint64, pipeline.Record) bool) (int, error) {
	return 0, nil
}
func (noInput) Close() {}
