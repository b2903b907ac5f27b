package checkpoint

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/cockroachdb/pebble/v2"
)

// Counters are 8-byte big-endian values under 'c' keys, written only with
// Pebble merges so that batches committed concurrently, in any order, add up
// the same: a max counter (the next alert sequence number, a log's end) never
// goes back, an add counter (bytes, records) sums every delta.

// counterMerger is the Pebble merge operator for counter keys. Its name is
// stored in the database, so it must never change.
var counterMerger = &pebble.Merger{
	Name: "motif.counter.v1",
	Merge: func(key, value []byte) (pebble.ValueMerger, error) {
		if len(key) < 2 || key[0] != prefixCounter {
			return nil, corrupt(key, "merge on a key that is not a counter")
		}
		m := &counterValue{add: key[1] >= counterAdd}
		if err := m.merge(value); err != nil {
			return nil, err
		}
		return m, nil
	},
}

type counterValue struct {
	add bool
	v   uint64
}

func (m *counterValue) merge(value []byte) error {
	if len(value) != 8 {
		return errors.New("checkpoint: counter operand is not 8 bytes")
	}
	x := binary.BigEndian.Uint64(value)
	if m.add {
		m.v += x
	} else {
		m.v = max(m.v, x)
	}
	return nil
}

func (m *counterValue) MergeNewer(value []byte) error { return m.merge(value) }
func (m *counterValue) MergeOlder(value []byte) error { return m.merge(value) }

func (m *counterValue) Finish(includesBase bool) ([]byte, io.Closer, error) {
	return binary.BigEndian.AppendUint64(nil, m.v), nil, nil
}

var _ pebble.ValueMerger = (*counterValue)(nil)

// mergeCounter adds a merge operand to b.
func mergeCounter(b *pebble.Batch, key []byte, v uint64) error {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v)
	return b.Merge(key, buf[:], nil)
}

// readCounter returns a counter's value, 0 if it was never written.
func readCounter(db pebble.Reader, key []byte) (uint64, error) {
	v, closer, err := db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	return u64(key, v)
}
