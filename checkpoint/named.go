package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Named records and dead letters: what a pipeline commits beside states,
// alerts and offsets, in the same batch.

// namedKey: 'n' name.
func namedKey(b []byte, name string) []byte {
	b = append(b, prefixNamed)
	return append(b, name...)
}

// deadLetterKey: 'd' source 0x00 partition(4) offset(8).
func deadLetterKey(b []byte, source string, partition uint32, off uint64) []byte {
	b = sourceKey(b, prefixDeadLetter, source, partition)
	return binary.BigEndian.AppendUint64(b, off)
}

// PutMeta sets a named record: free-form bytes that commit with the batch,
// such as what a pipeline needs to resume exactly where its offsets say.
func (b *Batch) PutMeta(name string, value []byte) {
	if !b.ok() || !b.name("meta", name) {
		return
	}
	b.key = namedKey(b.key[:0], name)
	b.set(b.key, value)
}

// DeleteMeta removes a named record.
func (b *Batch) DeleteMeta(name string) {
	if !b.ok() || !b.name("meta", name) {
		return
	}
	b.key = namedKey(b.key[:0], name)
	b.delete(b.key)
}

// GetMeta returns a copy of a committed named record, and whether there is
// one.
func (s *Store) GetMeta(name string) ([]byte, bool, error) {
	if err := checkName("meta", name); err != nil {
		return nil, false, err
	}
	if err := s.enter(); err != nil {
		return nil, false, err
	}
	defer s.leave()
	k := namedKey(nil, name)
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("checkpoint: read %s: %w", keyString(k), err)
	}
	value := append([]byte{}, v...)
	return value, true, closer.Close()
}

// PutDeadLetter keeps a record of (source, partition) at offset that could
// not be processed, with the reason.
func (b *Batch) PutDeadLetter(source string, partition uint32, offset uint64, reason string, record []byte) {
	if !b.ok() || !b.name("source", source) {
		return
	}
	b.key = deadLetterKey(b.key[:0], source, partition, offset)
	b.val = binary.AppendUvarint(b.val[:0], uint64(len(reason)))
	b.val = append(b.val, reason...)
	b.val = append(b.val, record...)
	b.set(b.key, b.val)
}

// DeadLetters calls fn for the dead letters of (source, partition) in
// offset order until fn returns false. record is valid only during the
// call.
func (s *Store) DeadLetters(source string, partition uint32, fn func(offset uint64, reason string, record []byte) bool) error {
	if err := checkName("source", source); err != nil {
		return err
	}
	prefix := sourceKey(nil, prefixDeadLetter, source, partition)
	return s.scan(prefix, prefixEnd(prefix), "read dead letters", func(k, v []byte) (bool, error) {
		if len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
			return false, corrupt(k, "malformed dead letter key")
		}
		n, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < n {
			return false, corrupt(k, "dead letter reason length out of range")
		}
		off := binary.BigEndian.Uint64(k[len(prefix):])
		return fn(off, string(v[w:w+int(n)]), v[w+int(n):]), nil
	})
}
