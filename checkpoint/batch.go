package checkpoint

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Batch gathers writes that commit atomically: keyed state, timers, source
// offsets and watermarks, and alerts. Nothing is visible to readers until
// Commit; a batch closed without Commit leaves no trace (its reserved alert
// sequence numbers may remain as a gap).
//
// The write methods do not return errors: the first problem (an invalid
// name, a closed store) is kept, later writes are ignored, and Commit
// returns it. A Batch is not safe for concurrent use. Every batch must end
// with Commit or Close; Close after Commit does nothing, so
// `defer b.Close()` is the usual pattern.
type Batch struct {
	s    *Store
	b    *pebble.Batch
	err  error
	done bool

	// Alert sequence numbers reserved by AppendAlert: [minSeq, maxSeq],
	// not necessarily contiguous when batches interleave. minSeq == 0: none.
	minSeq, maxSeq         uint64
	alertBytes, alertCount int64

	// The earliest timer put, for the timer hint; hasTimer tells if any.
	timerMin int64
	hasTimer bool

	key, val []byte // scratch; Pebble copies what it is given
}

// NewBatch starts a batch.
func (s *Store) NewBatch() *Batch {
	if err := s.enter(); err != nil {
		return &Batch{s: s, err: err}
	}
	defer s.leave()
	return &Batch{s: s, b: s.db.NewBatch()}
}

// Len is the size of the batch's writes in bytes: Go memory until it is
// committed (and, for a large batch, until Pebble flushes it).
func (b *Batch) Len() int {
	if b.b == nil {
		return 0
	}
	return b.b.Len()
}

// Err returns the first error the batch met, if any.
func (b *Batch) Err() error { return b.err }

// ok reports whether a write may proceed.
func (b *Batch) ok() bool {
	if b.done && b.err == nil {
		b.err = ErrBatchDone
	}
	return b.err == nil
}

// fail keeps err as the batch's first error.
func (b *Batch) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *Batch) set(key, value []byte) {
	if err := b.b.Set(key, value, nil); err != nil {
		b.fail(fmt.Errorf("checkpoint: batch set %s: %w", keyString(key), err))
	}
}

func (b *Batch) delete(key []byte) {
	if err := b.b.Delete(key, nil); err != nil {
		b.fail(fmt.Errorf("checkpoint: batch delete %s: %w", keyString(key), err))
	}
}

// PutState sets the state of key in (pattern, version).
func (b *Batch) PutState(pattern string, version uint32, key, state []byte) {
	if !b.ok() || !b.name("pattern", pattern) {
		return
	}
	b.key = stateKey(b.key[:0], pattern, version, key)
	b.set(b.key, state)
}

// DeleteState removes the state of key in (pattern, version).
func (b *Batch) DeleteState(pattern string, version uint32, key []byte) {
	if !b.ok() || !b.name("pattern", pattern) {
		return
	}
	b.key = stateKey(b.key[:0], pattern, version, key)
	b.delete(b.key)
}

// DeleteStates removes every state of (pattern, version) with one range
// deletion: the way to retire a pattern version.
func (b *Batch) DeleteStates(pattern string, version uint32) {
	if !b.ok() || !b.name("pattern", pattern) {
		return
	}
	start := stateKey(nil, pattern, version, nil)
	if err := b.b.DeleteRange(start, prefixEnd(start), nil); err != nil {
		b.fail(fmt.Errorf("checkpoint: batch delete range %s: %w", keyString(start), err))
	}
}

// PutTimer registers a timer of key in (pattern, version) at event time at.
func (b *Batch) PutTimer(at int64, pattern string, version uint32, key []byte) {
	if !b.ok() || !b.name("pattern", pattern) {
		return
	}
	b.key = timerKey(b.key[:0], at, pattern, version, key)
	b.set(b.key, nil)
	if !b.hasTimer || at < b.timerMin {
		b.timerMin, b.hasTimer = at, true
	}
}

// DeleteTimer removes a timer put with the same arguments.
func (b *Batch) DeleteTimer(at int64, pattern string, version uint32, key []byte) {
	if !b.ok() || !b.name("pattern", pattern) {
		return
	}
	b.key = timerKey(b.key[:0], at, pattern, version, key)
	b.delete(b.key)
}

// PutOffset records next, the offset of the first record of (source,
// partition) not yet reflected in the store.
func (b *Batch) PutOffset(source string, partition uint32, next uint64) {
	if !b.ok() || !b.name("source", source) {
		return
	}
	b.key = sourceKey(b.key[:0], prefixOffset, source, partition)
	b.val = appendU64(b.val[:0], next)
	b.set(b.key, b.val)
}

// PutWatermark records the watermark of (source, partition).
func (b *Batch) PutWatermark(source string, partition uint32, wm int64) {
	if !b.ok() || !b.name("source", source) {
		return
	}
	b.key = sourceKey(b.key[:0], prefixWatermark, source, partition)
	b.val = appendU64(b.val[:0], uint64(wm))
	b.set(b.key, b.val)
}

// AppendAlert adds an alert to the alert log and returns its sequence
// number, the next one after every sequence number handed out before,
// across restarts too. id must be non-empty; it is indexed so that
// AlertSeen finds it once the batch is committed. at is the alert's event
// time, which AlertRetention ages. It returns 0 when the batch has failed.
func (b *Batch) AppendAlert(id string, at int64, payload []byte) uint64 {
	if !b.ok() {
		return 0
	}
	if id == "" {
		b.fail(invalid("empty alert id"))
		return 0
	}
	seq := b.s.alerts.reserve(b)
	b.key = alertKey(b.key[:0], seq)
	b.val = alertValue(b.val[:0], id, at, payload)
	b.set(b.key, b.val)
	b.alertBytes += int64(len(b.key) + len(b.val))
	b.alertCount++
	b.key = alertIDKey(b.key[:0], id)
	b.val = appendU64(b.val[:0], seq)
	b.set(b.key, b.val)
	return seq
}

func (b *Batch) name(what, s string) bool {
	if err := checkName(what, s); err != nil {
		b.fail(err)
		return false
	}
	return true
}

// Commit applies the batch atomically. With sync the commit is durable
// when Commit returns; without, a crash may lose it (but never part of it).
// A batch holding alerts is always committed with sync: a sequence number
// readers have seen must survive a crash. Commit ends the batch, whatever
// it returns.
func (b *Batch) Commit(sync bool) error {
	if b.done {
		return ErrBatchDone
	}
	b.done = true
	if b.err != nil {
		b.release(false)
		return b.err
	}
	if err := b.s.enter(); err != nil {
		b.release(false)
		return err
	}
	defer b.s.leave()
	err := b.commit(sync)
	if err == nil && b.hasTimer {
		b.s.timers.lower(b.timerMin)
	}
	b.release(err == nil)
	return err
}

func (b *Batch) commit(sync bool) error {
	opts := pebble.NoSync
	if b.alertCount > 0 {
		opts = pebble.Sync
		if err := b.mergeAlertCounters(); err != nil {
			return err
		}
	} else if sync {
		opts = pebble.Sync
	}
	return b.s.commitPebble(b.b, opts, "commit")
}

func (b *Batch) mergeAlertCounters() error {
	for _, c := range []struct {
		kind byte
		v    uint64
	}{
		{ctrAlertNext, b.maxSeq + 1},
		{ctrAlertBytes, uint64(b.alertBytes)},
		{ctrAlertCount, uint64(b.alertCount)},
	} {
		if err := mergeCounter(b.b, counterKey(c.kind), c.v); err != nil {
			return fmt.Errorf("checkpoint: batch merge counter: %w", err)
		}
	}
	return nil
}

// release settles the batch's alert reservations and frees the Pebble batch.
func (b *Batch) release(committed bool) {
	if b.minSeq != 0 {
		b.s.alerts.resolve(b, committed)
	}
	if b.b != nil {
		_ = b.b.Close()
		b.b = nil
	}
}

// Close abandons the batch unless it was committed.
func (b *Batch) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	b.release(false)
	return nil
}

func appendU64(b []byte, v uint64) []byte {
	return append(b, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
