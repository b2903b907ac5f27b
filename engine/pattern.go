package engine

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/nfa"
)

// patternRT is one pattern at run time: its program, matcher and the states
// of its keys. Idle keys hold no state.
type patternRT struct {
	idx    int
	prog   *nfa.Program
	m      *nfa.Matcher
	keys   map[string]*keyState
	free   []*keyState
	keyBuf []byte
	out    nfa.Output
	ids    []string // ids emitted by the current step, to drop duplicates
}

type keyState struct {
	rt    *patternRT
	id    string   // the map key
	parts []string // the key as alerts show it
	st    *nfa.State
	timer int64  // deadline of the registered timer; noDeadline if none
	gen   uint32 // bumped when the keyState is recycled, to spot stale timers
}

// keyOf builds the map key of an event in rt.keyBuf: each part's kind, the
// length of its text and the text, so that the number 1 and the string "1"
// are different keys (as in FlinkCEP's keyBy) and no two composite keys
// collide.
func (rt *patternRT) keyOf(ev *event.Event) []byte {
	b := rt.keyBuf[:0]
	for _, slot := range rt.prog.KeySlots {
		v := ev.Field(slot)
		b = append(b, byte(v.Kind()))
		n := len(b)
		b = append(b, 0, 0, 0, 0)
		b = v.AppendText(b)
		binary.LittleEndian.PutUint32(b[n:], uint32(len(b)-n-4))
	}
	rt.keyBuf = b
	return b
}

func (rt *patternRT) state(ev *event.Event) *keyState {
	k := rt.keyOf(ev)
	if ks, ok := rt.keys[string(k)]; ok {
		return ks
	}
	var ks *keyState
	if n := len(rt.free); n > 0 {
		ks = rt.free[n-1]
		rt.free = rt.free[:n-1]
	} else {
		ks = &keyState{rt: rt, st: nfa.NewState(), timer: noDeadline}
	}
	return ks // a recycled keyState was cleared by settle
}

// step runs one event through the pattern for its key and reports whether
// the key's state kept the event.
func (rt *patternRT) step(e *Engine, ev *event.Event) bool {
	ks := rt.state(ev)
	rt.out.Reset()
	retained := rt.m.Step(ks.st, ev, &rt.out)
	if ks.id == "" && (!ks.st.Idle() || len(rt.out.Matches) > 0) {
		ks.id = string(rt.keyBuf)
		ks.parts = rt.keyParts(ev)
		rt.keys[ks.id] = ks
	}
	rt.deliver(e, ks)
	rt.settle(e, ks, ev.Time)
	return retained
}

func (rt *patternRT) keyParts(ev *event.Event) []string {
	if len(rt.prog.KeySlots) == 0 {
		return nil
	}
	parts := make([]string, len(rt.prog.KeySlots))
	for i, slot := range rt.prog.KeySlots {
		parts[i] = string(ev.Field(slot).AppendText(nil))
	}
	return parts
}

// settle registers the key's next deadline, or forgets an idle key. now is
// the event time being processed: no later event is older.
func (rt *patternRT) settle(e *Engine, ks *keyState, now int64) {
	d := ks.st.NextDeadline()
	if rt.prog.Suppress > 0 && ks.st.LastAlert != math.MinInt64 {
		until := ks.st.LastAlert + rt.prog.Suppress
		if until <= now {
			ks.st.LastAlert = math.MinInt64
		} else if until < d {
			d = until
		}
	}
	if ks.st.Idle() {
		if ks.id != "" {
			delete(rt.keys, ks.id)
		}
		ks.st.Reset()
		ks.id, ks.parts = "", nil
		ks.gen++
		ks.timer = noDeadline
		rt.free = append(rt.free, ks)
		return
	}
	if d < ks.timer {
		ks.timer = d
		e.timers.push(timer{at: d, ks: ks, gen: ks.gen})
	}
}

// fireTimers advances every key whose deadline is at or before t.
func (e *Engine) fireTimers(t int64) {
	for len(e.timers) > 0 && e.timers[0].at <= t {
		tm := e.timers.pop()
		ks := tm.ks
		if ks.gen != tm.gen || ks.timer != tm.at {
			continue // stale
		}
		rt := ks.rt
		ks.timer = noDeadline
		rt.out.Reset()
		rt.m.AdvanceTime(ks.st, t, &rt.out)
		rt.deliver(e, ks)
		rt.settle(e, ks, t)
	}
}

// deliver turns the matches in rt.out into alerts.
func (rt *patternRT) deliver(e *Engine, ks *keyState) {
	rt.ids = rt.ids[:0]
	for i := range rt.out.Matches {
		mt := &rt.out.Matches[i]
		if s := rt.prog.Suppress; s > 0 {
			if ks.st.LastAlert != math.MinInt64 && mt.At < ks.st.LastAlert+s {
				e.Stats.Suppressed++
				continue
			}
		}
		a := rt.alert(e, ks, mt)
		if slices.Contains(rt.ids, a.ID) {
			e.Stats.Duplicates++
			continue
		}
		rt.ids = append(rt.ids, a.ID)
		if rt.prog.Suppress > 0 {
			ks.st.LastAlert = mt.End
		}
		e.Stats.Alerts++
		if e.sink != nil {
			e.sink.Alert(a)
		}
	}
	if st := rt.m.Stats; st.CapDropped > 0 {
		e.warnOnce("partial matches dropped: a key reached the cap on partial matches", rt.prog.Name,
			"cap", rt.prog.MaxRuns, "dropped", st.CapDropped)
	}
}

func (rt *patternRT) alert(e *Engine, ks *keyState, mt *nfa.Match) *alert.Alert {
	prog := rt.prog
	kind := "match"
	if mt.Timeout {
		kind = "timeout"
	}
	// Stages in pattern order, each with its events in event-time order.
	var evs []alert.StageEvents
	for s, st := range prog.Stages {
		var ids []string
		for _, me := range mt.Events {
			if int(me.Stage) == s {
				ids = append(ids, me.Event.ID)
			}
		}
		if ids != nil {
			evs = append(evs, alert.StageEvents{Stage: st.Name, IDs: ids})
		}
	}
	r := rt.m.Render(mt, ks.parts)
	a := &alert.Alert{
		ID:         alert.ComputeID(prog.Name, prog.Version, ks.parts, kind, evs, mt.Start),
		Pattern:    prog.Name,
		Version:    prog.Version,
		Kind:       kind,
		Key:        ks.parts,
		Severity:   r.Severity,
		Message:    r.Message,
		Events:     evs,
		Start:      mt.Start,
		End:        mt.End,
		DetectedAt: e.cfg.Now().UnixNano(),
	}
	for _, f := range r.Fields {
		a.Fields = append(a.Fields, alert.Field{Name: f.Name, Value: f.Value})
	}
	return a
}
