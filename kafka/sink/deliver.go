package sink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// transact relays b in one transaction that also commits the position
// b.last+1 as the group's offset. It returns nil only once the broker has
// confirmed the commit; any error leaves the outcome to be read back from
// the broker after a reconnect (the commit may or may not have happened).
func (s *Sink) transact(ctx context.Context, c *conn, b *batch) error {
	if err := c.cl.BeginTransaction(); err != nil {
		return fmt.Errorf("sink: begin transaction: %w", err)
	}
	pid, epoch, err := c.cl.ProducerID(ctx)
	if err != nil {
		return fmt.Errorf("sink: producer id: %w", err)
	}
	// The position is known only under the epoch it was read or
	// committed in. An epoch that moved otherwise means the client
	// re-initialised its producer id by itself, and another sink might
	// have committed in between.
	if pid != c.pid || epoch != c.epoch {
		return fmt.Errorf("sink: producer id/epoch moved from %d/%d to %d/%d outside the sink's commits", c.pid, c.epoch, pid, epoch)
	}
	c.inTxn = true
	if err := s.produce(ctx, c, b); err != nil {
		return err
	}
	if err := s.addOffsetsToTxn(ctx, c, pid, epoch); err != nil {
		return err
	}
	if err := s.txnCommitPosition(ctx, c, pid, epoch, b.last+1); err != nil {
		return err
	}
	if err := c.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("sink: commit transaction of alerts %d to %d: %w", b.first, b.last, err)
	}
	c.inTxn = false
	// EndTxn v5 (KIP-890) bumps the epoch: the position is current under
	// the new one. If it cannot be read, the next transaction sees a
	// mismatch and reconnects.
	if c.pid, c.epoch, err = c.cl.ProducerID(ctx); err != nil {
		c.pid, c.epoch = -1, -1
	}
	return nil
}

// deliver relays b at least once: it produces b and, once every record is
// acknowledged, commits the position b.last+1 as the group's offset.
func (s *Sink) deliver(ctx context.Context, c *conn, b *batch) error {
	if err := s.produce(ctx, c, b); err != nil {
		return err
	}
	return s.commitPosition(ctx, c, b.last+1)
}

// produce hands b's records to the client and waits until every one is
// acknowledged or has failed.
func (s *Sink) produce(ctx context.Context, c *conn, b *batch) error {
	b.wg.Add(len(b.recs))
	for i := range b.recs {
		c.cl.Produce(ctx, &b.recs[i], b.promise)
	}
	if err := c.cl.Flush(ctx); err != nil {
		return fmt.Errorf("sink: produce alerts %d to %d: %w", b.first, b.last, err)
	}
	// A record that failed before it was buffered is promised apart from
	// Flush; its promise comes promptly.
	b.wg.Wait()
	if err := b.firstErr(); err != nil {
		return fmt.Errorf("sink: produce alerts %d to %d: %w", b.first, b.last, err)
	}
	return nil
}

// addOffsetsToTxn adds the sink's group to the open transaction. Since
// KIP-890 a TxnOffsetCommit v5+ does so by itself, but the request is
// valid on every broker, and a TxnOffsetCommit of an older version needs
// it.
func (s *Sink) addOffsetsToTxn(ctx context.Context, c *conn, pid int64, epoch int16) error {
	req := kmsg.NewPtrAddOffsetsToTxnRequest()
	req.TransactionalID = s.cfg.transactionalID()
	req.ProducerID = pid
	req.ProducerEpoch = epoch
	req.Group = s.cfg.group()
	return retryConcurrent(ctx, func() error {
		resp, err := req.RequestWith(ctx, c.cl)
		if err != nil {
			return fmt.Errorf("sink: add offsets of group %q to the transaction: %w", req.Group, err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return fmt.Errorf("sink: add offsets of group %q to the transaction: %w", req.Group, err)
		}
		return nil
	})
}

// txnCommitPosition stages next as the group's offset in the open
// transaction: it becomes the committed position if and only if the
// transaction commits.
func (s *Sink) txnCommitPosition(ctx context.Context, c *conn, pid int64, epoch int16, next uint64) error {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID = s.cfg.transactionalID()
	req.Group = s.cfg.group()
	req.ProducerID = pid
	req.ProducerEpoch = epoch
	// Generation -1 and no member: a commit on behalf of no group member,
	// which the broker accepts for a group with no members.
	t := kmsg.NewTxnOffsetCommitRequestTopic()
	t.Topic = s.cfg.Topic
	t.TopicID = c.topicID
	p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	p.Partition = positionPartition
	p.Offset = int64(next)
	meta, err := s.metadata(next)
	if err != nil {
		return err
	}
	p.Metadata = &meta
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	return retryConcurrent(ctx, func() error {
		resp, err := req.RequestWith(ctx, c.cl)
		if err == nil {
			err = partitionErr(resp.Topics, func(t kmsg.TxnOffsetCommitResponseTopic) []int16 {
				codes := make([]int16, len(t.Partitions))
				for i, p := range t.Partitions {
					codes[i] = p.ErrorCode
				}
				return codes
			})
		}
		if err != nil {
			return fmt.Errorf("sink: commit position %d to group %q in the transaction: %w", next, req.Group, err)
		}
		return nil
	})
}

// commitPosition commits next as the group's offset, outside any
// transaction (at-least-once mode).
func (s *Sink) commitPosition(ctx context.Context, c *conn, next uint64) error {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = s.cfg.group()
	t := kmsg.NewOffsetCommitRequestTopic()
	t.Topic = s.cfg.Topic
	t.TopicID = c.topicID
	p := kmsg.NewOffsetCommitRequestTopicPartition()
	p.Partition = positionPartition
	p.Offset = int64(next)
	meta, err := s.metadata(next)
	if err != nil {
		return err
	}
	p.Metadata = &meta
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, c.cl)
	if err == nil {
		err = partitionErr(resp.Topics, func(t kmsg.OffsetCommitResponseTopic) []int16 {
			codes := make([]int16, len(t.Partitions))
			for i, p := range t.Partitions {
				codes[i] = p.ErrorCode
			}
			return codes
		})
	}
	if err != nil {
		return fmt.Errorf("sink: commit position %d to group %q: %w", next, req.Group, err)
	}
	return nil
}

// metadata is what the position commit of next carries.
func (s *Sink) metadata(next uint64) (string, error) {
	if s.cfg.Metadata == nil {
		return positionMetadata, nil
	}
	m, err := s.cfg.Metadata(next)
	if err != nil {
		return "", &logError{fmt.Errorf("position metadata for %d: %w", next, err)}
	}
	return m, nil
}

// partitionErr returns the first partition error of a response, or an
// error if the response answers for no partition.
func partitionErr[T any](topics []T, codes func(T) []int16) error {
	n := 0
	for _, t := range topics {
		for _, code := range codes(t) {
			if err := kerr.ErrorForCode(code); err != nil {
				return err
			}
			n++
		}
	}
	if n == 0 {
		return errors.New("the response answers for no partition")
	}
	return nil
}

// retryConcurrent runs fn again while it fails with CONCURRENT_TRANSACTIONS,
// which a broker answers while it is still completing the previous
// transaction: a state of a moment, not a failure.
func retryConcurrent(ctx context.Context, fn func() error) error {
	wait := 10 * time.Millisecond
	for {
		err := fn()
		if !errors.Is(err, kerr.ConcurrentTransactions) {
			return err
		}
		if serr := sleep(ctx, wait); serr != nil {
			return errors.Join(err, serr)
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}
