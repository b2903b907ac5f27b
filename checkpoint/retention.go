package checkpoint

import (
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"
)

// retentionChunk bounds the alerts one retention batch removes.
const retentionChunk = 16384

// EnforceRetention applies Options.AlertRetention and Options.LogRetention.
// now is the current event time (the watermark), against which alert ages
// are measured; the embedded log is aged on Options.Clock. Alerts go
// oldest first (by sequence number) while the oldest is older than MaxAge or
// the log is larger than MaxBytes; their id index entries go with them.
// The embedded log loses whole segments (group commits), oldest first,
// below the committed LogSource offset only. Removal uses range deletions.
// The record ids of AppendRecords older than Options.DedupeWindow are
// pruned too, in chunks; call it periodically to bound the id index.
func (s *Store) EnforceRetention(now int64) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	s.retainMu.Lock()
	defer s.retainMu.Unlock()
	return errors.Join(s.retainAlerts(now), s.retainLog(), s.pruneIDs())
}

func (s *Store) retainAlerts(now int64) error {
	r := s.opts.AlertRetention
	if !r.enabled() {
		return nil
	}
	cutoff := int64(math.MinInt64)
	if r.MaxAge > 0 {
		cutoff = satSub(now, int64(r.MaxAge))
	}
	floor := uint64(math.MaxUint64)
	if s.opts.AlertFloor != nil {
		floor = s.opts.AlertFloor()
	}
	for {
		more, err := s.retainAlertChunk(cutoff, r.MaxBytes, floor)
		if err != nil || !more {
			return err
		}
	}
}

// retainAlertChunk removes up to retentionChunk alerts and reports whether
// there may be more to remove.
func (s *Store) retainAlertChunk(cutoff, maxBytes int64, floor uint64) (more bool, err error) {
	total := s.alerts.bytes.Load()
	var removed, n int64
	var stop uint64
	b := s.db.NewBatch()
	defer b.Close()
	err = s.scanAlertsLocked(func(seq uint64, at int64, k, v, id []byte) (bool, error) {
		tooBig := maxBytes > 0 && total-removed > maxBytes
		if at >= cutoff && !tooBig || n == retentionChunk || seq >= floor {
			more = n == retentionChunk && seq < floor
			return false, nil
		}
		removed += int64(len(k) + len(v))
		n++
		stop = seq + 1
		return true, s.dropAlertID(b, id, seq)
	})
	if err != nil || n == 0 {
		return false, err
	}
	err = errors.Join(
		b.DeleteRange(alertKey(nil, 0), alertKey(nil, stop), nil),
		mergeCounter(b, counterKey(ctrAlertBytes), uint64(-removed)),
		mergeCounter(b, counterKey(ctrAlertCount), uint64(-n)),
	)
	if err != nil {
		return false, fmt.Errorf("checkpoint: alert retention: %w", err)
	}
	if err := s.commitPebble(b, pebble.Sync, "alert retention"); err != nil {
		return false, err
	}
	s.alerts.bytes.Add(-removed)
	s.alerts.count.Add(-n)
	s.log.Debug("checkpoint: alert retention", "removed", n, "bytes", removed, "before_seq", stop)
	return more, nil
}

// scanAlertsLocked walks the settled alerts from the first; the caller has
// entered the store.
func (s *Store) scanAlertsLocked(fn func(seq uint64, at int64, k, v, id []byte) (bool, error)) error {
	upper := alertKey(nil, s.alerts.settled.Load()+1)
	return scanReader(s.db, alertKey(nil, 0), upper, "alert retention", func(k, v []byte) (bool, error) {
		seq, err := decodeAlertKey(k)
		if err != nil {
			return false, err
		}
		at, id, _, err := decodeAlertValue(k, v)
		if err != nil {
			return false, err
		}
		return fn(seq, at, k, v, id)
	})
}

// dropAlertID deletes the id index entry of alert seq, unless the id now
// names a later alert.
func (s *Store) dropAlertID(b *pebble.Batch, id []byte, seq uint64) error {
	key := alertIDKey(nil, string(id))
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checkpoint: read %s: %w", keyString(key), err)
	}
	indexed, err := u64(key, v)
	_ = closer.Close()
	if err != nil || indexed != seq {
		return err
	}
	return b.Delete(key, nil)
}

func (s *Store) retainLog() error {
	r := s.opts.LogRetention
	if !r.enabled() {
		return nil
	}
	cutoff := int64(math.MinInt64)
	if r.MaxAge > 0 {
		cutoff = satSub(s.opts.Clock().UnixNano(), int64(r.MaxAge))
	}
	var errs []error
	for _, p := range s.logs.all() {
		floor, err := s.consumed(p.id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		before, err := s.retainUpTo(p, min(floor, p.end.Load()), cutoff, r.MaxBytes)
		if err == nil && before > p.start.Load() {
			err = s.trimLog(p, before)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// consumed returns the committed LogSource offset of a partition.
func (s *Store) consumed(partition uint32) (uint64, error) {
	key := sourceKey(nil, prefixOffset, LogSource, partition)
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("checkpoint: read %s: %w", keyString(key), err)
	}
	defer closer.Close()
	return u64(key, v)
}

// retainUpTo returns the end of the last whole segment below floor that
// retention removes: segments go oldest first while too old or too big.
func (s *Store) retainUpTo(p *partLog, floor uint64, cutoff, maxBytes int64) (uint64, error) {
	start := p.start.Load()
	before := start
	if floor <= start {
		return before, nil
	}
	total := p.bytes.Load()
	var removed int64
	lower, upper := segmentKey(nil, p.id, start), segmentKey(nil, p.id, floor)
	err := scanReader(s.db, lower, upper, "log retention", func(k, v []byte) (bool, error) {
		_, first, err := decodeLogKey(k)
		if err != nil {
			return false, err
		}
		g, err := decodeSegment(k, v)
		if err != nil {
			return false, err
		}
		tooBig := maxBytes > 0 && total-removed > maxBytes
		if first+g.count > floor || g.at >= cutoff && !tooBig {
			return false, nil
		}
		removed += g.bytes
		before = first + g.count
		return true, nil
	})
	return before, err
}

// TrimLog removes the records of a partition below offset before (clamped
// to the durable end): the engine calls it for records it has committed
// past and no longer needs.
func (s *Store) TrimLog(partition uint32, before uint64) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	s.retainMu.Lock()
	defer s.retainMu.Unlock()
	p := s.logs.get(partition)
	if p == nil {
		return nil
	}
	return s.trimLog(p, min(before, p.end.Load()))
}

// trimLog removes records [start, before) of p, their segment entries, and
// shortens the segment that straddles before. retainMu is held.
func (s *Store) trimLog(p *partLog, before uint64) error {
	start := p.start.Load()
	if before <= start {
		return nil
	}
	b := s.db.NewBatch()
	defer b.Close()
	removed, err := s.trimSegments(b, p, start, before)
	if err == nil {
		err = errors.Join(
			b.DeleteRange(logKey(nil, p.id, start), logKey(nil, p.id, before), nil),
			mergeCounter(b, partitionCounterKey(ctrLogStart, p.id), before),
			mergeCounter(b, partitionCounterKey(ctrLogBytes, p.id), uint64(-removed)),
		)
	}
	if err != nil {
		return fmt.Errorf("checkpoint: trim log partition %d: %w", p.id, err)
	}
	if err := s.commitPebble(b, pebble.Sync, fmt.Sprintf("trim log partition %d", p.id)); err != nil {
		return err
	}
	p.start.Store(before)
	p.bytes.Add(-removed)
	s.log.Debug("checkpoint: log trimmed", "partition", p.id, "before", before, "bytes", removed)
	return nil
}

// trimSegments deletes the segment entries below before and rewrites the
// one that straddles it; it returns the record bytes removed.
func (s *Store) trimSegments(b *pebble.Batch, p *partLog, start, before uint64) (int64, error) {
	var removed int64
	lower, upper := segmentKey(nil, p.id, start), segmentKey(nil, p.id, before)
	err := scanReader(s.db, lower, upper, "trim log", func(k, v []byte) (bool, error) {
		_, first, err := decodeLogKey(k)
		if err != nil {
			return false, err
		}
		g, err := decodeSegment(k, v)
		if err != nil {
			return false, err
		}
		if err := b.Delete(k, nil); err != nil {
			return false, err
		}
		if first+g.count <= before {
			removed += g.bytes
			return true, nil
		}
		part, err := s.recordBytes(p.id, first, before)
		if err != nil {
			return false, err
		}
		removed += part
		rest := segment{at: g.at, count: first + g.count - before, bytes: g.bytes - part}
		return false, b.Set(segmentKey(nil, p.id, before), rest.append(nil), nil)
	})
	return removed, err
}

// recordBytes sums the key and value bytes of records [from, to).
func (s *Store) recordBytes(partition uint32, from, to uint64) (int64, error) {
	var n int64
	err := scanReader(s.db, logKey(nil, partition, from), logKey(nil, partition, to), "trim log", func(k, v []byte) (bool, error) {
		n += int64(len(k) + len(v))
		return true, nil
	})
	return n, err
}

// satSub returns a-b, saturated at math.MinInt64; b >= 0.
func satSub(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}
