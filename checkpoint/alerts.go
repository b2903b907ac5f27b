package checkpoint

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// alertLog hands out alert sequence numbers and tracks which are settled.
//
// AppendAlert reserves a number at once; the batch holding it may commit
// later, or never. settled is the highest number below which no batch holds
// a reservation: every alert at or below it is committed or will never
// exist. Readers see only settled alerts, so a reader that follows the log
// with a cursor never skips an alert that commits late.
type alertLog struct {
	mu   sync.Mutex
	next uint64              // next number to hand out, >= 1
	open map[*Batch]struct{} // batches holding reservations

	settled atomic.Uint64
	count   atomic.Int64
	bytes   atomic.Int64
}

func (a *alertLog) load(db *pebble.DB) error {
	next, err := readCounter(db, counterKey(ctrAlertNext))
	if err != nil {
		return fmt.Errorf("checkpoint: load alert log: %w", err)
	}
	count, err := readCounter(db, counterKey(ctrAlertCount))
	if err != nil {
		return fmt.Errorf("checkpoint: load alert log: %w", err)
	}
	n, err := readCounter(db, counterKey(ctrAlertBytes))
	if err != nil {
		return fmt.Errorf("checkpoint: load alert log: %w", err)
	}
	a.next = max(next, 1)
	a.open = make(map[*Batch]struct{})
	a.settled.Store(a.next - 1)
	a.count.Store(int64(count))
	a.bytes.Store(int64(n))
	return nil
}

// reserve hands out the next sequence number to b.
func (a *alertLog) reserve(b *Batch) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	seq := a.next
	a.next++
	if b.minSeq == 0 {
		b.minSeq = seq
		a.open[b] = struct{}{}
	}
	b.maxSeq = seq
	return seq
}

// resolve ends b's reservations. An abandoned batch whose numbers are the
// last handed out gives them back, so a single writer leaves no gaps.
func (a *alertLog) resolve(b *Batch, committed bool) {
	if committed {
		a.count.Add(b.alertCount)
		a.bytes.Add(b.alertBytes)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.open, b)
	if !committed && a.next == b.maxSeq+1 && a.noneAbove(b.minSeq) {
		a.next = b.minSeq
	}
	settled := a.next - 1
	for o := range a.open {
		settled = min(settled, o.minSeq-1)
	}
	a.settled.Store(settled)
}

// noneAbove reports whether no open batch holds a number >= seq.
func (a *alertLog) noneAbove(seq uint64) bool {
	for o := range a.open {
		if o.maxSeq >= seq {
			return false
		}
	}
	return true
}

// LastAlertSeq returns the highest settled alert sequence number: every
// alert at or below it that will ever exist is committed and visible to
// Alerts. 0 when there has been none.
func (s *Store) LastAlertSeq() uint64 { return s.alerts.settled.Load() }

// AlertSeen returns the sequence number of the committed alert with this
// id, if the alert log (or its id index, which retention trims with it)
// still holds one.
func (s *Store) AlertSeen(id string) (seq uint64, ok bool, err error) {
	if err := s.enter(); err != nil {
		return 0, false, err
	}
	defer s.leave()
	key := alertIDKey(nil, id)
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("checkpoint: read %s: %w", keyString(key), err)
	}
	defer closer.Close()
	seq, err = u64(key, v)
	if err != nil {
		return 0, false, err
	}
	return seq, true, nil
}

// Alerts calls fn for every settled alert with a sequence number >= fromSeq,
// in order, until fn returns false. payload is valid only during the call.
func (s *Store) Alerts(fromSeq uint64, fn func(seq uint64, payload []byte) bool) error {
	return s.scanAlerts(fromSeq, func(seq uint64, _ int64, _, payload []byte) bool {
		return fn(seq, payload)
	})
}

// scanAlerts is Alerts with the whole record.
func (s *Store) scanAlerts(fromSeq uint64, fn func(seq uint64, at int64, id, payload []byte) bool) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	upTo := s.alerts.settled.Load()
	if fromSeq > upTo {
		return nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: alertKey(nil, fromSeq),
		UpperBound: alertKey(nil, upTo+1),
	})
	if err != nil {
		return fmt.Errorf("checkpoint: read alerts: %w", err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		seq, at, id, payload, err := decodeAlert(it)
		if err != nil {
			return errors.Join(err, it.Close())
		}
		if !fn(seq, at, id, payload) {
			break
		}
	}
	return closeIter(it, "read alerts")
}

func decodeAlert(it *pebble.Iterator) (seq uint64, at int64, id, payload []byte, err error) {
	k := it.Key()
	if seq, err = decodeAlertKey(k); err != nil {
		return 0, 0, nil, nil, err
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return 0, 0, nil, nil, fmt.Errorf("checkpoint: read %s: %w", keyString(k), err)
	}
	at, id, payload, err = decodeAlertValue(k, v)
	return seq, at, id, payload, err
}

// closeIter closes it and returns the first error it met.
func closeIter(it *pebble.Iterator, what string) error {
	if err := it.Close(); err != nil {
		return readErr(err, what)
	}
	return nil
}
