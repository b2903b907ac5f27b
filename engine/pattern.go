package engine

import (
	"math"
	"slices"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/nfa"
)

// patternRT is one pattern at run time: its program and matcher. Its key
// states live in the entries of its key group.
type patternRT struct {
	idx  int       // position among the engine's patterns
	g    *keyGroup // the patterns keyed like this one
	pos  int       // position in g.pats, and of its state in an entry
	prog *nfa.Program
	m    *nfa.Matcher
	out  nfa.Output
	ids  []string // ids emitted by the current step, to drop duplicates

	alerts, suppressed uint64
	// What the store holds of this version's states (see StateTotals).
	storedPartials, storedBytes int64
	// The open partial matches over all keys are storedPartials +
	// partialsDelta: steps add what they change, a Flush moves what it
	// writes from the delta to the stored count.
	partialsDelta int64
}

// deliver turns the matches in rt.out into alerts, then lets go of the
// events the step dropped.
func (rt *patternRT) deliver(e *Engine, en *entry, st *nfa.State) {
	if len(rt.out.Matches) == 0 { // most steps
		rt.warnCap(e)
		e.drop(&rt.m.Dropped)
		return
	}
	defer e.drop(&rt.m.Dropped)
	rt.ids = rt.ids[:0]
	parts := en.keyParts()
	for i := range rt.out.Matches {
		mt := &rt.out.Matches[i]
		if s := rt.prog.Suppress; s > 0 {
			if st.LastAlert != math.MinInt64 && mt.At < st.LastAlert+s {
				e.Stats.Suppressed++
				rt.suppressed++
				continue
			}
		}
		a := rt.alert(e, parts, mt)
		if slices.Contains(rt.ids, a.ID) {
			e.Stats.Duplicates++
			continue
		}
		rt.ids = append(rt.ids, a.ID)
		if rt.prog.Suppress > 0 {
			st.LastAlert = mt.End
		}
		e.Stats.Alerts++
		rt.alerts++
		if e.shard != nil {
			e.shard.alert(a, rt.idx)
		} else if e.sink != nil {
			e.sink.Alert(a)
		}
	}
	rt.warnCap(e)
}

func (rt *patternRT) warnCap(e *Engine) {
	if n := rt.m.Stats.CapDropped; n > 0 {
		e.warnOnce("partial matches dropped: a key reached the cap on partial matches", rt.prog.Name,
			"cap", rt.prog.MaxRuns, "dropped", n)
	}
}

func (rt *patternRT) alert(e *Engine, parts []string, mt *nfa.Match) *alert.Alert {
	prog := rt.prog
	kind := "match"
	if mt.Timeout {
		kind = "timeout"
	}
	// Stages in pattern order, each with its events in event-time order.
	// The stages' ids share one array, and the stages another: an alert
	// costs the same few allocations however many events it has.
	var evs []alert.StageEvents
	if n := len(mt.Events); n > 0 {
		ids := make([]string, 0, n)
		evs = make([]alert.StageEvents, 0, min(n, len(prog.Stages)))
		for s, st := range prog.Stages {
			from := len(ids)
			for _, me := range mt.Events {
				if int(me.Stage) == s {
					ids = append(ids, me.Event.ID)
				}
			}
			if len(ids) > from {
				evs = append(evs, alert.StageEvents{Stage: st.Name, IDs: ids[from:len(ids):len(ids)]})
			}
		}
	}
	r := rt.m.Render(mt, parts)
	a := &alert.Alert{
		ID:         alert.ComputeID(prog.Name, prog.Version, parts, kind, evs, mt.Start),
		Pattern:    prog.Name,
		Version:    prog.Version,
		Kind:       kind,
		Key:        parts,
		Severity:   r.Severity,
		Message:    r.Message,
		Events:     evs,
		Start:      mt.Start,
		End:        mt.End,
		DetectedAt: e.cfg.Now().UnixNano(),
	}
	if len(r.Fields) > 0 {
		a.Fields = make([]alert.Field, len(r.Fields))
		for i, f := range r.Fields {
			a.Fields[i] = alert.Field{Name: f.Name, Value: f.Value}
		}
	}
	return a
}
