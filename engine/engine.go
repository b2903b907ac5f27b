package engine

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unique"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/eventtime"
	"github.com/motifcep/motif/nfa"
	"github.com/motifcep/motif/pattern"
)

// Config tunes an Engine. The zero value is usable.
type Config struct {
	// OutOfOrderness bounds how late an event may arrive: the watermark is
	// the largest event time seen minus it (default 0).
	OutOfOrderness time.Duration
	// DefaultWithin is the window of patterns that give none (default 24h).
	DefaultWithin time.Duration
	// MaxPartialMatches caps the partial matches of one key of one pattern
	// (default nfa.DefaultMaxRuns).
	MaxPartialMatches int
	// Version returns the version of a pattern; nil means 1 for all.
	Version func(name string) int
	// Now stamps detected_at; nil means time.Now.
	Now func() time.Time
	// Logger receives warnings (never one per event); nil discards.
	Logger *slog.Logger
	// Recycle receives every event the engine is done with (matched and not
	// kept by any partial match, kept and since let go of by every partial
	// match, invalid, or late), for reuse by the producer; it may be called
	// from Push, AdvanceWatermark, Flush and Close only. Nil keeps them in
	// the engine's own pool (NewEvent).
	Recycle func(*event.Event)

	// Retiring lists replaced pattern versions that finish their open
	// partial matches but start none (see Retiring).
	Retiring []Retiring

	// Store, if set, holds key states beyond memory (see StateStore); the
	// owner commits what Flush writes. Nil keeps every state in memory.
	Store StateStore
	// CacheBytes bounds the key states cached in memory when Store is set
	// (default DefaultCacheBytes).
	CacheBytes int64
	// StoreEmpty says the store holds no key state yet, so that a key the
	// engine never wrote needs no store read (see storedFilter).
	StoreEmpty bool
	// Schema lists attribute paths to give the first slots, in order: the
	// schema of the engine whose states the store holds (Schema().Paths()),
	// so that stored events decode into the same slots.
	Schema []string
	// ExternalWatermark: the watermark moves only by AdvanceWatermark (a
	// watermark over several partitions, computed by the owner), not by
	// the events pushed; OutOfOrderness is then ignored.
	ExternalWatermark bool
	// Totals are what the store holds of each pattern version's states, as
	// StateTotals reported at the commit the store is at.
	Totals []StateTotals
}

// Retiring is a replaced version of a pattern: its declaration (checked in
// the set it came from) and its version. It runs beside the live version,
// extends and completes the partial matches it holds, and starts no new
// ones; once it holds none it can be dropped from the engine.
type Retiring struct {
	Decl    *pattern.PatternDecl
	Version int
}

// Stats counts what the engine did.
type Stats struct {
	Events     uint64 // events accepted (valid, not late)
	Invalid    uint64 // events rejected by validation
	Late       uint64 // events older than the watermark
	Alerts     uint64 // alerts emitted
	Suppressed uint64 // alerts dropped by suppress
	Duplicates uint64 // alerts dropped because an identical one was just emitted
}

// Sink receives what the engine produces. Alert is called for every alert,
// in emission order; Late for every late event. Neither may keep a after
// returning unless it copies it.
type Sink interface {
	Alert(a *alert.Alert)
	Late(e *event.Event, watermark int64)
}

// ErrInvalidEvent wraps every validation failure.
var ErrInvalidEvent = errors.New("invalid event")

// Engine runs a set of patterns over one event-time-ordered stream. It is
// not safe for concurrent use.
type Engine struct {
	cfg      Config
	schema   *event.Schema
	patterns []*patternRT
	groups   []*keyGroup
	byType   map[string]*route
	anyType  *route
	cur      []*entry // per key group: the entry of the event being processed
	starts   []bool   // per pattern of the event's route: the event starts a partial match
	shapes   map[string]*shape
	// What routing and Validate need of each type (see typeOf): the
	// types with a route or a shape, by name; every entry by
	// typeEntry.idx, those types in name order and then otherType, so that
	// the engines of a Parallel number them alike.
	typeMap   map[string]*typeEntry
	typeList  []*typeEntry
	otherType *typeEntry
	sorter    *eventtime.Sorter
	timers    timerQueue
	sink      Sink
	pool      []*event.Event
	dropped   []*event.Event // scratch of reset (see drop)
	Stats     Stats
	warned    map[string]bool
	persist   *persistence
	shard     *shard // set when the engine is one shard of a Parallel
	seed      uint64 // of key hashes (see keyTable); a Parallel's shards share it
}

// New compiles the patterns of a checked set.
func New(set *pattern.Set, cfg Config, sink Sink) (*Engine, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e := &Engine{
		cfg:    cfg,
		schema: event.NewSchema(),
		byType: map[string]*route{},
		sorter: newSorter(cfg),
		sink:   sink,
		warned: map[string]bool{},
		seed:   rand.Uint64(),
	}
	for _, path := range cfg.Schema {
		e.schema.Slot(path)
	}
	if cfg.Store != nil {
		e.persist = &persistence{store: cfg.Store, limit: cfg.CacheBytes,
			filter: newStoredFilter(cfg.StoreEmpty), seen: map[*event.Event]struct{}{}}
		if e.persist.limit <= 0 {
			e.persist.limit = DefaultCacheBytes
		}
		e.persist.due.init()
	}
	for _, p := range set.Patterns {
		version := 1
		if cfg.Version != nil {
			version = cfg.Version(p.Name.Name)
		}
		if err := e.addPattern(p, version, false); err != nil {
			return nil, err
		}
	}
	for _, r := range cfg.Retiring {
		if err := e.addPattern(r.Decl, r.Version, true); err != nil {
			return nil, err
		}
	}
	e.groups = groupPatterns(e.patterns)
	e.cur = make([]*entry, len(e.groups))
	e.starts = make([]bool, len(e.patterns))
	// A route for every type a stage names, and one for all other types.
	var anyType []*patternRT
	named := map[string]bool{}
	for _, rt := range e.patterns {
		if rt.prog.Types == nil {
			anyType = append(anyType, rt)
		}
		for _, st := range rt.prog.Stages {
			if st.Type != "" {
				named[st.Type] = true
			}
		}
	}
	e.anyType = newRoute(anyType, "")
	for t := range named {
		// In pattern order, so that one event's alerts come in pattern order.
		var list []*patternRT
		for _, rt := range e.patterns {
			if rt.prog.Sees(t) {
				list = append(list, rt)
			}
		}
		e.byType[t] = newRoute(list, t)
	}
	e.shapes = compileShapes(set, e.schema)
	e.buildTypes()
	return e, nil
}

func (e *Engine) addPattern(p *pattern.PatternDecl, version int, retiring bool) error {
	prog, err := nfa.Compile(p, nfa.Options{
		Schema:        e.schema,
		DefaultWithin: e.cfg.DefaultWithin,
		MaxRuns:       e.cfg.MaxPartialMatches,
		Version:       version,
	})
	if err != nil {
		return err
	}
	m := nfa.NewMatcher(prog)
	m.Retiring = retiring
	rt := &patternRT{idx: len(e.patterns), prog: prog, m: m}
	for _, t := range e.cfg.Totals {
		if t.Name == prog.Name && t.Version == version {
			rt.storedPartials, rt.storedBytes = t.PartialMatches, t.StateBytes
		}
	}
	e.patterns = append(e.patterns, rt)
	return nil
}

// Schema returns the slots events must be decoded into.
func (e *Engine) Schema() *event.Schema { return e.schema }

// Buffered returns the number of events waiting for the watermark.
func (e *Engine) Buffered() int { return e.sorter.Len() }

// Watermark returns the current watermark.
func (e *Engine) Watermark() int64 { return e.sorter.Watermark() }

// NewEvent returns an event to decode into, recycled when possible. Pass it
// to Push, or to Release if it is not pushed.
func (e *Engine) NewEvent() *event.Event {
	if n := len(e.pool); n > 0 {
		ev := e.pool[n-1]
		e.pool = e.pool[:n-1]
		return ev
	}
	return e.Schema().NewEvent()
}

// drop lets go of the events in *evs, which states stopped holding, and
// empties it. One that no one holds any more is released; a shard collects
// those for its Parallel, which releases them once the batch is done (the
// shards may still read the batch's events until then).
func (e *Engine) drop(evs *[]*event.Event) {
	if len(*evs) == 0 {
		return
	}
	for _, ev := range *evs {
		if !ev.Drop() {
			continue
		}
		if e.shard != nil {
			e.shard.freed = append(e.shard.freed, ev)
		} else {
			e.Release(ev)
		}
	}
	clear(*evs)
	*evs = (*evs)[:0]
}

// Release hands back an event the engine is done with (see Config.Recycle).
func (e *Engine) Release(ev *event.Event) {
	if e.cfg.Recycle != nil {
		e.cfg.Recycle(ev)
		return
	}
	e.pool = append(e.pool, ev)
}

// Validate checks an event against the declared event types and the key
// fields of the patterns that see it, converting declared time and
// duration fields in place. It may run on another goroutine than Push.
func (e *Engine) Validate(ev *event.Event) error {
	t := e.typeOf(ev.Type)
	if t.sh != nil {
		if err := t.sh.check(ev); err != nil {
			return err
		}
	}
	for _, k := range t.keys {
		if ev.Field(k.slot).IsNull() {
			return fmt.Errorf("%w: missing key field %q (pattern %s)", ErrInvalidEvent, k.rt.prog.KeyPaths[k.i], k.rt.prog.Name)
		}
	}
	return nil
}

// route is what an event type goes to: its patterns, in pattern order, and
// their key groups; and for each pattern, whether the type can start a
// partial match there. A key without state in a pattern that the event
// does not start (by its type, then by the begin conditions: see
// nfa.Matcher.Starts) is left alone: the step would leave it empty. A
// group none of whose patterns the event starts is looked up but never
// created, so an event that only extends matches costs nothing for keys
// that have none.
type route struct {
	pats   []*patternRT
	starts []bool // per pattern: the type can start a partial match
	groups []*keyGroup
	inG    [][]int // per group: the positions in pats of its patterns
}

// newRoute builds the route of events of type typ; "" stands for every
// type that no stage names.
func newRoute(pats []*patternRT, typ string) *route {
	r := &route{pats: pats}
	for _, rt := range pats {
		starts := !rt.m.Retiring && rt.prog.CanStart(typ)
		r.starts = append(r.starts, starts)
		i := slices.Index(r.groups, rt.g)
		if i < 0 {
			i = len(r.groups)
			r.groups = append(r.groups, rt.g)
			r.inG = append(r.inG, nil)
		}
		r.inG[i] = append(r.inG[i], len(r.starts)-1)
	}
	return r
}

// typeEntry is what the engine knows of an event type: its route, its
// shape (nil when the type is not declared), and the key fields Validate
// checks, those of the route's patterns that the shape does not require
// already.
type typeEntry struct {
	idx  int32 // in Engine.typeList
	name string
	// The canonical copy of name, which the decoder gives events (see
	// event.Decoder): typeOf's comparisons meet the same bytes.
	handle unique.Handle[string]
	r      *route
	sh     *shape
	keys   []keyCheck
}

// keyCheck is the i-th key path of a pattern, in schema slot slot.
type keyCheck struct {
	slot, i int
	rt      *patternRT
}

// maxTypeScan is the most types typeOf finds by a scan: for a few short
// names, comparing lengths and then bytes costs less than hashing the
// name, and routing an event asks several times.
const maxTypeScan = 16

// newTypeEntry works out the entry of a type with route r and shape sh.
func newTypeEntry(name string, r *route, sh *shape) *typeEntry {
	t := &typeEntry{name: name, r: r, sh: sh}
	if name != "" {
		t.handle = unique.Make(name)
		t.name = t.handle.Value()
	}
	required := map[int]bool{}
	if sh != nil {
		for _, f := range sh.fields {
			required[f.slot] = !f.optional // a shape that passed holds it
		}
	}
	for _, rt := range r.pats {
		if rt.m.Retiring {
			continue // it starts nothing: an event without its key is no loss
		}
		for i, slot := range rt.prog.KeySlots {
			if !required[slot] {
				t.keys = append(t.keys, keyCheck{slot: slot, i: i, rt: rt})
			}
		}
	}
	return t
}

// buildTypes makes the entries of every type with a route or a shape and
// of all other types.
func (e *Engine) buildTypes() {
	names := map[string]bool{}
	for t := range e.byType {
		names[t] = true
	}
	for t := range e.shapes {
		names[t] = true
	}
	e.typeMap = map[string]*typeEntry{}
	for _, t := range slices.Sorted(maps.Keys(names)) {
		r, ok := e.byType[t]
		if !ok {
			r = e.anyType
		}
		te := newTypeEntry(t, r, e.shapes[t])
		te.idx = int32(len(e.typeList))
		e.typeMap[t] = te
		e.typeList = append(e.typeList, te)
	}
	e.otherType = newTypeEntry("", e.anyType, nil)
	e.otherType.idx = int32(len(e.typeList))
	e.typeList = append(e.typeList, e.otherType)
}

// typeOf returns what the engine knows of an event type. It only reads
// the engine, so that Validate may run on another goroutine than the
// matching.
func (e *Engine) typeOf(typ string) *typeEntry {
	if len(e.typeMap) <= maxTypeScan {
		for _, t := range e.typeList[:len(e.typeMap)] {
			if t.name == typ { // lengths first, then bytes
				return t
			}
		}
		return e.otherType
	}
	if t, ok := e.typeMap[typ]; ok {
		return t
	}
	return e.otherType
}

// Push validates an event and adds it to the stream; events are matched once
// the watermark passes them. An invalid event is counted and returned as an
// error; the engine takes ownership of ev in every case.
func (e *Engine) Push(ev *event.Event) error {
	if e.persist != nil && e.persist.err != nil {
		return e.persist.err
	}
	if err := e.Validate(ev); err != nil {
		e.Stats.Invalid++
		e.Release(ev)
		return err
	}
	return e.PushValid(ev)
}

// PushValid is Push for an event that passed Validate. Validate reads only
// what New built, so another goroutine (the one decoding) may validate
// while this one pushes, taking the check off the matching goroutine.
func (e *Engine) PushValid(ev *event.Event) error {
	if e.persist != nil && e.persist.err != nil {
		return e.persist.err
	}
	if !e.sorter.Push(ev) {
		e.Stats.Late++
		if e.sink != nil {
			e.sink.Late(ev, e.sorter.Watermark())
		}
		e.Release(ev)
		return nil
	}
	e.drain()
	if e.persist != nil && e.persist.err != nil {
		return e.persist.err
	}
	return nil
}

func newSorter(cfg Config) *eventtime.Sorter {
	if cfg.ExternalWatermark {
		// Trailing by "forever": only AdvanceTo moves the watermark.
		return eventtime.NewSorter(math.MaxInt64)
	}
	return eventtime.NewSorter(cfg.OutOfOrderness)
}

// AdvanceWatermark raises the watermark to wm (it never goes back) and
// matches what that releases: buffered events and expired timers. It is how
// the owner of an engine with ExternalWatermark moves event time, including
// when no event comes (an idle source).
func (e *Engine) AdvanceWatermark(wm int64) error {
	if e.persist != nil && e.persist.err != nil {
		return e.persist.err
	}
	if wm <= e.sorter.Watermark() {
		return nil
	}
	e.sorter.AdvanceTo(wm)
	e.drain()
	if e.persist != nil && e.persist.err != nil {
		return e.persist.err
	}
	return nil
}

// Close ends the input: the watermark goes to +infinity, so every buffered
// event is matched, every window closes and every pending absence completes.
func (e *Engine) Close() {
	e.sorter.Close()
	e.drain()
	e.flushHeld()
}

// flushHeld emits the matches still held back by a skip strategy in keys
// that have no timer (patterns with within none): at the end of input no
// partial match can complete to prune them. Keys go in the order of their
// earliest held match, so the output is deterministic.
func (e *Engine) flushHeld() {
	type held struct {
		en    *entry
		since int64
	}
	var hs []held
	for _, g := range e.groups {
		for _, en := range g.keys.all() {
			since, ok := int64(math.MaxInt64), false
			for _, st := range en.states {
				if st == nil {
					continue
				}
				if t, h := st.HeldSince(); h {
					since, ok = min(since, t), true
				}
			}
			if ok {
				hs = append(hs, held{en, since})
			}
		}
	}
	slices.SortFunc(hs, func(a, b held) int {
		return cmp.Or(cmp.Compare(a.since, b.since), cmp.Compare(a.en.g.idx, b.en.g.idx), strings.Compare(a.en.id, b.en.id))
	})
	for _, h := range hs {
		if e.shard != nil {
			e.shard.tag.set(phaseHeld, h.since, h.en)
		}
		e.advance(h.en, math.MaxInt64)
	}
}

func (e *Engine) drain() {
	for ev := e.sorter.Pop(); ev != nil; ev = e.sorter.Pop() {
		e.fireTimers(ev.Time)
		e.process(ev, e.typeOf(ev.Type))
	}
	e.fireTimers(e.sorter.Watermark())
}

// process matches one event. The engine holds it meanwhile (a shard's
// Parallel holds it for the shard), so that a state that takes it and lets
// go of it within the step does not free it; the states that keep it hold
// it on their own.
func (e *Engine) process(ev *event.Event, te *typeEntry) {
	e.Stats.Events++
	if e.shard != nil {
		e.shard.tag.phase = phaseEvent
	} else {
		ev.Hold()
	}
	r := te.r
	starts := e.starts[:len(r.pats)]
	for i, g := range r.groups {
		if e.shard != nil && !e.shard.owns(i) {
			continue // another shard's key
		}
		// Which of the group's patterns the event starts a partial match
		// of, judged by the event alone: a key that holds nothing is not
		// even looked up for one that starts nothing.
		create := false
		for _, j := range r.inG[i] {
			starts[j] = r.starts[j] && r.pats[j].m.Starts(ev)
			create = create || starts[j]
		}
		var k []byte
		var h uint64
		if s := e.shard; s != nil && i < opHashes && s.op.owners != allOwners {
			// Its Parallel's, hashed with the same seed.
			sp := s.op.keys[i]
			k, h = s.batch[sp.at:sp.at+sp.n:sp.at+sp.n], s.op.hashes[i]
		} else {
			k = g.keyOf(ev)
			h = e.hashKey(k)
		}
		g.curKey, g.curHash = k, h // for register and keyParts
		var en *entry
		if create {
			en = e.lookup(g, k, h)
		} else if en = e.find(g, k, h); en == nil {
			continue
		}
		e.touch(en)
		e.cur[g.idx] = en
	}
	for i, rt := range r.pats {
		en := e.cur[rt.g.idx]
		if en == nil || !starts[i] && (!en.isLive(rt.pos) || en.states[rt.pos].Idle()) {
			continue // it starts nothing on a key it holds nothing for
		}
		st := en.state(rt.pos)
		rt.out.Reset()
		before := st.PartialMatches()
		rt.m.Step(st, ev, &rt.out)
		rt.partialsDelta += int64(st.PartialMatches() - before)
		rt.deliver(e, en, st)
		if !en.reg && !st.Idle() { // after deliver: suppress keeps state too
			e.register(en)
		}
	}
	for _, g := range r.groups {
		en := e.cur[g.idx]
		if en == nil {
			continue
		}
		e.cur[g.idx] = nil
		if en.reg {
			e.markDirty(en)
		}
		e.settle(en, ev.Time)
	}
	if e.shard == nil && ev.Drop() {
		e.Release(ev)
	}
}

// PartialMatches returns the number of open partial matches over all keys.
func (e *Engine) PartialMatches() int {
	n := 0
	for _, g := range e.groups {
		for _, en := range g.keys.all() {
			for _, st := range en.states {
				if st != nil {
					n += st.PartialMatches()
				}
			}
		}
	}
	return n
}

// PatternStats counts what one pattern version did in this engine.
type PatternStats struct {
	Name       string
	Version    int
	Retiring   bool
	Alerts     uint64 // emitted
	Suppressed uint64 // dropped by suppress
	Timeouts   uint64 // partial matches that expired or timed out
	CapDropped uint64 // partial matches dropped by the cap
	// Its open partial matches over all keys, and with a store their
	// encoded bytes as of the last Flush (see StateTotals).
	PartialMatches, StateBytes int64
}

// PatternStats returns the counters of every pattern version, live ones
// first, in pattern order.
func (e *Engine) PatternStats() []PatternStats {
	out := make([]PatternStats, len(e.patterns))
	for i, rt := range e.patterns {
		out[i] = PatternStats{Name: rt.prog.Name, Version: rt.prog.Version, Retiring: rt.m.Retiring,
			Alerts: rt.alerts, Suppressed: rt.suppressed, Timeouts: rt.m.Stats.Timeouts, CapDropped: rt.m.Stats.CapDropped,
			PartialMatches: rt.storedPartials + rt.partialsDelta, StateBytes: rt.storedBytes}
	}
	return out
}

// MatcherStats returns the matcher counters of every pattern, by name.
func (e *Engine) MatcherStats() map[string]nfa.Stats {
	out := map[string]nfa.Stats{}
	for _, rt := range e.patterns {
		out[rt.prog.Name] = rt.m.Stats
	}
	return out
}

func (e *Engine) warnOnce(what, pat string, args ...any) {
	if e.shard != nil {
		e.shard.warn(what, pat, args)
		return
	}
	k := what + "\x00" + pat
	if e.warned[k] {
		return
	}
	e.warned[k] = true
	e.cfg.Logger.Warn(what, append([]any{"pattern", pat}, args...)...)
}

var noDeadline = int64(math.MaxInt64)
