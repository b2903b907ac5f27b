package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Poll waits until records are there or ctx is done, then calls fn for each
// record in order: records of one partition in offset order, exactly once
// each. It returns how many records it passed to fn.
//
// When fn returns false Poll stops after that record; the records not yet
// passed are kept and the next Poll or TryPoll delivers them first. Records
// of a paused partition are held the same way until Resume. Transaction
// markers and records of aborted transactions are never passed.
//
// A non-nil error is ctx.Err(), ErrClosed, or one or more *PartitionError
// (joined) for partitions that failed in this fetch; records fetched with the
// error are still passed, and the other partitions carry on.
func (s *Source) Poll(ctx context.Context, fn func(index int, r *Record) bool) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	for {
		gen := s.resumes.Load()
		if n := s.deliver(fn); n > 0 {
			return n, nil
		}
		wctx, stop := s.waitContext(ctx, gen)
		fs := s.cl.PollRecords(wctx, s.max)
		stop()
		n, err := s.take(ctx, fs, fn)
		if n > 0 || err != nil {
			return n, err
		}
		// Only markers, held records or retried errors, or a Resume
		// released held records: look again.
	}
}

// waitContext returns the context to wait for a fetch with: ctx, or, while
// records are held for paused partitions, one that Resume also cancels so
// that they are delivered without waiting for new data. gen is the count of
// Resumes when the held records were last looked at.
func (s *Source) waitContext(ctx context.Context, gen uint64) (context.Context, func()) {
	if len(s.pending) == 0 {
		return ctx, func() {}
	}
	wctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resumes.Load() != gen {
		cancel() // a Resume came in since: look again at once
	}
	s.wake = cancel
	return wctx, func() {
		s.mu.Lock()
		s.wake = nil
		s.mu.Unlock()
		cancel()
	}
}

// TryPoll is Poll without waiting: it passes what is already fetched and
// returns 0 at once when nothing is.
func (s *Source) TryPoll(fn func(index int, r *Record) bool) (int, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	if n := s.deliver(fn); n > 0 {
		return n, nil
	}
	// kgo returns what it has buffered, without waiting, for a nil
	// context (a cancelled one returns only the context's error).
	var noWait context.Context
	return s.take(noWait, s.cl.PollRecords(noWait, s.max), fn)
}

// take queues the records of fs behind those pending, records the fetch's
// high watermarks and errors, then delivers. ctx is the caller's context,
// nil for TryPoll.
func (s *Source) take(ctx context.Context, fs kgo.Fetches, fn func(int, *Record) bool) (int, error) {
	var errs []error
	for _, f := range fs {
		for ti := range f.Topics {
			t := &f.Topics[ti]
			for pi := range t.Partitions {
				fp := &t.Partitions[pi]
				if fp.Err != nil {
					if err := s.fetchError(ctx, t.Topic, fp); err != nil {
						errs = append(errs, err)
					}
				}
				index := s.lookup(t.Topic, fp.Partition)
				if index < 0 {
					continue
				}
				p := &s.parts[index]
				if fp.Err == nil {
					p.hwm.Store(fp.HighWatermark)
					p.missingSince = time.Time{}
				}
				for _, r := range fp.Records {
					s.pending = append(s.pending, pendingRecord{r, index})
				}
				if n := len(fp.Records); n > 0 {
					p.fetched = fp.Records[n-1].Offset + 1
				}
			}
		}
	}
	n := s.deliver(fn)
	return n, errors.Join(errs...)
}

// deliver passes pending records to fn until it returns false, holding back
// those of paused partitions.
func (s *Source) deliver(fn func(int, *Record) bool) int {
	n := 0
	stopped := false
	kept := s.pending[:0]
	clear(s.held)
	for _, pr := range s.pending {
		p := &s.parts[pr.index]
		// Once a record of a partition is held back, so is the rest of
		// it in this pass, even if a Resume comes in meanwhile.
		if stopped || s.held[pr.index] || p.paused.Load() {
			s.held[pr.index] = true
			kept = append(kept, pr)
			continue
		}
		r := pr.r
		p.next.Store(r.Offset + 1)
		if r.Attrs.IsControl() {
			continue
		}
		s.rec = Record{
			TopicPartition: s.tps[pr.index],
			Offset:         r.Offset,
			Key:            r.Key,
			Value:          r.Value,
			Headers:        r.Headers,
			Timestamp:      r.Timestamp,
		}
		n++
		if !fn(pr.index, &s.rec) {
			stopped = true
		}
	}
	clear(s.pending[len(kept):])
	s.pending = kept
	return n
}

// lookup returns the index of topic/partition, or -1 if not assigned.
func (s *Source) lookup(topic string, partition int32) int {
	idx := s.byName[topic]
	if partition < 0 || int(partition) >= len(idx) {
		return -1
	}
	return idx[partition]
}

// fetchError classifies an error kgo reported with a fetch: nil for one kgo
// retries itself, else the error to return from Poll.
func (s *Source) fetchError(ctx context.Context, topic string, fp *kgo.FetchPartition) error {
	err := fp.Err
	switch {
	case topic == "" && errors.Is(err, kgo.ErrClientClosed):
		return ErrClosed
	case topic == "" && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		if ctx != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		return nil // a Resume woke the wait
	case topic == "":
		return fmt.Errorf("kafka: fetch: %w", err)
	}
	if fp.Partition >= 0 {
		return s.partitionError(s.lookup(topic, fp.Partition), fp)
	}
	// The whole topic: every assigned partition of it.
	var errs []error
	for _, index := range s.byName[topic] {
		if index >= 0 {
			errs = append(errs, s.partitionError(index, fp))
		}
	}
	return errors.Join(errs...)
}

// partitionError decides whether err stops the partition at index.
//
// OFFSET_OUT_OF_RANGE is fatal (kgo is told never to reset). Unknown
// topic or partition is retried for MissingAfter, then fatal. Every other
// error kgo marks retriable (leadership moves, brokers restarting, fetch
// sessions) is retried by kgo and ignored here. The rest is fatal: data
// loss, authorization, corrupt or oversized batches, unknown errors.
func (s *Source) partitionError(index int, fp *kgo.FetchPartition) error {
	if index < 0 {
		return nil
	}
	p := &s.parts[index]
	err := fp.Err
	switch {
	case errors.Is(err, kerr.OffsetOutOfRange):
		err = fmt.Errorf("%w: %w", ErrOffsetOutOfRange, err)
	case errors.Is(err, kerr.UnknownTopicOrPartition) || errors.Is(err, kerr.UnknownTopicID):
		now := time.Now()
		if p.missingSince.IsZero() {
			p.missingSince = now
		}
		if since := now.Sub(p.missingSince); since < s.after {
			return nil
		}
		err = fmt.Errorf("%w for %v: %w", ErrPartitionMissing, s.after, err)
	case kerr.IsRetriable(err):
		s.log.Debug("kafka: retried fetch error", "partition", s.tps[index].String(), "err", err)
		return nil
	}
	next := p.fetched
	if next < 0 {
		next = p.next.Load()
	}
	perr := &PartitionError{
		TopicPartition: s.tps[index],
		Index:          index,
		Next:           next,
		LogStart:       -1,
		HighWatermark:  -1,
		Err:            err,
	}
	if errors.Is(err, kerr.OffsetOutOfRange) {
		// From the broker's response (injected errors carry no bounds).
		perr.LogStart, perr.HighWatermark = fp.LogStartOffset, fp.HighWatermark
	}
	if !s.fail(index) {
		return nil // already reported
	}
	s.log.Warn("kafka: partition stopped", "err", perr)
	return perr
}

// fail stops fetching the partition at index; false if it already was.
func (s *Source) fail(index int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parts[index].failed.Swap(true) {
		return false
	}
	tp := s.tps[index]
	s.cl.PauseFetchPartitions(map[string][]int32{tp.Topic: {tp.Partition}})
	return true
}
