package nfa

import (
	"github.com/motifcep/motif/event"
)

// MatchEvent is one event of a match and the stage that took it.
type MatchEvent struct {
	Stage int32 // index into Program.Stages
	Event *event.Event
}

// Match is a completed match or a timed-out partial match.
type Match struct {
	Timeout bool
	Events  []MatchEvent // in the order taken, which is event-time order
	Start   int64        // event time of the first event
	End     int64        // event time of the last event
	At      int64        // the event time or deadline at which it completed or timed out
}

// Output collects what steps produce. Reset it between uses.
type Output struct {
	Matches []Match
}

// Reset empties the output, keeping its allocation.
func (o *Output) Reset() {
	clear(o.Matches)
	o.Matches = o.Matches[:0]
}

func (o *Output) add(m Match) { o.Matches = append(o.Matches, m) }

// materialize copies the events of run r out of the shared buffer.
func (m *Matcher) materialize(st *State, r run, timeout bool, at int64) Match {
	n := 0
	st.walk(r.node, func(*node, *event.Event) bool { n++; return true })
	evs := make([]MatchEvent, n)
	i := n
	st.walk(r.node, func(nd *node, e *event.Event) bool {
		i--
		evs[i] = MatchEvent{Stage: nd.stage, Event: e}
		return true
	})
	mt := Match{Timeout: timeout, Events: evs, At: at}
	if n > 0 {
		mt.Start = evs[0].Event.Time
		mt.End = evs[n-1].Event.Time
	}
	return mt
}
