package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/kafka"
	"github.com/motifcep/motif/kafka/sink"
	"github.com/motifcep/motif/node"
	"github.com/motifcep/motif/pipeline"
	"github.com/motifcep/motif/raftstate"
)

// epochKey is the named record of a partition's store that says under
// which ownership epoch it was last written.
const epochKey = "cluster-epoch"

// position is the metadata a partition's sink commits with its position:
// the alerts below the position are those of the input up to Offset plus
// After more.
type position struct {
	Epoch  uint64 `json:"epoch"`
	Offset uint64 `json:"offset"`
	After  uint64 `json:"after"`
}

// worker matches one partition this node owns, under one epoch.
type worker struct {
	part   raftstate.Partition
	epoch  uint64
	cancel context.CancelFunc
	done   chan struct{}
	counts *partitionCounts

	mu  sync.Mutex
	nd  *node.Node
	snk *sink.Sink
	ctx context.Context // ends when nd stops running
	lag atomic.Int64    // as last reported; raftstate.LagUnknown before
	rev atomic.Uint64   // catalog revision installed
}

// partitionCounts are what this node counted of one partition since it
// started, across every time it owned it (see metrics.go).
type partitionCounts struct {
	takeovers atomic.Uint64 // state rebuilt from Kafka rather than resumed
	replayed  atomic.Uint64 // records replayed to rebuild it, their alerts dropped
}

func (w *worker) node() (*node.Node, *sink.Sink) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nd, w.snk
}

// running returns the partition's node while it runs, and a context that
// ends when it stops; nil while the worker starts or waits to start again.
func (w *worker) running() (*node.Node, context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nd, w.ctx
}

// checkpoint takes a checkpoint of the partition's store, or a savepoint
// named name.
func (w *worker) checkpoint(ctx context.Context, name string) (checkpoint.Info, error) {
	nd, runCtx := w.running()
	if nd == nil {
		return checkpoint.Info{}, fmt.Errorf("its matching is not running yet (starting, or taking it over): %w", node.ErrNotRunning)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(runCtx, cancel)()
	info, err := nd.Checkpoint(ctx, name)
	if err != nil && runCtx.Err() != nil {
		return info, fmt.Errorf("its matching stopped before the checkpoint was taken: %w", node.ErrNotRunning)
	}
	return info, err
}

// replay is the replay of a takeover: the records below to are matched
// with their alerts dropped. at is how far they were counted.
type replay struct{ to, at uint64 }

// progress counts the records replayed up to offset (the next to match).
func (r *replay) progress(offset uint64, counts *partitionCounts) {
	if at := min(offset, r.to); at > r.at {
		counts.replayed.Add(at - r.at)
		r.at = at
	}
}

// dirName is the partition's store directory under Dir/partitions.
func dirName(p raftstate.Partition) string {
	return p.Topic + "-" + strconv.Itoa(int(p.Partition))
}

// sinkID is the partition's alert sink id: its transactional id and
// position group are "motif-sink-" + it, the same on every owner.
func (c *Node) sinkID(p raftstate.Partition) string {
	return c.cfg.SinkPrefix + dirName(p)
}

// errCatalogMoved ends runOnce when the cluster's catalog changed while
// the worker started.
var errCatalogMoved = errors.New("cluster: the catalog changed while the partition started")

// run runs the worker until ctx ends or its epoch is stale, starting it
// again after a failure.
func (c *Node) run(ctx context.Context, w *worker) {
	defer close(w.done)
	log := c.log.With("partition", w.part.String(), "epoch", w.epoch)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := c.runOnce(ctx, w, log)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, raftstate.ErrStaleEpoch), errors.Is(err, sink.ErrFenced):
			log.Info("partition moved to another owner: stopped", "err", err)
			return
		case errors.Is(err, errCatalogMoved):
			log.Info("the patterns changed while the partition started: starting it again with them")
			continue
		case err != nil:
			log.Error("partition worker failed; starting again", "err", err, "in", backoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// runOnce opens the partition's store (resuming it or rebuilding it from
// Kafka, see the package doc), and matches until ctx ends or a failure.
func (c *Node) runOnce(ctx context.Context, w *worker, log *slog.Logger) error {
	dir := filepath.Join(c.cfg.Dir, "partitions", dirName(w.part))
	tp := kafka.TopicPartition{Topic: w.part.Topic, Partition: w.part.Partition}
	// The probe sink fences the previous owner's producer, aborts its open
	// transaction and reads the committed position.
	committed, err := c.committedPosition(ctx, w.part)
	if err != nil {
		return err
	}
	var pos position
	if committed.Found {
		if err := json.Unmarshal([]byte(committed.Metadata), &pos); err != nil {
			return fmt.Errorf("cluster: partition %s: position metadata %q: %w", w.part, committed.Metadata, err)
		}
	}
	fresh, err := localFresh(dir, committed.Found, pos.Epoch)
	if err != nil {
		return err
	}
	cat := c.raft.State().Catalog()
	doc := cat.Doc
	var quiet, from uint64
	var ahead uint64
	takeover := !fresh
	rp := &replay{}
	if takeover {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("cluster: partition %s: discard %s: %w", w.part, dir, err)
		}
		if committed.Found {
			quiet, ahead = pos.Offset, pos.After
			if quiet > 0 {
				window, bounded, err := longestWindow(doc, c.cfg.Node.DefaultWithin)
				if err != nil {
					return err
				}
				if bounded {
					back := window + 2*c.cfg.Node.OutOfOrderness + time.Second
					if from, err = c.replayStart(ctx, tp, quiet, back); err != nil {
						return err
					}
				}
			}
		}
		log.Info("taking the partition over: rebuilding its state from kafka",
			"replay_from", from, "alerts_from", quiet, "delivered_after", ahead, "position", committed.Position)
		w.counts.takeovers.Add(1)
		rp.to, rp.at = quiet, from
	}

	in, err := kafka.NewInput(ctx, kafka.SourceConfig{Brokers: c.cfg.Kafka.Brokers, Partitions: []kafka.TopicPartition{tp},
		Logger: c.log, ClientOpts: c.cfg.Kafka.ClientOpts})
	if err != nil {
		return err
	}
	var snk atomic.Pointer[sink.Sink]
	cfg := c.cfg.Node
	cfg.Dir = dir
	cfg.ID = c.cfg.NodeID + "/" + w.part.String()
	cfg.Input = startAt{in, from, takeover}
	cfg.Catalog = doc
	cfg.CommitCatalog = nil
	cfg.QuietUntil = quiet
	cfg.AlertMarks = true
	cfg.CacheBytes = c.workerCache()
	if c.dead != nil {
		cfg.DeadLetters = kafka.DeadLetterSink(c.dead)
	}
	cfg.Store.AlertFloor = func() uint64 {
		if s := snk.Load(); s != nil {
			return s.Position()
		}
		return 0
	}
	if max := c.cfg.AlertsMaxLag; max > 0 {
		cfg.Hold = func() bool {
			s := snk.Load()
			return s != nil && s.Lag() >= max
		}
	}
	nd, err := node.Open(cfg)
	if err != nil {
		in.Close()
		return err
	}
	defer nd.Close()
	st := nd.Store()
	if takeover && committed.Found && committed.Position > ahead+1 {
		if err := st.SkipAlertsTo(committed.Position - ahead); err != nil {
			return err
		}
	}
	if err := putEpoch(st, w.epoch); err != nil {
		return err
	}
	s, err := sink.New(ctx, sink.Config{
		Brokers: c.cfg.Kafka.Brokers, Topic: c.cfg.Kafka.AlertsTopic, SinkID: c.sinkID(w.part),
		Transactional: true, Ahead: ahead, Logger: c.log, ClientOpts: c.cfg.Kafka.ClientOpts,
		Metadata: func(next uint64) (string, error) { return positionOf(st, w.epoch, next) },
	}, st)
	if err != nil {
		return err
	}
	defer s.Close()
	snk.Store(s)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.mu.Lock()
	w.nd, w.snk, w.ctx = nd, s, ctx
	w.mu.Unlock()
	w.rev.Store(cat.Revision)
	defer func() {
		w.mu.Lock()
		w.nd, w.snk, w.ctx = nil, nil, nil
		w.mu.Unlock()
	}()
	// A catalog committed while the worker started was not installed into
	// it (reconcile installs into running nodes only, and this one was not
	// yet): start again with it, before matching a record under the old.
	if now := c.raft.State().Catalog(); now.Revision != cat.Revision {
		return errCatalogMoved
	}

	errc := make(chan error, 3)
	go func() { errc <- nd.Run(ctx) }()
	go func() { errc <- s.Run(ctx, nd.AlertSignals(ctx)) }()
	go func() { errc <- c.report(ctx, w, nd, s, rp) }()
	err = <-errc
	cancel()
	for range 2 {
		if e := <-errc; err == nil {
			err = e
		}
	}
	if st, e := nd.Status(); e == nil && len(st.Partitions) == 1 {
		rp.progress(st.Partitions[0].Offset, w.counts)
	}
	return err
}

// committedPosition makes a sink for p over an empty log, which fences
// every older sink of p, and returns the position committed in Kafka.
func (c *Node) committedPosition(ctx context.Context, p raftstate.Partition) (sink.Committed, error) {
	s, err := sink.New(ctx, sink.Config{Brokers: c.cfg.Kafka.Brokers, Topic: c.cfg.Kafka.AlertsTopic, SinkID: c.sinkID(p),
		Transactional: true, Ahead: math.MaxUint64 - 1, Logger: c.log, ClientOpts: c.cfg.Kafka.ClientOpts}, emptyLog{})
	if err != nil {
		return sink.Committed{}, err
	}
	defer s.Close()
	return s.Committed(), nil
}

type emptyLog struct{}

func (emptyLog) Alerts(uint64, func(uint64, []byte) bool) error { return nil }
func (emptyLog) LastAlertSeq() uint64                           { return 0 }

// localFresh reports whether the store in dir can be resumed: it was
// written under the epoch that delivered the committed alerts, or none
// were delivered. A missing store is not fresh.
func localFresh(dir string, delivered bool, epoch uint64) (bool, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	st, err := checkpoint.Open(dir, checkpoint.Options{})
	if err != nil {
		return false, nil // unreadable: rebuilt from Kafka
	}
	defer st.Close()
	b, ok, err := st.GetMeta(epochKey)
	if err != nil || !ok {
		return false, nil
	}
	mine, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return false, nil
	}
	return !delivered || mine == epoch, nil
}

func putEpoch(st *checkpoint.Store, epoch uint64) error {
	b := st.NewBatch()
	defer b.Close()
	b.PutMeta(epochKey, []byte(strconv.FormatUint(epoch, 10)))
	return b.Commit(true)
}

// positionOf is the metadata committed with position next.
func positionOf(st *checkpoint.Store, epoch, next uint64) (string, error) {
	pos := position{Epoch: epoch, After: next - 1}
	at, mark, ok, err := st.AlertMark(next)
	if err != nil {
		return "", err
	}
	if ok {
		offs, err := pipeline.DecodeMark(mark)
		if err != nil {
			return "", err
		}
		if len(offs) != 1 {
			return "", fmt.Errorf("cluster: alert mark %d holds %d offsets", at, len(offs))
		}
		pos.Offset, pos.After = offs[0], next-at
	}
	b, err := json.Marshal(pos)
	return string(b), err
}

// report records the partition's progress (offset, watermark, alert
// position, lag) in the cluster every ReportInterval, counts the records
// of a takeover's replay, trims what the sink has delivered, and ends with
// ErrStaleEpoch once the partition has another owner.
func (c *Node) report(ctx context.Context, w *worker, nd *node.Node, s *sink.Sink, rp *replay) error {
	t := time.NewTicker(c.cfg.ReportInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		st, err := nd.Status()
		if err != nil {
			continue
		}
		meta := raftstate.CheckpointMeta{AlertPosition: s.Position(), Watermark: math.MinInt64, Lag: raftstate.LagUnknown}
		if len(st.Partitions) == 1 {
			ps := st.Partitions[0]
			meta.Offset = ps.Offset
			if ps.Watermark != math.MinInt64 {
				meta.Watermark = ps.Watermark
			}
			rp.progress(ps.Offset, w.counts)
		}
		if len(st.Counters.Partitions) == 1 { // the pipeline's, whose lag says when it is unknown
			meta.Lag = max(st.Counters.Partitions[0].Lag, raftstate.LagUnknown)
		}
		w.lag.Store(meta.Lag)
		if err := nd.Store().TrimAlertMarks(s.Position()); err != nil {
			c.log.Warn("cannot trim alert marks", "partition", w.part.String(), "err", err)
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = c.raft.Checkpoint(rctx, w.part, w.epoch, meta)
		cancel()
		if errors.Is(err, raftstate.ErrStaleEpoch) {
			return err
		}
		if err != nil && ctx.Err() == nil {
			c.log.Debug("cannot record the partition's checkpoint", "partition", w.part.String(), "err", err)
		}
	}
}

// startAt is a partition's input that starts at from when its store holds
// no offset (a takeover).
type startAt struct {
	*kafka.Input
	from     uint64
	takeover bool
}

func (s startAt) Open(ctx context.Context, from []*uint64) error {
	if s.takeover && len(from) == 1 && from[0] == nil && s.from > 0 {
		f := s.from
		from = []*uint64{&f}
	}
	return s.Input.Open(ctx, from)
}
