package pipeline

import (
	"context"

	"github.com/motifcep/motif/checkpoint"
)

// Input is what a pipeline consumes: partitions, each an ordered log of
// records addressed by offset (the embedded log, Kafka partitions). The
// pipeline keeps the offsets: it commits them with the state they
// produced, and opens the input at them after a restart, so state and
// offsets always agree.
type Input interface {
	// Partitions names the input's partitions: their offsets and dead
	// letters are stored under these names. Fixed for the input's life.
	Partitions() []Partition
	// Open starts reading: from[i] is the next offset of partition i, or
	// nil where nothing was committed (read from the partition's start).
	Open(ctx context.Context, from []*uint64) error
	// Read passes available records to fn, at most limit, in offset order
	// within each partition, and returns how many it passed. It does not
	// wait: with nothing available it returns 0. When fn returns false it
	// stops; records not passed come in the next Read.
	Read(limit int, fn func(i int, off uint64, r Record) bool) (int, error)
	Close()
}

// Pauser is an Input that can stop fetching a partition while the
// pipeline has enough of it (a partition far ahead of the others in event
// time waits for them instead of filling memory).
type Pauser interface {
	Pause(i int)
	Resume(i int)
}

// Lagger is an Input that knows how far behind the end of each partition
// its reading is (records).
type Lagger interface {
	Lag() []int64
}

// Partition names one partition of an input.
type Partition struct {
	Source    string
	Partition uint32
}

// Record is one record of an input. Its byte slices are valid until fn
// returns.
type Record struct {
	Value []byte
	Key   []byte // the record's key, if the input has keys
	Time  int64  // the record's own time (Unix ns), 0 if it has none
}

// LogInput reads partitions of the store's embedded log.
func LogInput(store *checkpoint.Store, partitions ...uint32) Input {
	in := &logInput{store: store}
	for _, p := range partitions {
		in.parts = append(in.parts, Partition{Source, p})
	}
	in.next = make([]uint64, len(in.parts))
	return in
}

type logInput struct {
	store *checkpoint.Store
	parts []Partition
	next  []uint64
	turn  int // the partition read first, for fairness
}

func (l *logInput) Partitions() []Partition { return l.parts }

func (l *logInput) Open(_ context.Context, from []*uint64) error {
	for i, f := range from {
		if f != nil {
			l.next[i] = *f
		} else {
			l.next[i] = l.store.LogStart(l.parts[i].Partition)
		}
	}
	return nil
}

func (l *logInput) Read(limit int, fn func(i int, off uint64, r Record) bool) (int, error) {
	n := 0
	stop := false
	for k := range l.parts {
		if n >= limit || stop {
			break
		}
		i := (l.turn + k) % len(l.parts)
		err := l.store.ReadLog(l.parts[i].Partition, l.next[i], limit-n, func(off uint64, rec []byte) bool {
			if !fn(i, off, Record{Value: rec}) {
				stop = true
				return false
			}
			l.next[i] = off + 1
			n++
			return true
		})
		if err != nil {
			return n, err
		}
	}
	l.turn++
	return n, nil
}

func (l *logInput) Close() {}
