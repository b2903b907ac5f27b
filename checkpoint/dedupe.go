package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// MaxRecordIDBytes bounds the id of a Record.
const MaxRecordIDBytes = 1024

// pruneChunk bounds the ids one pruning batch removes.
const pruneChunk = 4096

// Record is one event for AppendRecords.
type Record struct {
	// Data is the record stored in the log.
	Data []byte
	// ID names the event for deduplication; empty means none, and such a
	// record is never a duplicate. Ids are global: the same id on two
	// partitions names the same event.
	ID string
	// Time is the event time, Unix nanoseconds. Only records with an ID use
	// it.
	Time int64
}

// Appended is what AppendRecords reports for one record.
type Appended struct {
	// Partition and Offset locate the record: where it was appended, or for
	// a duplicate, where the original was (possibly another partition, and
	// possibly trimmed since).
	Partition uint32
	Offset    uint64
	// Duplicate reports that the record was not appended: its ID was
	// already accepted within the dedupe window.
	Duplicate bool
}

// AppendRecords appends records to a partition of the embedded log, except
// the duplicates: records whose ID an earlier record of the same call
// carried, or a record appended by an earlier call (committed before, or
// in the same group commit), on any partition, while that record is within
// Options.DedupeWindow (see there). It returns one Appended per record, in
// order; the records appended get contiguous offsets, in order. When it
// returns nil the records and their ids are durable, in one synced Pebble
// batch: after a crash the store knows every acknowledged id, and no id
// whose record it lost. Concurrent calls share syncs (group commit) and
// deduplicate against each other as if committed one at a time, in the
// order the committer took them: how calls are grouped never changes an
// outcome.
//
// A record without an ID is never a duplicate and is not remembered. With
// deduplication off (a negative window) ids are ignored. A record whose
// time is already older than the window when it is appended is appended
// but not remembered beyond its call: a later call could not count it as
// an original anyway.
func (s *Store) AppendRecords(partition uint32, recs []Record) ([]Appended, error) {
	size, ids := 0, 0
	for i := range recs {
		r := &recs[i]
		if len(r.ID) > MaxRecordIDBytes {
			return nil, invalid("record %d: id of %d bytes exceeds %d", i, len(r.ID), MaxRecordIDBytes)
		}
		size += len(r.Data) + len(r.ID)
		if r.ID != "" {
			ids += 2*len(r.ID) + idEntryOverhead
		}
	}
	if size > MaxAppendBytes {
		return nil, invalid("append of %d bytes exceeds %d", size, MaxAppendBytes)
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	if len(recs) == 0 {
		return nil, nil
	}
	acks := make([]Appended, len(recs))
	r := reqPool.Get().(*appendReq)
	r.partition, r.recs, r.acks = partition, recs, acks
	r.size = size + len(recs)*recordOverhead + ids
	s.logs.reqs <- r
	err := <-r.done
	r.recs, r.acks = nil, nil
	reqPool.Put(r)
	if err != nil {
		return nil, err
	}
	return acks, nil
}

// Batch bytes beyond the data, for sizing a group's batch: a log record's
// key and Pebble's framing, and an id's two entries (key framing, the
// 'x' time and the 'e' value).
const (
	recordOverhead  = 13 + 4
	idEntryOverhead = 2*(1+4) + 8 + 20
)

// idIndex is the embedded log's memory of record ids: the 'e' index (id ->
// time, partition, offset) and the 'x' index (time, id), which pruning
// walks oldest first.
//
// The committer reads and writes them: it looks every id up, among the
// ids of the group it is building and then in Pebble, and writes the ids
// it appends in the group's batch. Pruning deletes outside the committer,
// and must not delete an entry the committer has just rewritten (an id
// seen again after its entry expired): the committer counts such rewrites,
// and a pruning chunk commits only if none happened since it began.
type idIndex struct {
	window int64 // ns; negative: deduplication off

	// mu is held by the committer across a group's fill and commit, and by
	// pruning while it checks rewrites and commits a chunk.
	mu sync.Mutex
	// maxSeen is the newest time of a record appended with an id
	// (math.MinInt64: none), once committed. It never goes back.
	maxSeen atomic.Int64
	// rewrites counts expired entries the committer overwrote; read and
	// written under mu.
	rewrites uint64

	// Committer only: the ids of the group being built, and its newest
	// time.
	group    map[string]idEntry
	groupMax int64
}

type idEntry struct {
	at        int64
	partition uint32
	offset    uint64
	call      int  // in the group map: the call (index in the group) that appended it
	indexed   bool // in the group map: written to the index, not too old
}

func (x *idIndex) enabled() bool { return x.window >= 0 }

// load sets the window and recovers maxSeen: the newest time in the 'x'
// index. Every advance of maxSeen comes from a record indexed in the same
// batch, and pruning never removes the newest, so the index holds it.
func (x *idIndex) load(db *pebble.DB, window time.Duration) error {
	x.window = int64(window)
	x.group = map[string]idEntry{}
	x.maxSeen.Store(math.MinInt64)
	it, err := db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixEventTime},
		UpperBound: []byte{prefixEventTime + 1},
	})
	if err != nil {
		return fmt.Errorf("checkpoint: load ids: %w", err)
	}
	if it.Last() {
		at, _, err := decodeEventTimeKey(it.Key())
		if err != nil {
			return errors.Join(err, it.Close())
		}
		x.maxSeen.Store(at)
	}
	return closeIter(it, "load ids")
}

// seen looks up the id of a record of call (its index in the group), among
// the group's ids first, then in the 'e' index. It reports the entry found
// and whether the record duplicates it (the same call, or within the
// window), or whether an expired entry sits in the store (rewrite:
// indexing id again overwrites it).
func (c *groupCommit) seen(l *embeddedLog, call int, id string) (e idEntry, dup, rewrite bool, err error) {
	x := &l.ids
	cutoff := satSub(x.groupMax, x.window)
	if e, ok := x.group[id]; ok && (e.indexed || e.call == call) {
		// The store's entry, if any, is older still; the rewrite, if any,
		// was counted.
		return e, e.call == call || e.at >= cutoff, false, nil
	}
	c.key = eventIDKey(c.key[:0], id)
	if c.ids == nil {
		if c.ids, err = l.s.db.NewIter(&idIterOptions); err != nil {
			return idEntry{}, false, false, fmt.Errorf("checkpoint: append: %w", err)
		}
	}
	// The key is its own prefix (Pebble's default Split): a point lookup
	// that the bloom filters serve, without a new iterator per id.
	if !c.ids.SeekPrefixGE(c.key) || !bytes.Equal(c.ids.Key(), c.key) {
		if err := c.ids.Error(); err != nil {
			return idEntry{}, false, false, fmt.Errorf("checkpoint: append: read %s: %w", keyString(c.key), err)
		}
		return idEntry{}, false, false, nil
	}
	v, err := c.ids.ValueAndErr()
	if err != nil {
		return idEntry{}, false, false, fmt.Errorf("checkpoint: append: read %s: %w", keyString(c.key), err)
	}
	e.at, e.partition, e.offset, err = decodeEventIDValue(c.key, v)
	if err != nil {
		return idEntry{}, false, false, err
	}
	return e, e.at >= cutoff, e.at < cutoff, nil
}

// idIterOptions bound the committer's iterator over the 'e' index.
var idIterOptions = pebble.IterOptions{
	LowerBound: []byte{prefixEventID},
	UpperBound: []byte{prefixEventID + 1},
}

// closeIDs closes the group's iterator over the 'e' index, if it opened
// one.
func (c *groupCommit) closeIDs() error {
	if c.ids == nil {
		return nil
	}
	err := c.ids.Close()
	c.ids = nil
	if err != nil {
		return fmt.Errorf("checkpoint: append: %w", err)
	}
	return nil
}

// index records the id of rec, appended at partition/off by call, among
// the group's ids, and in b unless it is already out of the window.
func (c *groupCommit) index(l *embeddedLog, b *pebble.Batch, call int, rec *Record, partition uint32, off uint64, rewrite bool) error {
	x := &l.ids
	x.groupMax = max(x.groupMax, rec.Time)
	e := idEntry{at: rec.Time, partition: partition, offset: off, call: call}
	if rec.Time < satSub(x.groupMax, x.window) {
		x.group[rec.ID] = e
		return nil
	}
	if rewrite {
		x.rewrites++
	}
	c.key = eventIDKey(c.key[:0], rec.ID)
	c.val = eventIDValue(c.val[:0], rec.Time, partition, off)
	if err := b.Set(c.key, c.val, nil); err != nil {
		return fmt.Errorf("checkpoint: append: %w", err)
	}
	c.key = eventTimeKey(c.key[:0], rec.Time, rec.ID)
	if err := b.Set(c.key, nil, nil); err != nil {
		return fmt.Errorf("checkpoint: append: %w", err)
	}
	e.indexed = true
	x.group[rec.ID] = e
	return nil
}

// fillRecords writes the records of an AppendRecords call that are not
// duplicates, and their ids, into b, and fills r.acks.
func (c *groupCommit) fillRecords(l *embeddedLog, b *pebble.Batch, call int, r *appendReq) error {
	var t *touched
	dedupe := l.ids.enabled()
	for i := range r.recs {
		rec := &r.recs[i]
		withID := dedupe && rec.ID != ""
		rewrite := false
		if withID {
			e, dup, rw, err := c.seen(l, call, rec.ID)
			if err != nil {
				return err
			}
			if dup {
				r.acks[i] = Appended{Partition: e.partition, Offset: e.offset, Duplicate: true}
				continue
			}
			rewrite = rw
		}
		if t == nil {
			t = c.partition(l, r.partition)
		}
		off := t.p.next
		if err := c.put(b, t, rec.Data); err != nil {
			return err
		}
		r.acks[i] = Appended{Partition: r.partition, Offset: off}
		r.appended++
		if withID {
			if err := c.index(l, b, call, rec, r.partition, off, rewrite); err != nil {
				return err
			}
		}
	}
	return nil
}

// pruneIDs removes the ids older than the window from both indexes, in
// chunks of pruneChunk; they no longer count as duplicates already (the
// window is checked on every lookup), so pruning only frees space. Its
// batches are not synced: should a crash undo one, the next pruning
// removes the entries again.
func (s *Store) pruneIDs() error {
	x := &s.logs.ids
	if !x.enabled() {
		return nil
	}
	cutoff := satSub(x.maxSeen.Load(), x.window)
	if cutoff == math.MinInt64 {
		return nil
	}
	total := 0
	for {
		n, more, err := s.pruneIDChunk(cutoff)
		total += n
		if err != nil || !more {
			if total > 0 {
				s.log.Debug("checkpoint: ids pruned", "removed", total, "before", cutoff)
			}
			return err
		}
	}
}

// pruneIDChunk removes up to pruneChunk ids older than cutoff and reports
// whether there may be more. It reads without holding the committer back,
// then commits only if the committer rewrote no entry meanwhile; should it
// have, the chunk is read again under the lock.
func (s *Store) pruneIDChunk(cutoff int64) (n int, more bool, err error) {
	x := &s.logs.ids
	for locked := false; ; locked = true {
		x.mu.Lock()
		rewrites := x.rewrites
		if !locked {
			x.mu.Unlock()
		}
		b := s.db.NewBatch()
		n, more, err = s.fillPrune(b, cutoff)
		if !locked {
			x.mu.Lock()
		}
		if err == nil && n > 0 {
			if x.rewrites != rewrites {
				x.mu.Unlock()
				_ = b.Close()
				continue
			}
			err = s.commitPebble(b, pebble.NoSync, "prune ids")
		} else if err != nil {
			err = fmt.Errorf("checkpoint: prune ids: %w", err)
		}
		x.mu.Unlock()
		if err = errors.Join(err, b.Close()); err != nil {
			return 0, false, err
		}
		return n, more, nil
	}
}

// fillPrune writes into b the deletion of the oldest 'x' entries below
// cutoff, up to pruneChunk of them, and of the 'e' entries they index: an
// 'e' entry with another time indexes a later record with the same id.
func (s *Store) fillPrune(b *pebble.Batch, cutoff int64) (n int, more bool, err error) {
	ids, err := s.db.NewIter(&idIterOptions)
	if err != nil {
		return 0, false, err
	}
	lower := []byte{prefixEventTime}
	var last, key []byte
	err = scanReader(s.db, lower, eventTimeKey(nil, cutoff, ""), "prune ids", func(k, _ []byte) (bool, error) {
		if n == pruneChunk {
			more = true
			return false, nil
		}
		at, id, err := decodeEventTimeKey(k)
		if err != nil {
			return false, err
		}
		key = append(append(key[:0], prefixEventID), id...)
		if ids.SeekPrefixGE(key) && bytes.Equal(ids.Key(), key) {
			v, err := ids.ValueAndErr()
			if err != nil {
				return false, err
			}
			indexed, _, _, err := decodeEventIDValue(key, v)
			if err != nil {
				return false, err
			}
			if indexed == at {
				if err := b.Delete(key, nil); err != nil {
					return false, err
				}
			}
		} else if err := ids.Error(); err != nil {
			return false, err
		}
		last = append(last[:0], k...)
		n++
		return true, nil
	})
	if err = errors.Join(err, ids.Close()); err != nil || n == 0 {
		return 0, false, err
	}
	return n, more, b.DeleteRange(lower, append(last, 0), nil)
}
