package pipeline

import (
	"sync"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/event"
)

// Reading ahead. A pipeline over one partition of the embedded log reads
// and decodes its records on a goroutine of their own (the fetcher), a few
// batches ahead of matching, so that matching does not wait for Pebble's
// iteration, decompression and JSON decoding. Batches go to Run through
// ready and come back through free, so the fetcher is never more than
// fetchDepth batches ahead; the events matching is done with come back
// through an eventPool. Run's goroutine does everything else with a
// record, in offset order, as it does with a record it reads itself.
//
// The fetcher decodes with the engine's schema and validates with the
// engine (engine.Engine.Validate, which may run beside matching), so that
// matching pushes a valid event without checking it again (PushValid) and
// the first touch of a freshly decoded event is not on the matching
// goroutine: a pattern change (a new engine) stops it, drops what it read
// ahead and starts it again where matching stands.

// Size and number of the batches read ahead.
const (
	fetchBatch = 1024
	fetchDepth = 4
)

// fetched is a batch of records read ahead; its records' values are in
// data.
type fetched struct {
	recs []fetchedRec
	data []byte
	err  error // reading the log failed after recs
}

// fetchedRec is one record read ahead, with its event decoded (or the
// reason it could not be) and whether the engine found it valid.
type fetchedRec struct {
	off        uint64
	start, end int // its value: data[start:end]
	ev         *event.Event
	err        error
	valid      bool
}

// fetcher reads one partition of the embedded log ahead of matching.
type fetcher struct {
	store    *checkpoint.Store
	part     uint32
	dec      Decoder
	validate func(*event.Event) error
	pool     *eventPool

	ready chan *fetched
	free  chan *fetched
	poke  chan struct{} // the reader, which found the end of the log, may look again
	stop  chan struct{}
	done  chan struct{}

	// Run's side.
	cur    *fetched // the batch being matched
	pos    int      // cur.recs[:pos] are matched
	parked bool     // the fetcher found the end and waits for poke
}

// startFetcher starts reading partition part of the store's log at from,
// decoding with dec and validating with validate.
func startFetcher(store *checkpoint.Store, part uint32, from uint64, dec Decoder, validate func(*event.Event) error, pool *eventPool) *fetcher {
	f := &fetcher{store: store, part: part, dec: dec, validate: validate, pool: pool,
		ready: make(chan *fetched, fetchDepth), free: make(chan *fetched, fetchDepth),
		poke: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	for range fetchDepth {
		f.free <- &fetched{}
	}
	go f.run(from)
	return f
}

// run is the fetcher's goroutine: it fills free batches from next on. A
// batch that finds the end of the log goes out empty, and the fetcher then
// waits to be poked before it looks again. After an error it stops.
func (f *fetcher) run(next uint64) {
	defer close(f.done)
	for {
		var b *fetched
		select {
		case b = <-f.free:
		case <-f.stop:
			return
		}
		b.err = f.store.ReadLog(f.part, next, fetchBatch, func(off uint64, rec []byte) bool {
			start := len(b.data)
			b.data = append(b.data, rec...)
			r := fetchedRec{off: off, start: start, end: len(b.data), ev: f.pool.get()}
			r.err = f.dec.Decode(b.data[start:r.end], r.ev)
			r.valid = r.err == nil && f.validate(r.ev) == nil
			b.recs = append(b.recs, r)
			next = off + 1
			return true
		})
		failed, empty := b.err != nil, len(b.recs) == 0 // b is Run's once sent
		select {
		case f.ready <- b:
		case <-f.stop:
			return
		}
		switch {
		case failed:
			<-f.stop
			return
		case !empty:
			continue
		}
		select {
		case <-f.poke:
		case <-f.stop:
			return
		}
	}
}

// next returns the batch to match from, waiting for the fetcher if it has
// none ready; nil once the end of the log is reached (the next call looks
// again).
func (f *fetcher) next() (*fetched, error) {
	if f.cur != nil {
		return f.cur, nil
	}
	if f.parked {
		f.parked = false
		f.poke <- struct{}{}
	}
	b := <-f.ready
	if b.err != nil {
		return nil, b.err
	}
	if len(b.recs) == 0 {
		f.parked = true
		f.recycle(b)
		return nil, nil
	}
	f.cur, f.pos = b, 0
	return b, nil
}

// ahead says whether a batch is there to match without waiting.
func (f *fetcher) ahead() bool { return f.cur != nil || len(f.ready) > 0 }

// advance marks the record at f.pos matched.
func (f *fetcher) advance() {
	f.pos++
	if f.pos == len(f.cur.recs) {
		f.recycle(f.cur)
		f.cur = nil
	}
}

func (f *fetcher) recycle(b *fetched) {
	clear(b.recs)
	b.recs, b.data, b.err = b.recs[:0], b.data[:0], nil
	f.free <- b
}

// close stops the fetcher and waits for it; the events it read ahead are
// dropped.
func (f *fetcher) close() {
	close(f.stop)
	<-f.done
}

// eventPool keeps the events the engine is done with (engine.Config.Recycle)
// for the fetcher to decode into, across goroutines.
type eventPool struct {
	mu    sync.Mutex
	evs   []*event.Event
	slots int // the room a new event has for fields (see event.NewEvent)
}

// maxPooled bounds the events an eventPool keeps.
const maxPooled = 8 * fetchBatch * fetchDepth

func (p *eventPool) get() *event.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.evs); n > 0 {
		ev := p.evs[n-1]
		p.evs = p.evs[:n-1]
		return ev
	}
	return event.NewEvent(p.slots)
}

// setSlots sets the room of the events get makes from now on: the
// engine's schema, which only grows.
func (p *eventPool) setSlots(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slots = n
}

func (p *eventPool) put(ev *event.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.evs) < maxPooled {
		p.evs = append(p.evs, ev)
	}
}
