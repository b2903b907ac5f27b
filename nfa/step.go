package nfa

import (
	"math"
	"slices"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/pattern"
)

// Stats counts what a Matcher did. The engine turns them into metrics.
type Stats struct {
	Events     uint64 // events stepped
	Matches    uint64 // matches emitted
	Timeouts   uint64 // partial matches dropped by within or gap
	CapDropped uint64 // partial matches dropped by the per-key cap
	TypeErrors uint64 // comparisons or arithmetic of mismatched types at run time
}

// Matcher steps the states of one Program. It holds scratch space so that a
// step allocates nothing unless it stores an event or emits a match; a
// Matcher is not safe for concurrent use (use one per goroutine).
type Matcher struct {
	p     *Program
	ctx   evalCtx
	cache []uint8 // per predicate: 0 unknown, 1 true, 2 false
	mark  []uint32
	gen   uint32
	stack []int32
	edges []edgeRef
	next  []run
	tmp   []run
	pot   []run
	curEv int32
	empty *State // what Starts evaluates against
	// The event Starts last found to start a match, and the edges it
	// found: the step that follows takes them instead of evaluating the
	// start's conditions again.
	started    *event.Event
	startEdges []edgeRef
	Stats      Stats

	// Dropped collects the events the states stopped holding. A state
	// holds each event it keeps (event.Event.Hold) but does not let go of
	// it: the caller calls Drop on each once it is done with the call's
	// Output, which may show them, and empties the list.
	Dropped []*event.Event

	// Retiring stops the matcher from starting partial matches: events
	// only extend the open ones, which complete or expire as usual. A
	// pattern version that was replaced runs this way until its last
	// partial match is gone.
	Retiring bool
}

type edgeRef struct {
	src  int32
	edge *edge
}

// NewMatcher returns a Matcher for p.
func NewMatcher(p *Program) *Matcher {
	m := &Matcher{
		p:     p,
		cache: make([]uint8, len(p.preds)),
		mark:  make([]uint32, len(p.states)),
	}
	m.ctx.m = m
	return m
}

// Program returns the program the matcher runs.
func (m *Matcher) Program() *Program { return m.p }

// Starts reports whether e starts a partial match: whether stepping a
// state that holds nothing with e would leave it holding something. It
// reads e alone, so a caller can leave such a state (or the key's entry)
// untouched, or not create it, for an event that starts nothing: Step would
// evaluate the same conditions and change nothing. When it reports true,
// the caller's next call must be Step with e, which then does not evaluate
// the start's conditions again.
func (m *Matcher) Starts(e *event.Event) bool {
	m.started = nil
	if m.Retiring {
		return false
	}
	if m.empty == nil {
		m.empty = NewState()
	}
	m.edgesOf(m.empty, run{state: m.p.start, node: -1}, e)
	for _, er := range m.edges {
		if er.edge.action == Take { // the start's ignore edges are not followed (see stepRun)
			m.started, m.startEdges = e, append(m.startEdges[:0], m.edges...)
			return true
		}
	}
	return false
}

// Step processes one event of the state's key. Events must come in event-time
// order (equal times in arrival order); the caller routes to a pattern only
// the events whose type it sees. Matches, and timeouts of partial matches
// whose deadline the event's time reached, are appended to out. The state
// holds e if it keeps it (event.Event.Hold); what it stopped holding is in
// m.Dropped.
func (m *Matcher) Step(st *State, e *event.Event, out *Output) {
	started := m.started == e
	m.started = nil
	m.Stats.Events++
	m.advance(st, e.Time, out)
	m.curEv = -1
	m.next = m.next[:0]
	m.pot = m.pot[:0]
	for i := range st.runs {
		m.stepRun(st, st.runs[i], e, false)
	}
	if !m.Retiring {
		m.stepStart(st, e, started)
	}
	// Copied, not swapped with the scratch: st.runs may be the state's own
	// room (see State.inRun), which must not go to another state.
	st.runs = append(st.runs[:0], m.next...)
	m.enforceCap(st)
	m.processMatches(st, out)
	m.updateNext(st)
}

// AdvanceTime moves the key's state to event time t (a watermark): partial
// matches whose deadline is at or before t time out (reported if the pattern
// has on_timeout), and pending absences (a trailing not_followed_by) whose
// deadline passed complete as matches.
//
// At t = math.MaxInt64 (the end of a finite input) no partial match can
// complete any more, so matches still held back by the skip strategy are
// emitted too.
func (m *Matcher) AdvanceTime(st *State, t int64, out *Output) {
	m.advance(st, t, out)
	if t == math.MaxInt64 {
		for len(st.completed) > 0 {
			first := st.completed[0]
			st.completed = st.completed[1:]
			m.skip(st, first)
			m.emit(st, first, out)
		}
		st.completed = nil
	}
	m.updateNext(st)
}

// updateNext recomputes the state's earliest and earliest urgent deadlines.
func (m *Matcher) updateNext(st *State) {
	next, urgent, last := int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MinInt64)
	all := m.p.onTimeout != nil || len(st.completed) > 0
	for i := range st.runs {
		r := &st.runs[i]
		next, last = min(next, r.deadline), max(last, r.deadline)
		if all {
			continue
		}
		if s := &m.p.states[r.state]; s.kind == kindPending || s.completes {
			urgent = min(urgent, r.deadline)
		}
	}
	if all {
		urgent = next
	}
	st.next, st.urgent, st.last = next, urgent, last
}

func (m *Matcher) advance(st *State, t int64, out *Output) {
	if len(st.runs) == 0 && len(st.completed) == 0 {
		return
	}
	if len(st.completed) == 0 && (t < st.next || st.next == math.MaxInt64) {
		return // nothing expired: do not touch the runs
	}
	if len(st.completed) == 0 && st.urgent == math.MaxInt64 && t >= st.last {
		// Every partial match expires and none has output: drop them all
		// without walking their chains (the common end of a cold key).
		m.Stats.Timeouts += uint64(len(st.runs))
		st.dropRuns(&m.Dropped)
		return
	}
	keep := st.runs[:0]
	m.pot = m.pot[:0]
	for _, r := range st.runs {
		if r.deadline > t || r.deadline == math.MaxInt64 {
			keep = append(keep, r)
			continue
		}
		if s := &m.p.states[r.state]; s.kind == kindPending || s.completes {
			m.pot = append(m.pot, r)
			continue
		}
		m.Stats.Timeouts++
		if m.p.onTimeout != nil {
			out.add(m.materialize(st, r, true, r.deadline))
		}
		st.releaseNode(r.node, &m.Dropped)
	}
	clear(st.runs[len(keep):])
	st.runs = keep
	for i := range m.pot {
		m.pot[i].prev = m.pot[i].deadline // completion time
	}
	// Timed-out partial matches may release matches the skip strategy held.
	m.processMatches(st, out)
}

// stepRun computes the runs that follow r on event e (FlinkCEP's
// computeNextStates) and files them into m.next and m.pot.
func (m *Matcher) stepRun(st *State, r run, e *event.Event, isStart bool) {
	m.edgesOf(st, r, e)
	m.follow(st, r, e, m.edges, isStart)
}

// stepStart is stepRun of the implicit start run; started says that the
// start's edges for e are in m.startEdges (see Starts).
func (m *Matcher) stepStart(st *State, e *event.Event, started bool) {
	r := run{state: m.p.start, node: -1}
	if !started {
		m.stepRun(st, r, e, true)
		return
	}
	m.setCtx(st, r, e)
	m.follow(st, r, e, m.startEdges, true)
}

// setCtx makes r on event e what conditions are evaluated for.
func (m *Matcher) setCtx(st *State, r run, e *event.Event) {
	m.ctx.ev, m.ctx.st, m.ctx.node, m.ctx.prev, m.ctx.match = e, st, r.node, r.prev, nil
	clear(m.cache)
}

// edgesOf collects in m.edges the take and ignore edges that r follows on e.
func (m *Matcher) edgesOf(st *State, r run, e *event.Event) {
	m.setCtx(st, r, e)
	m.decisionGraph(r.state)
}

// follow files the runs that r's edges on e lead to into m.next and m.pot.
func (m *Matcher) follow(st *State, r run, e *event.Event, edges []edgeRef, isStart bool) {
	m.tmp = m.tmp[:0]
	for _, er := range edges {
		switch er.edge.action {
		case Ignore:
			if isStart {
				continue
			}
			nr := r
			nr.state = er.edge.target
			st.lockNode(nr.node)
			m.tmp = append(m.tmp, m.withDeadline(nr))
		case Take:
			ev := m.storeEvent(st, e)
			n := st.addNode(ev, m.p.states[er.src].stage, r.node)
			nr := run{state: er.edge.target, node: n, start: r.start, startSeq: r.startSeq, prev: e.Time}
			if isStart {
				nr.start, nr.startSeq = e.Time, e.Seq
			}
			st.lockNode(n)
			m.tmp = append(m.tmp, m.withDeadline(nr))
			if f := m.finalAfterProceed(er.edge.target); f >= 0 {
				fr := nr
				fr.state = f
				fr.deadline = math.MaxInt64
				st.lockNode(n)
				m.tmp = append(m.tmp, fr)
			}
		}
	}
	discard := false
	for _, nr := range m.tmp {
		if m.p.states[nr.state].kind == kindStop {
			discard = true
			break
		}
	}
	for _, nr := range m.tmp {
		switch {
		case discard:
			st.releaseNode(nr.node, &m.Dropped)
		case m.p.states[nr.state].kind == kindFinal:
			nr.prev = e.Time // completion time
			m.pot = append(m.pot, nr)
		default:
			m.next = append(m.next, nr)
		}
	}
	if !isStart {
		st.releaseNode(r.node, &m.Dropped)
	}
}

func (m *Matcher) storeEvent(st *State, e *event.Event) int32 {
	if m.curEv >= 0 && int(m.curEv) < len(st.events) && st.events[m.curEv].e == e {
		return m.curEv
	}
	m.curEv = st.addEvent(e)
	return m.curEv
}

func (m *Matcher) withDeadline(r run) run {
	r.deadline = math.MaxInt64
	if m.p.Window > 0 {
		r.deadline = r.start + m.p.Window
	}
	if b := m.p.states[r.state].bound; b > 0 && r.prev+b < r.deadline {
		r.deadline = r.prev + b
	}
	return r
}

// decisionGraph collects the take and ignore edges that apply to the current
// event from state s, following proceed edges (FlinkCEP's
// createDecisionGraph). Each state is visited once, so cyclic proceed paths
// through groups of optional stages terminate.
func (m *Matcher) decisionGraph(s int32) {
	m.edges = m.edges[:0]
	if st := &m.p.states[s]; !st.proceeds {
		// Most states: nothing to follow, so no visit marks either.
		for i := range st.edges {
			if ed := &st.edges[i]; m.eval(ed.cond) {
				m.edges = append(m.edges, edgeRef{src: s, edge: ed})
			}
		}
		return
	}
	m.nextGen()
	m.stack = append(m.stack[:0], s)
	m.mark[s] = m.gen
	for len(m.stack) > 0 {
		cur := m.stack[len(m.stack)-1]
		m.stack = m.stack[:len(m.stack)-1]
		st := &m.p.states[cur]
		for i := range st.edges {
			ed := &st.edges[i]
			if !m.eval(ed.cond) {
				continue
			}
			if ed.action == Proceed {
				if m.mark[ed.target] != m.gen {
					m.mark[ed.target] = m.gen
					m.stack = append(m.stack, ed.target)
				}
				continue
			}
			m.edges = append(m.edges, edgeRef{src: cur, edge: ed})
		}
	}
}

// finalAfterProceed returns the final state reachable from s by proceed edges
// whose conditions hold for the current event, or -1.
func (m *Matcher) finalAfterProceed(s int32) int32 {
	if st := &m.p.states[s]; st.kind == kindFinal || !st.proceeds {
		return -1
	}
	m.nextGen()
	stack := append(m.stack[:0], s)
	m.mark[s] = m.gen
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for i := range m.p.states[cur].edges {
			ed := &m.p.states[cur].edges[i]
			if ed.action != Proceed || !m.eval(ed.cond) {
				continue
			}
			if m.p.states[ed.target].kind == kindFinal {
				m.stack = stack
				return ed.target
			}
			if m.mark[ed.target] != m.gen {
				m.mark[ed.target] = m.gen
				stack = append(stack, ed.target)
			}
		}
	}
	m.stack = stack
	return -1
}

func (m *Matcher) nextGen() {
	m.gen++
	if m.gen == 0 {
		clear(m.mark)
		m.gen = 1
	}
}

// eval evaluates an edge condition for the current event and run.
func (m *Matcher) eval(c *cond) bool {
	switch c.op {
	case condTrueOp:
		return true
	case condPredOp:
		switch m.cache[c.pred] {
		case 1:
			return true
		case 2:
			return false
		}
		ok := m.evalPred(&m.p.preds[c.pred])
		if ok {
			m.cache[c.pred] = 1
		} else {
			m.cache[c.pred] = 2
		}
		return ok
	case condNotOp:
		return !m.eval(c.a)
	case condAndOp:
		return m.eval(c.a) && m.eval(c.b)
	case condBoundOp:
		return m.ctx.node < 0 || m.ctx.ev.Time-m.ctx.prev < c.bound
	}
	return false
}

func (m *Matcher) evalPred(p *pred) bool {
	if p.typ != "" && m.ctx.ev.Type != p.typ {
		return false
	}
	if p.where == nil {
		return true
	}
	return p.where(&m.ctx).Truthy()
}

// enforceCap drops the newest partial matches of a key beyond the program's
// cap, so that a pattern such as followed_by_any x+ cannot grow without bound.
func (m *Matcher) enforceCap(st *State) {
	if m.p.MaxRuns <= 0 || len(st.runs) <= m.p.MaxRuns {
		return
	}
	for _, r := range st.runs[m.p.MaxRuns:] {
		st.releaseNode(r.node, &m.Dropped)
		m.Stats.CapDropped++
	}
	clear(st.runs[m.p.MaxRuns:])
	st.runs = st.runs[:m.p.MaxRuns]
}

func runLess(a, b *run) int {
	if a.start != b.start {
		if a.start < b.start {
			return -1
		}
		return 1
	}
	if a.startSeq != b.startSeq {
		if a.startSeq < b.startSeq {
			return -1
		}
		return 1
	}
	return 0
}

// processMatches emits the completed runs in m.pot in FlinkCEP's order, by
// their first event, applying the after-match skip strategy.
//
// Held matches are re-examined on every call, since the partial matches that
// held them may have ended.
func (m *Matcher) processMatches(st *State, out *Output) {
	if len(m.pot) == 0 && len(st.completed) == 0 {
		return
	}
	slices.SortStableFunc(m.pot, func(a, b run) int { return runLess(&a, &b) })
	if m.p.Skip == pattern.NoSkip {
		for _, r := range m.pot {
			m.emit(st, r, out)
		}
		m.pot = m.pot[:0]
		return
	}
	st.completed = append(st.completed, m.pot...)
	slices.SortStableFunc(st.completed, func(a, b run) int { return runLess(&a, &b) })
	m.pot = m.pot[:0]
	for len(st.completed) > 0 {
		first := st.completed[0]
		if ep := earliest(st.runs); ep != nil && runLess(&first, ep) > 0 {
			break
		}
		st.completed = st.completed[1:]
		m.skip(st, first)
		m.emit(st, first, out)
	}
	if len(st.completed) == 0 {
		st.completed = nil
	}
}

func earliest(rs []run) *run {
	var e *run
	for i := range rs {
		if e == nil || runLess(&rs[i], e) < 0 {
			e = &rs[i]
		}
	}
	return e
}

func (m *Matcher) emit(st *State, r run, out *Output) {
	m.Stats.Matches++
	out.add(m.materialize(st, r, false, r.prev))
	st.releaseNode(r.node, &m.Dropped)
}
