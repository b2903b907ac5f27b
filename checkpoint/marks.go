package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Alert marks and alert numbering: what a node that takes a partition over
// from another needs to continue the alert log where the other left it.
//
// A mark ('k' seq) records, for the first alert of a commit, where the
// input stood when that commit began (the caller's bytes: its source
// offsets). Every alert from seq on, up to the next mark, came from input
// read after that position, so "alerts below P are delivered" translates
// into "input up to the mark's position, plus P-seq alerts after it".

// prefixMark keys the alert marks: 'k' seq:u64 -> the caller's bytes.
const prefixMark byte = 'k'

func markKey(b []byte, seq uint64) []byte {
	b = append(b, prefixMark)
	return binary.BigEndian.AppendUint64(b, seq)
}

// PutAlertMark records that the alerts from seq on (to the next mark) came
// from input read after the position mark describes.
func (b *Batch) PutAlertMark(seq uint64, mark []byte) {
	if !b.ok() {
		return
	}
	b.key = markKey(b.key[:0], seq)
	b.set(b.key, mark)
}

// AlertMark returns the mark with the greatest sequence number at or below
// seq, and that number; ok is false if there is none.
func (s *Store) AlertMark(seq uint64) (at uint64, mark []byte, ok bool, err error) {
	if err := s.enter(); err != nil {
		return 0, nil, false, err
	}
	defer s.leave()
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixMark},
		UpperBound: markKey(nil, seq+1),
	})
	if err != nil {
		return 0, nil, false, fmt.Errorf("checkpoint: read alert marks: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		return 0, nil, false, it.Error()
	}
	k := it.Key()
	if len(k) != 9 {
		return 0, nil, false, corrupt(k, "malformed alert mark key")
	}
	return binary.BigEndian.Uint64(k[1:]), append([]byte(nil), it.Value()...), true, nil
}

// TrimAlertMarks removes the marks below the greatest one at or below seq:
// the marks a reader at seq or later can still ask for are kept.
func (s *Store) TrimAlertMarks(seq uint64) error {
	at, _, ok, err := s.AlertMark(seq)
	if err != nil || !ok || at == 0 {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange([]byte{prefixMark}, markKey(nil, at), nil); err != nil {
		return fmt.Errorf("checkpoint: trim alert marks below %d: %w", at, err)
	}
	return s.commitPebble(b, pebble.NoSync, fmt.Sprintf("trim alert marks below %d", at))
}

// ErrAlertsOpen refuses SkipAlertsTo while a batch holds alert numbers.
var ErrAlertsOpen = errors.New("checkpoint: a batch holds alert numbers")

// SkipAlertsTo makes next the sequence number of the next alert appended,
// if it is above the current one, leaving a gap below it: a node that
// continues another's alert log numbers its alerts as the other did. It
// commits (synced) before it returns, and fails with ErrAlertsOpen while a
// batch holds alert numbers.
func (s *Store) SkipAlertsTo(next uint64) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	a := &s.alerts
	a.mu.Lock()
	defer a.mu.Unlock()
	if next <= a.next {
		return nil
	}
	if len(a.open) > 0 {
		return ErrAlertsOpen
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := mergeCounter(b, counterKey(ctrAlertNext), next); err != nil {
		return fmt.Errorf("checkpoint: skip alerts to %d: %w", next, err)
	}
	if err := s.commitPebble(b, pebble.Sync, fmt.Sprintf("skip alerts to %d", next)); err != nil {
		return err
	}
	a.next = next
	a.settled.Store(next - 1)
	return nil
}
