package checkpoint

import (
	"bytes"
	"errors"

	"github.com/cockroachdb/pebble/v2"
)

// GetState returns a copy of the committed state of key in (pattern,
// version), and whether there is one.
func (s *Store) GetState(pattern string, version uint32, key []byte) ([]byte, bool, error) {
	if err := checkName("pattern", pattern); err != nil {
		return nil, false, err
	}
	if err := s.enter(); err != nil {
		return nil, false, err
	}
	defer s.leave()
	k := stateKey(nil, pattern, version, key)
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, readErr(err, "read "+keyString(k))
	}
	state := bytes.Clone(v)
	if state == nil {
		state = []byte{}
	}
	return state, true, closer.Close()
}

// States calls fn for every state of (pattern, version) in key order until
// fn returns false. key and state are valid only during the call.
func (s *Store) States(pattern string, version uint32, fn func(key, state []byte) bool) error {
	if err := checkName("pattern", pattern); err != nil {
		return err
	}
	prefix := stateKey(nil, pattern, version, nil)
	return s.scan(prefix, prefixEnd(prefix), "read states", func(k, v []byte) (bool, error) {
		return fn(k[len(prefix):], v), nil
	})
}

// AllStates calls fn for every state in the store, ordered by pattern,
// version and key, until fn returns false: what a node reads to rebuild its
// memory. key and state are valid only during the call.
func (s *Store) AllStates(fn func(pattern string, version uint32, key, state []byte) bool) error {
	var name names
	return s.scan([]byte{prefixState}, []byte{prefixState + 1}, "read states", func(k, v []byte) (bool, error) {
		p, version, key, err := decodeStateKey(k)
		if err != nil {
			return false, err
		}
		return fn(name.of(p), version, key, v), nil
	})
}

// Offsets returns the committed offsets: source, then partition, to the
// next offset to read.
func (s *Store) Offsets() (map[string]map[uint32]uint64, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	return readOffsets(s.db)
}

// Watermarks returns the committed watermarks by source and partition.
func (s *Store) Watermarks() (map[string]map[uint32]int64, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	return readWatermarks(s.db)
}

func readOffsets(r pebble.Reader) (map[string]map[uint32]uint64, error) {
	m := map[string]map[uint32]uint64{}
	err := scanReader(r, []byte{prefixOffset}, []byte{prefixOffset + 1}, "read offsets", func(k, v []byte) (bool, error) {
		src, p, err := decodeSourceKey(k)
		if err != nil {
			return false, err
		}
		next, err := u64(k, v)
		if err != nil {
			return false, err
		}
		if m[src] == nil {
			m[src] = map[uint32]uint64{}
		}
		m[src][p] = next
		return true, nil
	})
	return m, err
}

func readWatermarks(r pebble.Reader) (map[string]map[uint32]int64, error) {
	m := map[string]map[uint32]int64{}
	err := scanReader(r, []byte{prefixWatermark}, []byte{prefixWatermark + 1}, "read watermarks", func(k, v []byte) (bool, error) {
		src, p, err := decodeSourceKey(k)
		if err != nil {
			return false, err
		}
		wm, err := u64(k, v)
		if err != nil {
			return false, err
		}
		if m[src] == nil {
			m[src] = map[uint32]int64{}
		}
		m[src][p] = int64(wm)
		return true, nil
	})
	return m, err
}

// scan calls fn for every key in [lower, upper) until it returns false or
// an error.
func (s *Store) scan(lower, upper []byte, what string, fn func(k, v []byte) (bool, error)) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return scanReader(s.db, lower, upper, what, fn)
}

func scanReader(r pebble.Reader, lower, upper []byte, what string, fn func(k, v []byte) (bool, error)) error {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return readErr(err, what)
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return errors.Join(readErr(err, what+" at "+keyString(it.Key())), it.Close())
		}
		more, err := fn(it.Key(), v)
		if err != nil {
			return errors.Join(err, it.Close())
		}
		if !more {
			break
		}
	}
	return closeIter(it, what)
}

// names turns pattern names read from keys into strings, reusing the last
// one: keys of one pattern come together, so a scan allocates once per
// pattern rather than once per key.
type names struct{ last string }

func (n *names) of(b []byte) string {
	if string(b) != n.last {
		n.last = string(b)
	}
	return n.last
}
