package checkpoint

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// Limits of the embedded log.
const (
	// MaxAppendBytes bounds the records of one Append call.
	MaxAppendBytes = 64 << 20
	// groupBytes and groupCalls bound what one group commit gathers.
	groupBytes = 8 << 20
	groupCalls = 4096
)

// embeddedLog is the partitioned event log that ingest appends to.
//
// One committer goroutine owns offset assignment: it takes every Append
// call waiting in reqs, gives each its offsets in arrival order, writes all
// their records in one Pebble batch and commits it with one WAL sync, then
// acknowledges them all. While it syncs, new calls queue up for the next
// group, so the number of syncs follows the disk, not the callers. A
// record becomes readable (ReadLog, LogEnd) only once its sync is done.
// The committer also decides which AppendRecords records are duplicates
// (ids, dedupe.go), so that decision is serialised with the appends.
type embeddedLog struct {
	s    *Store
	reqs chan *appendReq
	done chan struct{}
	ids  idIndex

	mu    sync.RWMutex
	parts map[uint32]*partLog
}

// partLog is one partition of the embedded log.
type partLog struct {
	id    uint32
	end   atomic.Uint64 // offset after the last durable record
	start atomic.Uint64 // first record not trimmed
	bytes atomic.Int64  // key and value bytes of the records
	next  uint64        // next offset to assign; committer only
}

// appendReq is one Append call (records) or AppendRecords call (recs, with
// acks to fill).
type appendReq struct {
	partition uint32
	records   [][]byte
	recs      []Record
	acks      []Appended
	size      int
	first     uint64 // Append: the offset of the first record
	appended  int    // records written (not duplicates)
	done      chan error
}

var reqPool = sync.Pool{New: func() any { return &appendReq{done: make(chan error, 1)} }}

func (l *embeddedLog) load(db *pebble.DB) error {
	l.parts = map[uint32]*partLog{}
	lower := []byte{prefixCounter, ctrLogEnd}
	return scanReader(db, lower, prefixEnd(lower), "load log", func(k, v []byte) (bool, error) {
		if len(k) != 6 {
			return false, corrupt(k, "malformed log counter key")
		}
		p := &partLog{id: binary.BigEndian.Uint32(k[2:])}
		end, err := u64(k, v)
		if err != nil {
			return false, err
		}
		start, err := readCounter(db, partitionCounterKey(ctrLogStart, p.id))
		if err != nil {
			return false, err
		}
		n, err := readCounter(db, partitionCounterKey(ctrLogBytes, p.id))
		if err != nil {
			return false, err
		}
		p.end.Store(end)
		p.start.Store(start)
		p.bytes.Store(int64(n))
		p.next = end
		l.parts[p.id] = p
		return true, nil
	})
}

func (l *embeddedLog) start(s *Store) {
	l.s = s
	l.reqs = make(chan *appendReq, groupCalls)
	l.done = make(chan struct{})
	go l.run()
}

// stop lets the committer finish what is queued and waits for it. No
// Append may be sending when it is called.
func (l *embeddedLog) stop() {
	close(l.reqs)
	<-l.done
}

func (l *embeddedLog) get(partition uint32) *partLog {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.parts[partition]
}

func (l *embeddedLog) all() []*partLog {
	l.mu.RLock()
	defer l.mu.RUnlock()
	ps := make([]*partLog, 0, len(l.parts))
	for _, p := range l.parts {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *partLog) int { return cmp.Compare(a.id, b.id) })
	return ps
}

// Append adds records to the end of a partition of the embedded log and
// returns the offset of the first; the others follow contiguously. When it
// returns nil the records are durable (synced). Concurrent calls share
// syncs (group commit). An empty call returns the current end. Its records
// carry no id: AppendRecords appends records that may be retried.
func (s *Store) Append(partition uint32, records [][]byte) (first uint64, err error) {
	size := 0
	for _, r := range records {
		size += len(r)
	}
	if size > MaxAppendBytes {
		return 0, invalid("append of %d bytes exceeds %d", size, MaxAppendBytes)
	}
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	if len(records) == 0 {
		return s.logEnd(partition), nil
	}
	r := reqPool.Get().(*appendReq)
	r.partition, r.records, r.size = partition, records, size+len(records)*13
	s.logs.reqs <- r
	err = <-r.done
	first = r.first
	r.records = nil
	r.appended = 0
	reqPool.Put(r)
	return first, err
}

// run is the committer goroutine.
func (l *embeddedLog) run() {
	defer close(l.done)
	var c groupCommit
	for r := range l.reqs {
		c.reqs = append(c.reqs[:0], r)
		size := r.size
	gather:
		for len(c.reqs) < groupCalls && size < groupBytes {
			select {
			case r, ok := <-l.reqs:
				if !ok {
					break gather
				}
				c.reqs = append(c.reqs, r)
				size += r.size
			default:
				break gather
			}
		}
		err := c.commit(l, size)
		for _, r := range c.reqs {
			r.done <- err
		}
		clear(c.reqs)
	}
}

// groupCommit is the committer's scratch for one group.
type groupCommit struct {
	reqs     []*appendReq
	touched  []touched
	key, val []byte
	ids      *pebble.Iterator // over the 'e' index, opened by the first lookup
}

// touched is what one group appends to one partition.
type touched struct {
	p     *partLog
	isNew bool
	first uint64
	bytes int64
}

func (c *groupCommit) partition(l *embeddedLog, id uint32) *touched {
	for i := range c.touched {
		if c.touched[i].p.id == id {
			return &c.touched[i]
		}
	}
	p := l.get(id)
	isNew := p == nil
	if isNew {
		p = &partLog{id: id}
	}
	c.touched = append(c.touched, touched{p: p, isNew: isNew, first: p.next})
	return &c.touched[len(c.touched)-1]
}

func (c *groupCommit) commit(l *embeddedLog, size int) error {
	s := l.s
	c.touched = c.touched[:0]
	b := s.db.NewBatchWithSize(size + 256)
	defer b.Close()
	ids := &l.ids
	ids.mu.Lock()
	defer ids.mu.Unlock()
	ids.groupMax = ids.maxSeen.Load()
	defer clear(ids.group)
	if err := errors.Join(c.fill(l, b), c.closeIDs()); err != nil {
		c.rollback()
		return err
	}
	if err := s.commitPebble(b, pebble.Sync, "append"); err != nil {
		c.rollback()
		return err
	}
	ids.maxSeen.Store(ids.groupMax)
	records, duplicates := 0, 0
	for _, r := range c.reqs {
		records += r.appended
		if r.recs != nil {
			duplicates += len(r.recs) - r.appended
		}
	}
	s.stats.groups.Add(1)
	s.stats.appends.Add(uint64(len(c.reqs)))
	s.stats.appendRecords.Add(uint64(records))
	s.stats.duplicates.Add(uint64(duplicates))
	for _, t := range c.touched {
		t.p.bytes.Add(t.bytes)
		t.p.end.Store(t.p.next)
		if t.isNew {
			l.mu.Lock()
			l.parts[t.p.id] = t.p
			l.mu.Unlock()
		}
	}
	return nil
}

// fill writes the group's records, then per partition its segment entry and
// counters, into b, assigning offsets.
func (c *groupCommit) fill(l *embeddedLog, b *pebble.Batch) error {
	for i, r := range c.reqs {
		r.appended = 0
		if r.recs != nil {
			if err := c.fillRecords(l, b, i, r); err != nil {
				return err
			}
			continue
		}
		t := c.partition(l, r.partition)
		r.first = t.p.next
		for _, rec := range r.records {
			if err := c.put(b, t, rec); err != nil {
				return err
			}
		}
		r.appended = len(r.records)
	}
	now := l.s.opts.Clock().UnixNano()
	for _, t := range c.touched {
		g := segment{at: now, count: t.p.next - t.first, bytes: t.bytes}
		c.key = segmentKey(c.key[:0], t.p.id, t.first)
		err := errors.Join(
			b.Set(c.key, g.append(nil), nil),
			mergeCounter(b, partitionCounterKey(ctrLogEnd, t.p.id), t.p.next),
			mergeCounter(b, partitionCounterKey(ctrLogBytes, t.p.id), uint64(t.bytes)),
		)
		if err != nil {
			return fmt.Errorf("checkpoint: append: %w", err)
		}
	}
	return nil
}

// put writes rec at the next offset of t's partition.
func (c *groupCommit) put(b *pebble.Batch, t *touched, rec []byte) error {
	c.key = logKey(c.key[:0], t.p.id, t.p.next)
	if err := b.Set(c.key, rec, nil); err != nil {
		return fmt.Errorf("checkpoint: append: %w", err)
	}
	t.p.next++
	t.bytes += int64(len(c.key) + len(rec))
	return nil
}

func (c *groupCommit) rollback() {
	for _, t := range c.touched {
		t.p.next = t.first
	}
}

// ReadLog calls fn for the durable records of a partition from offset from
// on, in offset order, at most limit of them (limit <= 0: no limit), until fn
// returns false. rec is valid only during the call. Reading at the end
// returns at once; below the first untrimmed offset it is ErrTrimmed, past
// the end ErrOutOfRange.
func (s *Store) ReadLog(partition uint32, from uint64, limit int, fn func(off uint64, rec []byte) bool) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	p := s.logs.get(partition)
	var start, end uint64
	if p != nil {
		start, end = p.start.Load(), p.end.Load()
	}
	switch {
	case from < start:
		return fmt.Errorf("%w: partition %d offset %d, the log starts at %d", ErrTrimmed, partition, from, start)
	case from > end:
		return fmt.Errorf("%w: partition %d offset %d, the log ends at %d", ErrOutOfRange, partition, from, end)
	case from == end:
		return nil
	}
	upTo := end
	if limit > 0 && uint64(limit) < end-from {
		upTo = from + uint64(limit)
	}
	return s.readLog(p, from, upTo, fn)
}

func (s *Store) readLog(p *partLog, from, upTo uint64, fn func(off uint64, rec []byte) bool) error {
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: logKey(nil, p.id, from),
		UpperBound: logKey(nil, p.id, upTo),
	})
	if err != nil {
		return fmt.Errorf("checkpoint: read log: %w", err)
	}
	want := from
	for ok := it.First(); ok; ok = it.Next() {
		_, off, err := decodeLogKey(it.Key())
		if err == nil && off != want {
			err = s.logGap(p, it.Key(), from, want)
		}
		var v []byte
		if err == nil {
			v, err = it.ValueAndErr()
		}
		if err != nil {
			return errors.Join(err, it.Close())
		}
		want++
		if !fn(off, v) {
			return closeIter(it, "read log")
		}
	}
	if want < upTo {
		return errors.Join(s.logGap(p, logKey(nil, p.id, want), from, want), it.Close())
	}
	return closeIter(it, "read log")
}

// logGap explains a missing record: trimmed meanwhile, or lost.
func (s *Store) logGap(p *partLog, key []byte, from, want uint64) error {
	if start := p.start.Load(); want == from && start > from {
		return fmt.Errorf("%w: partition %d offset %d, the log starts at %d", ErrTrimmed, p.id, from, start)
	}
	return corrupt(key, "partition %d: record %d missing", p.id, want)
}

// LogEnd returns the offset after the last durable record of a partition
// (0 for a partition never appended to).
func (s *Store) LogEnd(partition uint32) uint64 { return s.logEnd(partition) }

func (s *Store) logEnd(partition uint32) uint64 {
	if p := s.logs.get(partition); p != nil {
		return p.end.Load()
	}
	return 0
}

// LogStart returns the first offset of a partition not yet trimmed.
func (s *Store) LogStart(partition uint32) uint64 {
	if p := s.logs.get(partition); p != nil {
		return p.start.Load()
	}
	return 0
}

// Partitions returns the partitions of the embedded log, in order.
func (s *Store) Partitions() []uint32 {
	ps := s.logs.all()
	ids := make([]uint32, len(ps))
	for i, p := range ps {
		ids[i] = p.id
	}
	return ids
}
