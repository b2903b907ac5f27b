package statebench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/motifcep/motif/pipeline"
)

// MinGap is the shortest gap between records that Input keeps: shorter
// ones are the normal cost of an event, not a pause.
const MinGap = 500 * time.Microsecond

// Input is a pipeline input of one partition whose records are made as
// they are read: record n is the line Make appends. Only the records below
// the limit (Release) are available and, when paced (Pace), only those
// whose time in a steady stream has come.
//
// It notes when the pipeline takes each record and keeps the gaps of at
// least MinGap between consecutive ones while the next record was
// available: the pauses of processing as seen from the input (Pause).
type Input struct {
	mk    func(b []byte, n uint64) []byte
	limit atomic.Uint64
	taken atomic.Uint64

	mu   sync.Mutex
	pace pace
	gaps []Gap

	// Run's goroutine only.
	next uint64
	last time.Time
	buf  []byte
}

type pace struct {
	rate float64 // records per second; 0: no pacing
	from time.Time
	base uint64 // the records due at from
}

// Gap is a pause between two consecutive records: the later one was taken
// at End, D after the earlier one was (or after it was due, if later).
type Gap struct {
	End time.Time
	D   time.Duration
}

// Start is when the gap began.
func (g Gap) Start() time.Time { return g.End.Add(-g.D) }

var _ pipeline.Input = (*Input)(nil)

// NewInput returns an input of the records mk makes, none available yet.
func NewInput(mk func(b []byte, n uint64) []byte) *Input {
	return &Input{mk: mk}
}

// Release makes the records below n available.
func (in *Input) Release(n uint64) { in.limit.Store(n) }

// Taken returns how many records the pipeline took.
func (in *Input) Taken() uint64 { return in.taken.Load() }

// Pace makes records come at rate per second from now on (a steady
// stream, still within the limit); 0 makes every released record
// available at once.
func (in *Input) Pace(rate float64) {
	in.mu.Lock()
	in.pace = pace{rate: rate, from: time.Now(), base: in.taken.Load()}
	in.mu.Unlock()
}

// Behind returns how many records of a paced stream are due and not yet
// taken (within the limit).
func (in *Input) Behind() uint64 {
	in.mu.Lock()
	pc := in.pace
	in.mu.Unlock()
	if pc.rate <= 0 {
		return 0
	}
	due := min(in.limit.Load(), pc.base+uint64(time.Since(pc.from).Seconds()*pc.rate))
	return due - min(due, in.taken.Load())
}

// Pause returns the longest gap that overlaps [from, to], and the number
// of gaps of at least MinGap that do.
func (in *Input) Pause(from, to time.Time) (longest Gap, n int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, g := range in.gaps {
		if g.End.Before(from) || g.Start().After(to) {
			continue
		}
		if g.D > longest.D {
			longest = g
		}
		n++
	}
	return longest, n
}

// Partitions names the one partition.
func (in *Input) Partitions() []pipeline.Partition {
	return []pipeline.Partition{{Source: "statebench", Partition: 0}}
}

// Open starts at the committed offset, if any.
func (in *Input) Open(_ context.Context, from []*uint64) error {
	if len(from) > 0 && from[0] != nil {
		in.next = *from[0]
	}
	return nil
}

// Read passes the available records, at most limit.
func (in *Input) Read(limit int, fn func(i int, off uint64, r pipeline.Record) bool) (int, error) {
	avail := in.limit.Load()
	in.mu.Lock()
	pc := in.pace
	in.mu.Unlock()
	if pc.rate > 0 {
		avail = min(avail, pc.base+uint64(time.Since(pc.from).Seconds()*pc.rate))
	}
	n := 0
	for in.next < avail && n < limit {
		in.buf = in.mk(in.buf[:0], in.next)
		now := time.Now()
		from := in.last
		if pc.rate > 0 && in.next >= pc.base {
			due := pc.from.Add(time.Duration(float64(in.next-pc.base) / pc.rate * float64(time.Second)))
			if due.After(from) {
				from = due
			}
		}
		if d := now.Sub(from); !in.last.IsZero() && d >= MinGap {
			in.mu.Lock()
			in.gaps = append(in.gaps, Gap{now, d})
			in.mu.Unlock()
		}
		in.last = now
		if !fn(0, in.next, pipeline.Record{Value: in.buf}) {
			break
		}
		in.next++
		n++
		in.taken.Add(1)
	}
	return n, nil
}

// Close does nothing.
func (in *Input) Close() {}
