package nfa

// This file builds the automaton of a pattern the way FlinkCEP's NFACompiler
// does, so that every operator, quantifier and modifier means exactly what it
// means in Flink: the pattern is walked from its last stage to its first, each
// stage becomes one or more states with take, ignore and proceed edges, and
// negated stages become stop states (or, at the end, a pending state).

type consume uint8

const (
	strict       consume = iota // next, consecutive
	skipTillNext                // followed_by, relaxed loops
	skipTillAny                 // followed_by_any, combinations
	notNextC
	notFollowC
)

// pat is one stage in the shape of a Flink Pattern: linked to the stage
// before it, with its quantifier broken down into properties.
type pat struct {
	name     string
	stage    int32
	cond     *cond // the stage's own condition (type and where); nil for a group
	strategy consume
	inner    consume
	looping  bool
	times    bool
	from, to int
	optional bool
	greedy   bool
	until    *cond
	bound    int64 // step bound of its first event; 0 none
	gap      int64 // step bound of its later events; 0 none
	group    *pat  // for a group: the last pat of its inner sequence
	prev     *pat
}

type cstate struct {
	name  string
	stage int32
	kind  stateKind
	edges []cedge
	start bool
}

type cedge struct {
	action Action
	target *cstate
	cond   *cond
}

func (s *cstate) add(a Action, target *cstate, c *cond) {
	s.edges = append(s.edges, cedge{action: a, target: target, cond: c})
}

type notc struct {
	cond  *cond
	name  string
	stage int32
}

type graphCompiler struct {
	states           []*cstate
	stopStates       map[string]*cstate
	originalStateMap map[*cstate]*cstate
	firstOfLoop      map[*pat]bool
	currentGroup     *pat
	current          *pat
	following        *pat
	window           int64
	negBound         map[*cstate]int64 // pending states: the negated stage's step bound
}

func (c *graphCompiler) createState(name string, stage int32, kind stateKind) *cstate {
	s := &cstate{name: name, stage: stage, kind: kind}
	c.states = append(c.states, s)
	return s
}

// compile builds the graph for the chain ending in last and returns the start state.
func (c *graphCompiler) compile(last *pat) *cstate {
	c.stopStates = map[string]*cstate{}
	c.originalStateMap = map[*cstate]*cstate{}
	c.firstOfLoop = map[*pat]bool{}
	c.negBound = map[*cstate]int64{}
	c.current = last
	sink := c.createState("$end", -1, kindFinal)
	sink = c.createMiddleStates(sink)
	start := c.convertPattern(sink)
	start.start = true
	return start
}

func (c *graphCompiler) getCurrentNotCondition() []notc {
	var out []notc
	p := c.current
	for p.prev != nil && (p.prev.optional || p.prev.strategy == notFollowC) {
		p = p.prev
		if p.strategy == notFollowC {
			out = append(out, notc{cond: c.getTakeCondition(p), name: p.name, stage: p.stage})
		}
	}
	return out
}

func (c *graphCompiler) createMiddleStates(sink *cstate) *cstate {
	lastSink := sink
	for c.current.prev != nil {
		switch c.current.strategy {
		case notFollowC:
			// Negated stages become conditions on the edges of their
			// neighbours; at the end of the pattern, a pending state.
			if (c.current.bound > 0 || c.window > 0) && lastSink.kind == kindFinal {
				pending := c.createState(c.current.name, c.current.stage, kindPending)
				nc := c.getTakeCondition(c.current)
				stop := c.createStopState(nc, c.current.name, c.current.stage)
				pending.add(Proceed, stop, nc)
				pending.add(Ignore, pending, notCond(nc))
				c.negBound[pending] = c.current.bound
				lastSink = pending
			}
		case notNextC:
			notNext := c.createState(c.current.name, c.current.stage, kindNormal)
			nc := c.getTakeCondition(c.current)
			stop := c.createStopState(nc, c.current.name, c.current.stage)
			if lastSink.kind == kindFinal {
				// so that the proceed to final is not fired
				notNext.add(Ignore, lastSink, notCond(nc))
			} else {
				notNext.add(Proceed, lastSink, notCond(nc))
			}
			notNext.add(Proceed, stop, nc)
			lastSink = notNext
		default:
			lastSink = c.convertPattern(lastSink)
		}
		c.following = c.current
		c.current = c.current.prev
	}
	return lastSink
}

func (c *graphCompiler) convertPattern(sink *cstate) *cstate {
	var lastSink *cstate
	p := c.current
	switch {
	case p.looping:
		c.setFirstOfLoop(false)
		s := c.copyWithoutTransitiveNots(sink)
		looping := c.createLooping(s)
		c.setFirstOfLoop(true)
		lastSink = c.createTimesState(looping, sink, p.from, p.to)
	case p.times:
		lastSink = c.createTimesState(sink, sink, p.from, p.to)
	default:
		lastSink = c.createSingletonState(sink, sink, c.getTakeCondition(p), c.getIgnoreCondition(p), c.isPatternOptional(p), p.bound)
	}
	c.addStopStates(lastSink)
	return lastSink
}

func (c *graphCompiler) createStopState(nc *cond, name string, stage int32) *cstate {
	if s, ok := c.stopStates[name]; ok {
		return s
	}
	s := c.createState(name, stage, kindStop)
	s.add(Take, s, nc)
	c.stopStates[name] = s
	return s
}

// copyWithoutTransitiveNots makes the target of a take from an optional stage:
// taking an event there discards the negated stages before it.
func (c *graphCompiler) copyWithoutTransitiveNots(sink *cstate) *cstate {
	nots := c.getCurrentNotCondition()
	if len(nots) == 0 || !c.current.optional {
		return sink
	}
	cp := c.createState(sink.name, sink.stage, sink.kind)
	for _, t := range sink.edges {
		if t.action == Proceed {
			target := t.target
			remove := false
			if target.kind == kindStop {
				for _, n := range nots {
					if target.name == n.name {
						remove = true
					}
				}
			} else {
				target = c.copyWithoutTransitiveNots(t.target)
			}
			if !remove {
				cp.add(t.action, target, t.cond)
			}
		} else {
			target := t.target
			if target == sink {
				target = cp
			}
			cp.add(t.action, target, t.cond)
		}
	}
	if b, ok := c.negBound[sink]; ok {
		c.negBound[cp] = b
	}
	return cp
}

func (c *graphCompiler) copyState(s *cstate) *cstate {
	cp := c.createState(s.name, s.stage, s.kind)
	for _, t := range s.edges {
		target := t.target
		if target == s {
			target = cp
		}
		cp.add(t.action, target, t.cond)
	}
	if b, ok := c.negBound[s]; ok {
		c.negBound[cp] = b
	}
	return cp
}

func (c *graphCompiler) addStopStates(s *cstate) {
	for _, n := range c.getCurrentNotCondition() {
		stop := c.createStopState(n.cond, n.name, n.stage)
		s.add(Proceed, stop, n.cond)
	}
}

func (c *graphCompiler) addStopStateToLooping(s *cstate) {
	if c.following != nil && c.following.strategy == notFollowC {
		nc := c.getTakeCondition(c.following)
		stop := c.createStopState(nc, c.following.name, c.following.stage)
		s.add(Proceed, stop, nc)
	}
}

func (c *graphCompiler) createTimesState(sink, proceedState *cstate, from, to int) *cstate {
	p := c.current
	lastSink := sink
	c.setFirstOfLoop(false)
	until := p.until
	innerIgnore := extendWithUntil(c.getInnerIgnoreCondition(p), until, false)
	take := extendWithUntil(c.getTakeCondition(p), until, true)
	if p.greedy && from != to {
		if until != nil {
			c.originalStateMap[sink] = c.copyState(sink)
		}
		updateWithGreedyCondition(sink, take)
	}
	for i := from; i < to; i++ {
		lastSink = c.createSingletonState(lastSink, proceedState, take, innerIgnore, true, p.gap)
		c.addStopStateToLooping(lastSink)
	}
	for i := 0; i < from-1; i++ {
		lastSink = c.createSingletonState(lastSink, nil, take, innerIgnore, false, p.gap)
		c.addStopStateToLooping(lastSink)
	}
	c.setFirstOfLoop(true)
	return c.createSingletonState(lastSink, proceedState, take, c.getIgnoreCondition(p), p.optional, p.bound)
}

func (c *graphCompiler) setFirstOfLoop(v bool) {
	if c.current.group != nil {
		c.firstOfLoop[c.current] = v
	}
}

func (c *graphCompiler) isCurrentGroupFirstOfLoop() bool {
	if v, ok := c.firstOfLoop[c.currentGroup]; ok {
		return v
	}
	return true
}

func (c *graphCompiler) headOfGroup(p *pat) bool { return c.currentGroup != nil && p.prev == nil }

func (c *graphCompiler) isPatternOptional(p *pat) bool {
	if c.headOfGroup(p) {
		return c.isCurrentGroupFirstOfLoop() && c.currentGroup.optional
	}
	return p.optional
}

func withBound(take *cond, bound int64) *cond {
	if bound <= 0 {
		return take
	}
	return andCond(take, &cond{op: condBoundOp, bound: bound})
}

func (c *graphCompiler) createSingletonState(sink, proceedState *cstate, take, ignore *cond, isOptional bool, bound int64) *cstate {
	p := c.current
	if p.group != nil {
		return c.createGroupPatternState(p, sink, proceedState, isOptional)
	}
	single := c.createState(p.name, p.stage, kindNormal)
	s := c.copyWithoutTransitiveNots(sink)
	single.add(Take, s, withBound(take, bound))
	proceedCond := c.getTrueFunction()
	if isOptional && !c.headOfGroup(p) {
		if p.greedy {
			if p.until != nil {
				orig := c.originalStateMap[proceedState]
				if orig == nil {
					orig = proceedState
				}
				single.add(Proceed, orig, andCond(proceedCond, p.until))
				single.add(Proceed, proceedState, andCond(proceedCond, notCond(p.until)))
			} else {
				single.add(Proceed, proceedState, proceedCond)
			}
		} else {
			single.add(Proceed, proceedState, proceedCond)
		}
	}
	if ignore != nil {
		var ignoreState *cstate
		if isOptional {
			ignoreState = c.createState(p.name, p.stage, kindNormal)
			ignoreState.add(Take, s, withBound(take, bound))
			ignoreState.add(Ignore, ignoreState, ignore)
			c.addStopStates(ignoreState)
		} else {
			ignoreState = single
		}
		single.add(Ignore, ignoreState, ignore)
	}
	return single
}

func (c *graphCompiler) createGroupPatternState(g *pat, sink, proceedState *cstate, isOptional bool) *cstate {
	proceedCond := c.getTrueFunction()
	oldCurrent, oldFollowing, oldGroup := c.current, c.following, c.currentGroup
	c.currentGroup = g
	c.current = g.group
	lastSink := c.createMiddleStates(sink)
	lastSink = c.convertPattern(lastSink)
	if isOptional {
		lastSink.add(Proceed, proceedState, proceedCond)
	}
	c.current, c.following, c.currentGroup = oldCurrent, oldFollowing, oldGroup
	return lastSink
}

func (c *graphCompiler) createLoopingGroupPatternState(g *pat, sink *cstate) *cstate {
	proceedCond := c.getTrueFunction()
	oldCurrent, oldFollowing, oldGroup := c.current, c.following, c.currentGroup
	dummy := c.createState(g.name, g.stage, kindNormal)
	c.currentGroup = g
	c.current = g.group
	lastSink := c.createMiddleStates(dummy)
	lastSink = c.convertPattern(lastSink)
	lastSink.add(Proceed, sink, proceedCond)
	dummy.add(Proceed, lastSink, proceedCond)
	c.current, c.following, c.currentGroup = oldCurrent, oldFollowing, oldGroup
	return lastSink
}

func (c *graphCompiler) createLooping(sink *cstate) *cstate {
	p := c.current
	if p.group != nil {
		return c.createLoopingGroupPatternState(p, sink)
	}
	until := p.until
	ignore := extendWithUntil(c.getInnerIgnoreCondition(p), until, false)
	take := extendWithUntil(c.getTakeCondition(p), until, true)
	proceedCond := c.getTrueFunction()
	looping := c.createState(p.name, p.stage, kindNormal)
	if p.greedy {
		if until != nil {
			cp := c.copyState(sink)
			looping.add(Proceed, cp, andCond(proceedCond, until))
			c.originalStateMap[sink] = cp
			looping.add(Proceed, sink, andCond(proceedCond, notCond(until)))
		} else {
			looping.add(Proceed, sink, proceedCond)
		}
		updateWithGreedyCondition(sink, c.getTakeCondition(p))
	} else {
		looping.add(Proceed, sink, proceedCond)
	}
	looping.add(Take, looping, withBound(take, p.gap))
	c.addStopStateToLooping(looping)
	if ignore != nil {
		ignoreState := c.createState(p.name, p.stage, kindNormal)
		ignoreState.add(Take, looping, withBound(take, p.gap))
		ignoreState.add(Ignore, ignoreState, ignore)
		looping.add(Ignore, ignoreState, ignore)
		c.addStopStateToLooping(ignoreState)
	}
	return looping
}

func extendWithUntil(c, until *cond, isTake bool) *cond {
	if until != nil && c != nil {
		return andCond(notCond(until), c)
	}
	if until != nil && isTake {
		return notCond(until)
	}
	return c
}

func strategyIgnore(cs consume, p *pat) *cond {
	switch cs {
	case skipTillNext:
		return notCond(p.cond)
	case skipTillAny:
		return trueCond
	}
	return nil
}

func (c *graphCompiler) getInnerIgnoreCondition(p *pat) *cond {
	cs := p.inner
	if c.headOfGroup(p) {
		cs = c.currentGroup.inner
	}
	ic := strategyIgnore(cs, p)
	if c.currentGroup != nil && c.currentGroup.until != nil {
		ic = extendWithUntil(ic, c.currentGroup.until, false)
	}
	return ic
}

func (c *graphCompiler) getIgnoreCondition(p *pat) *cond {
	cs := p.strategy
	if c.headOfGroup(p) {
		if c.isCurrentGroupFirstOfLoop() {
			cs = c.currentGroup.strategy
		} else {
			cs = c.currentGroup.inner
		}
	}
	ic := strategyIgnore(cs, p)
	if c.currentGroup != nil && c.currentGroup.until != nil {
		ic = extendWithUntil(ic, c.currentGroup.until, false)
	}
	return ic
}

func (c *graphCompiler) getTakeCondition(p *pat) *cond {
	tc := p.cond
	if c.currentGroup != nil && c.currentGroup.until != nil {
		tc = extendWithUntil(tc, c.currentGroup.until, true)
	}
	return tc
}

func (c *graphCompiler) getTrueFunction() *cond {
	if c.currentGroup != nil && c.currentGroup.until != nil {
		return extendWithUntil(trueCond, c.currentGroup.until, true)
	}
	return trueCond
}

func updateWithGreedyCondition(s *cstate, take *cond) {
	for i := range s.edges {
		s.edges[i].cond = andCond(s.edges[i].cond, notCond(take))
	}
}
