package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// positionPartition is the partition of the alert topic under which the
// sink's group stores its position. The offset stored there is not an
// offset of that partition: it is the sequence number of the next alert
// to relay.
const positionPartition = 0

// positionMetadata marks the sink's offset commits, for people who
// describe the group with Kafka's tools.
const positionMetadata = "motif-sink: next alert sequence number"

// conn is one Kafka client and what the sink learnt through it. A conn is
// used until its first failure, then closed and replaced: a new client
// initialises the producer id anew, which bumps the epoch and aborts
// whatever transaction the old one left open, so no failure leaves state
// the next attempt must reason about.
type conn struct {
	cl      *kgo.Client
	topicID [16]byte
	pid     int64 // producer id and epoch under which the position is
	epoch   int16 // known to be current (transactional mode)
	inTxn   bool  // a transaction was begun and not ended
}

// connect makes a client, initialises its producer id (transactional:
// fencing every older sink with the same SinkID and aborting its open
// transaction), and looks up the alert topic. It does not read the
// position.
func (s *Sink) connect(ctx context.Context) (*conn, error) {
	cl, err := kgo.NewClient(s.clientOpts()...)
	if err != nil {
		return nil, fmt.Errorf("sink: kafka client: %w", err)
	}
	c := &conn{cl: cl}
	ok := false
	defer func() {
		if !ok {
			cl.Close()
		}
	}()
	if s.cfg.Transactional {
		// InitProducerID happens here, before the position is read: the
		// position read afterwards cannot be changed by any older sink.
		if c.pid, c.epoch, err = cl.ProducerID(ctx); err != nil {
			return nil, fmt.Errorf("sink: init producer id %q: %w", s.cfg.transactionalID(), err)
		}
	}
	if c.topicID, err = s.lookupTopic(ctx, cl); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

func (s *Sink) clientOpts() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(s.cfg.Brokers...),
		kgo.WithLogger(kgoLogger{s.logger}),
		kgo.MaxBufferedRecords(max(s.cfg.MaxBatch, 1024)),
	}
	if s.cfg.Transactional {
		opts = append(opts,
			kgo.TransactionalID(s.cfg.transactionalID()),
			kgo.TransactionTimeout(s.cfg.TransactionTimeout))
	}
	return append(opts, s.cfg.ClientOpts...)
}

// lookupTopic returns the alert topic's id, which TxnOffsetCommit v6 needs.
func (s *Sink) lookupTopic(ctx context.Context, cl *kgo.Client) ([16]byte, error) {
	topics, err := kadm.NewClient(cl).ListTopics(ctx, s.cfg.Topic)
	if err != nil {
		return [16]byte{}, fmt.Errorf("sink: metadata of topic %q: %w", s.cfg.Topic, err)
	}
	t, ok := topics[s.cfg.Topic]
	switch {
	case !ok || errors.Is(t.Err, kerr.UnknownTopicOrPartition):
		return [16]byte{}, fmt.Errorf("%w: %q", ErrTopicNotFound, s.cfg.Topic)
	case t.Err != nil:
		return [16]byte{}, fmt.Errorf("sink: metadata of topic %q: %w", s.cfg.Topic, t.Err)
	}
	return [16]byte(t.ID), nil
}

// fetchPosition reads the committed position: the sequence number of the
// next alert to relay; 1, not found, when the group holds none. It asks
// for stable offsets, so a transaction still being completed is waited for
// rather than read past.
func (s *Sink) fetchPosition(ctx context.Context, c *conn) (pos uint64, found bool, err error) {
	pos, _, found, err = s.fetchCommitted(ctx, c)
	return pos, found, err
}

// fetchCommitted is fetchPosition with the metadata committed with the
// position.
func (s *Sink) fetchCommitted(ctx context.Context, c *conn) (pos uint64, meta string, found bool, err error) {
	adm := kadm.NewClient(c.cl)
	wait := 10 * time.Millisecond
	for {
		resp, err := adm.FetchOffsets(kadm.RequireStable(ctx), s.cfg.group())
		if errors.Is(err, kerr.GroupIDNotFound) {
			return 1, "", false, nil
		}
		if err != nil {
			return 0, "", false, fmt.Errorf("sink: fetch position of group %q: %w", s.cfg.group(), err)
		}
		o, ok := resp.Lookup(s.cfg.Topic, positionPartition)
		if !ok {
			return 1, "", false, nil
		}
		if errors.Is(o.Err, kerr.UnstableOffsetCommit) {
			if err := sleep(ctx, wait); err != nil {
				return 0, "", false, err
			}
			wait = min(2*wait, 500*time.Millisecond)
			continue
		}
		if o.Err != nil {
			return 0, "", false, fmt.Errorf("sink: fetch position of group %q: %w", s.cfg.group(), o.Err)
		}
		if o.At < 1 {
			return 1, "", false, nil
		}
		return uint64(o.At), o.Metadata, true, nil
	}
}

// checkPosition verifies that pos can follow the log: ErrPositionAhead if
// it is past the log's end; a warning if the alerts right at pos are gone.
func (s *Sink) checkPosition(pos uint64) error {
	last := s.alerts.LastAlertSeq()
	if pos > last+1+s.cfg.Ahead {
		return fmt.Errorf("%w: group %q holds position %d, the log ends at %d", ErrPositionAhead, s.cfg.group(), pos, last)
	}
	if pos == 1 || pos > last {
		return nil
	}
	oldest := uint64(0)
	if err := s.alerts.Alerts(0, func(seq uint64, _ []byte) bool { oldest = seq; return false }); err != nil {
		return &logError{err}
	}
	if oldest > pos {
		// Either retention removed alerts the sink had not relayed, or
		// the numbers below oldest were never used (a gap): the log
		// cannot tell. Relaying goes on from oldest.
		s.logger.Warn("sink: alerts below the oldest in the log are missing: removed by retention before the sink relayed them, or never committed",
			"position", pos, "oldest", oldest)
	}
	return nil
}

// close ends c. With abort, an open transaction is aborted first, within a
// short bound: a transaction left open holds read_committed consumers back
// until the next sink fences it or it times out.
func (c *conn) close(abort bool) {
	if abort && c.inTxn {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := c.cl.AbortBufferedRecords(ctx); err == nil {
			_ = c.cl.EndTransaction(ctx, kgo.TryAbort) // best effort: the next sink fences it anyway
		}
		cancel()
	}
	c.cl.Close()
}

// kgoLogger passes the Kafka client's warnings and errors to slog; its
// informational messages (several per transaction) are dropped.
type kgoLogger struct{ l *slog.Logger }

func (kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	l := slog.LevelWarn
	if level == kgo.LogLevelError {
		l = slog.LevelError
	}
	k.l.Log(context.Background(), l, "kafka: "+msg, keyvals...)
}

// sleep waits for d or until ctx is done, returning ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
