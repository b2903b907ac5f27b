package engine

import (
	"cmp"
	"errors"
	"math/bits"
	"strings"
	"unsafe"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/eventtime"
	"github.com/motifcep/motif/internal/prefetch"
	"github.com/motifcep/motif/pattern"
)

// Parallel runs one set of patterns over one stream on several engines,
// each on its own goroutine and owning the keys whose hash falls to it. Its
// output is the one Engine's, alert for alert and in the same order: the
// shards see every event in event-time order (so timers fire at the same
// event times), step only the keys they own, and tag what they emit with
// its place in the one engine's order, by which the Parallel merges it.
//
// Events are handed to the shards in batches, so alerts reach the sink a
// batch later than an Engine would emit them; Close delivers the rest. It
// holds key states in memory only (Config.Store must be nil). Like Engine
// it is not safe for concurrent use, but Validate may run on another
// goroutine.
type Parallel struct {
	cfg    Config
	sink   Sink
	sorter *eventtime.Sorter
	shards []*Engine
	one    *Engine // the only engine, when there is one: called directly

	stats  Stats
	warned map[string]bool
	ops    []op   // the batch being filled
	keys   []byte // the keys its ops carry (see op.keys)
	flight []*parBatch
	pos    []int // merge's place in each shard's emissions
	free   []*parBatch
	closed bool
}

// op is one step of a shard's input: an event to match after firing the
// timers due by its time, or (at Close) the end of input: fire the timers
// due by the last watermark, then emit what skip strategies hold.
type op struct {
	ev *event.Event // nil for the end
	// The event's time, or at the end the last watermark: a shard that
	// owns none of the event's keys fires its timers without reading the
	// event, which another core decoded.
	at     int64
	owners uint64 // the shard of the event's key in each group of its route, ownerBits a group
	shards uint32 // bit i: shard i owns the key of some group
	// Bit s*opHashes+i: shard s owns the key of group i, for the groups
	// whose hashes the op carries (none with allOwners).
	mine uint32
	typ  int32 // the event's typeEntry.idx
	// The hashes of the event's keys in the first groups of its route, as
	// owners found them: the shard reads each key's slot in its table a
	// few ops ahead, and does not hash the key again.
	hashes [opHashes]uint64
	// Where those keys are in the batch's keys: the shard does not build
	// them again.
	keys [opHashes]keySpan
}

// keySpan is where a key is in a batch's keys.
type keySpan struct{ at, n uint32 }

// opHashes is how many of an event's key hashes (and keys) an op carries.
const opHashes = 2

// ownerBits is the width of a group's shard in op.owners; a route with
// more groups than fit has allOwners, and every shard steps all of them.
const (
	ownerBits = 4
	allOwners = ^uint64(0)
)

// parBatch is a run of ops on its way through the shards.
type parBatch struct {
	ops   []op
	keys  []byte           // the keys of the ops (see op.keys)
	out   [][]item         // per shard: what it emitted, in its order
	freed [][]*event.Event // per shard: events its states let go of that no one holds
	done  int              // shards done with it (counted by the Parallel)
}

// item is an alert or a warning a shard emitted, tagged with its place in
// the one engine's order.
type item struct {
	tag   tag
	alert *alert.Alert
	warn  string // the warning, when alert is nil
	pat   string
	args  []any
}

// The phases of an op, in the one engine's order: the timers due before it
// fire, then its event steps the patterns, then (at Close) the held
// matches are emitted.
const (
	phaseTimer = iota
	phaseEvent
	phaseHeld
)

// tag is where an emission falls in the one engine's order: the op, then
// the phase; among timers by due time, key group and key (the timer
// queue's order), among the steps of an event by pattern, and among held
// matches by the time they are held since, key group and key (flushHeld's
// order). Equal tags come from one key, so from one shard, whose order
// stands.
type tag struct {
	seg   int
	phase int
	at    int64
	gidx  int
	id    string
	pat   int
}

func (t *tag) set(phase int, at int64, en *entry) {
	t.phase, t.at, t.gidx, t.id = phase, at, en.g.idx, en.id
}

func (a *tag) compare(b *tag) int {
	if c := cmp.Or(cmp.Compare(a.seg, b.seg), cmp.Compare(a.phase, b.phase)); c != 0 {
		return c
	}
	if a.phase == phaseEvent {
		return cmp.Compare(a.pat, b.pat)
	}
	return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.gidx, b.gidx), strings.Compare(a.id, b.id))
}

// shard is what an Engine that is one shard of a Parallel needs.
type shard struct {
	idx    int
	op     *op    // being matched
	batch  []byte // the keys of the batch being matched (see op.keys)
	tag    tag
	out    []item
	freed  []*event.Event
	warned map[string]bool
	in     chan *parBatch
	done   chan *parBatch
}

// owns reports whether the event's key in the i-th group of its route
// belongs to this shard.
func (s *shard) owns(i int) bool {
	owners := s.op.owners
	return owners == allOwners || int(owners>>(i*ownerBits)&(1<<ownerBits-1)) == s.idx
}

func (s *shard) alert(a *alert.Alert, pat int) {
	t := s.tag
	t.pat = pat
	s.out = append(s.out, item{tag: t, alert: a})
}

func (s *shard) warn(what, pat string, args []any) {
	k := what + "\x00" + pat
	if s.warned[k] {
		return
	}
	s.warned[k] = true
	s.out = append(s.out, item{tag: s.tag, warn: what, pat: pat, args: args})
}

// parallelBatch is how many ops a batch holds; parallelFlight how many
// batches may be on their way through the shards. Few are: a shard then
// reads events that were decoded and routed a moment ago, still in the
// caches; with 16 batches of 512 on their way it read them from memory,
// and the fraud replay took 15% more CPU. Fewer or smaller batches cost
// more in handing them over than they save.
const (
	parallelBatch  = 384
	parallelFlight = 3
)

// NewParallel compiles the patterns of a checked set into n engines (n <= 1
// gives one engine, called directly).
func NewParallel(set *pattern.Set, cfg Config, sink Sink, n int) (*Parallel, error) {
	if cfg.Store != nil {
		return nil, errors.New("engine: a Parallel holds its states in memory (Config.Store must be nil)")
	}
	p := &Parallel{cfg: cfg, sink: sink, warned: map[string]bool{}}
	if n <= 1 {
		e, err := New(set, cfg, sink)
		if err != nil {
			return nil, err
		}
		p.one, p.shards = e, []*Engine{e}
		return p, nil
	}
	if n > 1<<ownerBits {
		n = 1 << ownerBits
	}
	p.sorter = newSorter(cfg)
	scfg := cfg
	scfg.OutOfOrderness, scfg.ExternalWatermark = 0, false // the Parallel orders
	for i := range n {
		e, err := New(set, scfg, nil)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			e.seed = p.shards[0].seed // owners hashes keys as the shards do
		}
		e.shard = &shard{idx: i, warned: map[string]bool{},
			in: make(chan *parBatch, parallelFlight), done: make(chan *parBatch, parallelFlight)}
		p.shards = append(p.shards, e)
		p.pos = append(p.pos, 0)
		go e.runShard()
	}
	return p, nil
}

// runShard matches the batches its Parallel sends until the channel closes.
func (e *Engine) runShard() {
	s := e.shard
	slots := e.Schema().Len()
	for b := range s.in {
		s.out, s.freed = b.out[s.idx][:0], b.freed[s.idx][:0]
		s.batch = b.keys
		for i, o := range b.ops {
			s.tag.seg = i
			// What the ops to come read: see prefetchKeys.
			if j := i + 6; j < len(b.ops) && b.ops[j].shards>>s.idx&1 != 0 {
				e.prefetchKeys(&b.ops[j], 0)
			}
			if j := i + 4; j < len(b.ops) && b.ops[j].shards>>s.idx&1 != 0 {
				b.ops[j].ev.PrefetchInline(slots) // decoded on another core
				e.prefetchKeys(&b.ops[j], 1)
			}
			if j := i + 2; j < len(b.ops) && b.ops[j].shards>>s.idx&1 != 0 {
				b.ops[j].ev.PrefetchStrings()
				e.prefetchKeys(&b.ops[j], 2)
			}
			if o.ev != nil {
				e.fireTimers(o.at)
				if o.shards>>s.idx&1 != 0 { // else: none of its keys is this shard's
					s.op = &b.ops[i]
					e.process(o.ev, e.typeList[o.typ])
				}
				continue
			}
			e.fireTimers(o.at)
			e.flushHeld()
		}
		b.out[s.idx], b.freed[s.idx] = s.out, s.freed
		s.out, s.freed, s.op, s.batch = nil, nil, nil, nil
		s.done <- b
	}
}

// prefetchKeys starts bringing in what looking up the keys of o's event
// that this shard owns reads, in stages some ops apart, each reading only
// what the one before brought in: 0, the slots where their probes start;
// 1, the entries in those slots; 2, the entries' live states.
func (e *Engine) prefetchKeys(o *op, stage int) {
	mine := o.mine >> (e.shard.idx * opHashes) & (1<<opHashes - 1)
	if mine == 0 {
		return
	}
	r := e.typeList[o.typ].r
	for ; mine != 0; mine &= mine - 1 {
		i := bits.TrailingZeros32(mine)
		g := r.groups[i]
		if stage == 0 {
			g.keys.prefetch(o.hashes[i])
			continue
		}
		en := g.keys.home(o.hashes[i])
		if en == nil {
			continue
		}
		if stage == 1 {
			prefetch.Lines(unsafe.Pointer(en), int(unsafe.Sizeof(entry{})))
			continue
		}
		for _, j := range r.inG[i] {
			if pos := r.pats[j].pos; en.isLive(pos) && en.states[pos] != nil {
				en.states[pos].Prefetch()
			}
		}
	}
}

// Schema returns the slots events must be decoded into.
func (p *Parallel) Schema() *event.Schema { return p.shards[0].Schema() }

// Validate is Engine.Validate; it may run on another goroutine than Push.
func (p *Parallel) Validate(ev *event.Event) error { return p.shards[0].Validate(ev) }

// Stats returns what the engines did: alerts as delivered so far,
// Suppressed and Duplicates as of Close.
func (p *Parallel) Stats() Stats {
	if p.one != nil {
		return p.one.Stats
	}
	return p.stats
}

// PatternStats is Engine.PatternStats summed over the shards; it may be
// called once Close has returned.
func (p *Parallel) PatternStats() []PatternStats {
	out := p.shards[0].PatternStats()
	for _, e := range p.shards[1:] {
		for i, ps := range e.PatternStats() {
			o := &out[i]
			o.Alerts += ps.Alerts
			o.Suppressed += ps.Suppressed
			o.Timeouts += ps.Timeouts
			o.CapDropped += ps.CapDropped
			o.PartialMatches += ps.PartialMatches
		}
	}
	return out
}

// Push is Engine.Push.
func (p *Parallel) Push(ev *event.Event) error {
	if err := p.Validate(ev); err != nil {
		if p.one != nil {
			p.one.Stats.Invalid++
		} else {
			p.stats.Invalid++
		}
		p.release(ev)
		return err
	}
	return p.PushValid(ev)
}

// PushValid is Engine.PushValid.
func (p *Parallel) PushValid(ev *event.Event) error {
	if p.one != nil {
		return p.one.PushValid(ev)
	}
	if !p.sorter.Push(ev) {
		p.stats.Late++
		if p.sink != nil {
			p.sink.Late(ev, p.sorter.Watermark())
		}
		p.release(ev)
		return nil
	}
	p.drain()
	return nil
}

// Close ends the input as Engine.Close does, delivers every alert and stops
// the shards' goroutines.
func (p *Parallel) Close() {
	if p.one != nil {
		p.one.Close()
		return
	}
	if p.closed {
		return
	}
	p.closed = true
	p.sorter.Close()
	p.drain()
	p.ops = append(p.ops, op{at: p.sorter.Watermark()})
	p.dispatch()
	for len(p.flight) > 0 {
		p.complete()
	}
	for _, e := range p.shards {
		close(e.shard.in)
		p.stats.Suppressed += e.Stats.Suppressed
		p.stats.Duplicates += e.Stats.Duplicates
	}
}

// drain moves the events the watermark releases into the batch; a shard
// matches each after the timers due by its time. Engine.drain also fires
// the timers due by the watermark after them: here those fire before the
// next event instead, which emits the same alerts in the same order (a
// timer whose passing has output fires at its own time either way).
func (p *Parallel) drain() {
	for ev := p.sorter.Pop(); ev != nil; ev = p.sorter.Pop() {
		p.stats.Events++
		ev.Hold() // until the batch is done (see complete)
		p.ops = append(p.ops, op{ev: ev, at: ev.Time})
		p.owners(&p.ops[len(p.ops)-1])
	}
	if len(p.ops) >= parallelBatch {
		p.dispatch()
	}
}

// owners fills in o's type, which shard owns the key of o's event in each
// group of its route, the set of those shards, and the keys' hashes. The
// types, routes and groups of every shard are alike, and read-only. The
// shard comes from the key's high hash bits, the key table's slot from its
// low ones.
func (p *Parallel) owners(o *op) {
	e, ev := p.shards[0], o.ev
	te := e.typeOf(ev.Type)
	o.typ = te.idx
	r := te.r
	if len(r.groups)*ownerBits >= 64 { // so that no real owners equal allOwners
		o.owners, o.shards = allOwners, 1<<len(p.shards)-1
		return
	}
	for i, g := range r.groups {
		at := len(p.keys)
		p.keys = appendKey(p.keys, g.slots, ev)
		h := e.hashKey(p.keys[at:])
		s := (h >> 32) % uint64(len(p.shards))
		o.owners |= s << (i * ownerBits)
		o.shards |= 1 << s
		if i < opHashes {
			o.hashes[i] = h
			o.keys[i] = keySpan{uint32(at), uint32(len(p.keys) - at)}
			o.mine |= 1 << (int(s)*opHashes + i)
		} else {
			p.keys = p.keys[:at] // the shards build it
		}
	}
}

// dispatch sends the filled batch to every shard, first completing the
// oldest batch if as many as allowed are on their way.
func (p *Parallel) dispatch() {
	if len(p.ops) == 0 {
		return
	}
	if len(p.flight) == parallelFlight {
		p.complete()
	}
	var b *parBatch
	if n := len(p.free); n > 0 {
		b, p.free = p.free[n-1], p.free[:n-1]
	} else {
		b = &parBatch{out: make([][]item, len(p.shards)), freed: make([][]*event.Event, len(p.shards))}
	}
	b.ops, p.ops = p.ops, b.ops[:0]
	b.keys, p.keys = p.keys, b.keys[:0]
	for _, e := range p.shards {
		e.shard.in <- b
	}
	p.flight = append(p.flight, b)
}

// complete waits for the oldest batch on its way, delivers what the shards
// emitted in the one engine's order and releases the events no one holds
// any more: the batch's own that no state kept, and those the shards' states
// let go of.
func (p *Parallel) complete() {
	b := p.flight[0]
	p.flight = append(p.flight[:0], p.flight[1:]...)
	for _, e := range p.shards {
		<-e.shard.done // each shard works through the batches in order
	}
	p.merge(b.out)
	for i, o := range b.ops {
		if o.ev != nil && o.ev.Drop() {
			p.release(o.ev)
		}
		b.ops[i] = op{}
	}
	for i := range b.out {
		clear(b.out[i])
		b.out[i] = b.out[i][:0]
		for _, ev := range b.freed[i] {
			p.release(ev)
		}
		clear(b.freed[i])
		b.freed[i] = b.freed[i][:0]
	}
	p.free = append(p.free, b)
}

// merge delivers the shards' emissions of one batch in tag order.
func (p *Parallel) merge(outs [][]item) {
	pos := p.pos[:len(outs)]
	clear(pos)
	for {
		best := -1
		for s, out := range outs {
			if pos[s] < len(out) && (best < 0 || out[pos[s]].tag.compare(&outs[best][pos[best]].tag) < 0) {
				best = s
			}
		}
		if best < 0 {
			return
		}
		it := &outs[best][pos[best]]
		pos[best]++
		if it.alert != nil {
			p.stats.Alerts++
			if p.sink != nil {
				p.sink.Alert(it.alert)
			}
			continue
		}
		if k := it.warn + "\x00" + it.pat; !p.warned[k] {
			p.warned[k] = true
			p.shards[0].cfg.Logger.Warn(it.warn, append([]any{"pattern", it.pat}, it.args...)...)
		}
	}
}

func (p *Parallel) release(ev *event.Event) {
	if p.cfg.Recycle != nil {
		p.cfg.Recycle(ev)
	}
}
