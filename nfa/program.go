package nfa

import (
	"fmt"
	"strings"
	"unique"

	"github.com/motifcep/motif/pattern"
)

// Action is what an edge of the automaton does with the current event.
type Action uint8

const (
	// Take consumes the event into the partial match and moves to the target.
	Take Action = iota
	// Ignore skips the event, staying in (or moving to) the target.
	Ignore
	// Proceed moves to the target without consuming the event (an epsilon edge).
	Proceed
)

func (a Action) String() string {
	switch a {
	case Take:
		return "take"
	case Ignore:
		return "ignore"
	case Proceed:
		return "proceed"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

type stateKind uint8

const (
	kindNormal  stateKind = iota
	kindFinal             // a run that reaches it is a match
	kindStop              // a run that reaches it is discarded (a negated stage matched)
	kindPending           // a trailing not_followed_by: a match once its deadline passes
)

func (k stateKind) String() string {
	return [...]string{"normal", "final", "stop", "pending"}[k]
}

type edge struct {
	action Action
	target int32
	cond   *cond
}

type state struct {
	name  string // the stage's name; unique names are not needed
	stage int32  // the stage whose events this state takes; -1 for the final state
	kind  stateKind
	edges []edge
	// bound is the largest step bound of the takes reachable from this state
	// (through proceed edges), 0 if any of them is unbounded. A run waiting here
	// dies when event time passes prev+bound.
	bound int64
	// completes marks states from which a run completes the pattern when its
	// deadline passes: pending states, and loops right before one.
	completes bool
	// proceeds says that some edge is a proceed edge: without one, the
	// edges that apply to an event are found in one pass over the state's
	// own (see Matcher.decisionGraph).
	proceeds bool
}

// Stage describes one stage of a compiled pattern, in pattern.Stages order.
type Stage struct {
	Name    string
	Type    string // "" for a group or `any`
	Negated bool
	Group   bool
	Repeats bool // may take several events in one match
}

// Program is a compiled pattern: an immutable automaton plus the compiled
// expressions of its conditions and emit clauses. One Program serves every
// key; per-key mutable state is a State.
type Program struct {
	Name      string
	Version   int
	Stages    []Stage
	Types     []string // the event types the pattern sees; nil when it sees every type
	KeySlots  []int    // schema slots of the key paths
	KeyPaths  []string // the key paths as written
	Window    int64    // pattern window in ns; 0 = none
	Skip      pattern.SkipStrategy
	skipStage int32 // for to_first / to_last
	Suppress  int64 // ns; 0 = none
	Severity  pattern.Severity
	MaxRuns   int                     // cap on partial matches per key
	typeNames []unique.Handle[string] // keep the canonical type names of preds (see predicate)

	states []state
	start  int32
	preds  []pred

	emit      *emitProg
	onTimeout *emitProg
}

// Sees reports whether events of type typ are visible to the pattern.
func (p *Program) Sees(typ string) bool {
	if p.Types == nil {
		return true
	}
	for _, t := range p.Types {
		if t == typ {
			return true
		}
	}
	return false
}

// HasTimeoutEmit reports whether the pattern reports timed-out partial matches.
func (p *Program) HasTimeoutEmit() bool { return p.onTimeout != nil }

// String prints the automaton, one state per line, for tests and debugging.
func (p *Program) String() string {
	var b strings.Builder
	for i, s := range p.states {
		mark := " "
		if int32(i) == p.start {
			mark = ">"
		}
		fmt.Fprintf(&b, "%s%d %s(%s)", mark, i, s.name, s.kind)
		if s.bound > 0 {
			fmt.Fprintf(&b, " bound=%d", s.bound)
		}
		for _, e := range s.edges {
			fmt.Fprintf(&b, " %s->%d[%s]", e.action, e.target, e.cond)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// CanStart reports whether an event of type typ may start a partial match:
// whether some take edge out of the start state (through proceed edges)
// has a condition that an event of that type can meet. It judges by the
// conditions' event types only, so it may say true for an event that no
// condition accepts, never false for one that starts a match. typ may be a
// type no stage names (any other type): only conditions without a type
// accept it. The caller may skip stepping an empty key state with an event
// that cannot start a match: the step would leave it empty.
func (p *Program) CanStart(typ string) bool {
	seen := make([]bool, len(p.states))
	stack := []int32{p.start}
	seen[p.start] = true
	for len(stack) > 0 {
		s := &p.states[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		for _, ed := range s.edges {
			switch ed.action {
			case Proceed:
				if !seen[ed.target] {
					seen[ed.target] = true
					stack = append(stack, ed.target)
				}
			case Take:
				if p.condAdmits(ed.cond, typ) {
					return true
				}
			}
		}
	}
	return false
}

// condAdmits reports whether c may hold for an event of type typ, judging
// by the types of its predicates: false only when c needs a predicate of
// another type.
func (p *Program) condAdmits(c *cond, typ string) bool {
	switch c.op {
	case condPredOp:
		t := p.preds[c.pred].typ
		return t == "" || t == typ
	case condAndOp:
		return p.condAdmits(c.a, typ) && p.condAdmits(c.b, typ)
	}
	return true
}
