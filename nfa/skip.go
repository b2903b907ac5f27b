package nfa

import (
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/pattern"
)

// eventID orders events as FlinkCEP's EventId does: by time, then arrival.
type eventID struct {
	time int64
	seq  uint64
}

func (a eventID) cmp(b eventID) int {
	switch {
	case a.time < b.time:
		return -1
	case a.time > b.time:
		return 1
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}

// skip applies the after-match skip strategy for the match of run r: partial
// matches and held-back matches that started too early are discarded
// (FlinkCEP's AfterMatchSkipStrategy.prune).
func (m *Matcher) skip(st *State, r run) {
	var pruning eventID
	found := false
	inclusive := true
	switch m.p.Skip {
	case pattern.SkipToNext, pattern.SkipPastLastEvent:
		st.walk(r.node, func(_ *node, e *event.Event) bool {
			id := eventID{e.Time, e.Seq}
			if !found {
				pruning, found = id, true
			} else if m.p.Skip == pattern.SkipToNext && id.cmp(pruning) < 0 {
				pruning = id
			} else if m.p.Skip == pattern.SkipPastLastEvent && id.cmp(pruning) > 0 {
				pruning = id
			}
			return true
		})
	case pattern.SkipToFirst, pattern.SkipToLast:
		inclusive = false
		st.walk(r.node, func(n *node, e *event.Event) bool {
			if n.stage != m.p.skipStage {
				return true
			}
			// The walk goes newest first: the last event of the stage is
			// the first seen, the first event the last seen.
			if m.p.Skip == pattern.SkipToLast {
				if !found {
					pruning, found = eventID{e.Time, e.Seq}, true
				}
				return true
			}
			pruning, found = eventID{e.Time, e.Seq}, true
			return true
		})
	}
	if !found {
		return
	}
	prune := func(rs []run) []run {
		keep := rs[:0]
		for _, x := range rs {
			c := eventID{x.start, x.startSeq}.cmp(pruning)
			if c < 0 || (inclusive && c == 0) {
				st.releaseNode(x.node, &m.Dropped)
				continue
			}
			keep = append(keep, x)
		}
		clear(rs[len(keep):])
		return keep
	}
	st.runs = prune(st.runs)
	st.completed = prune(st.completed)
}
