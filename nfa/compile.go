package nfa

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unique"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/pattern"
)

// Defaults of Options.
const (
	DefaultWithin  = 24 * time.Hour
	DefaultMaxRuns = 10000
)

// Options tune compilation.
type Options struct {
	// Schema receives a slot for every field path the pattern reads. Required.
	Schema *event.Schema
	// DefaultWithin is the window of a pattern without a within clause
	// (default 24h).
	DefaultWithin time.Duration
	// MaxRuns caps the partial matches of one key (default 10000); the
	// newest beyond it are dropped and counted in Stats.CapDropped.
	MaxRuns int
	// Version is the pattern version named in alerts (default 1).
	Version int
}

// ErrCompile wraps every compilation error. Checked patterns (pattern.Check)
// do not produce them; they guard against unchecked input.
var ErrCompile = errors.New("nfa: cannot compile pattern")

// Compile turns a checked pattern into a Program.
func Compile(p *pattern.PatternDecl, opts Options) (prog *Program, err error) {
	if opts.Schema == nil {
		return nil, fmt.Errorf("%w: no schema", ErrCompile)
	}
	if opts.DefaultWithin == 0 {
		opts.DefaultWithin = DefaultWithin
	}
	if opts.MaxRuns == 0 {
		opts.MaxRuns = DefaultMaxRuns
	}
	if opts.Version == 0 {
		opts.Version = 1
	}
	if len(p.Stages) == 0 {
		return nil, fmt.Errorf("%w %s: no stages", ErrCompile, p.Name.Name)
	}
	c := &compiler{
		prog: &Program{
			Name:      p.Name.Name,
			Version:   opts.Version,
			Window:    int64(opts.DefaultWithin),
			MaxRuns:   opts.MaxRuns,
			skipStage: -1,
		},
		ec: &exprCompiler{schema: opts.Schema, stages: map[string]int32{}, groups: map[int32][]int32{}},
	}
	c.ec.p = c.prog
	return c.compile(p)
}

type compiler struct {
	prog *Program
	ec   *exprCompiler
	gap  int64
}

func (c *compiler) compile(p *pattern.PatternDecl) (*Program, error) {
	prog := c.prog
	if p.Within != nil {
		prog.Window = 0
		if !p.Within.None && p.Within.Dur != nil {
			prog.Window = int64(p.Within.Dur.Value)
		}
	}
	if p.Gap != nil && p.Gap.Dur != nil {
		c.gap = int64(p.Gap.Dur.Value)
	}
	if p.Suppress != nil && p.Suppress.Dur != nil {
		prog.Suppress = int64(p.Suppress.Dur.Value)
	}
	c.addStages(p.Stages)
	c.visibleTypes()
	if p.Key != nil {
		for _, k := range p.Key.Paths {
			path := exprPath(k)
			if path == "" {
				return nil, fmt.Errorf("%w: %s: key must be a field path", ErrCompile, k.Position())
			}
			prog.KeyPaths = append(prog.KeyPaths, path)
			prog.KeySlots = append(prog.KeySlots, c.ec.schema.Slot(path))
		}
	}
	c.ec.keyParts = map[string]int{}
	for i, k := range prog.KeyPaths {
		c.ec.keyParts[k] = i
	}
	if p.Skip != nil {
		prog.Skip = p.Skip.Strategy
		if p.Skip.Target != nil {
			s, ok := c.ec.stages[p.Skip.Target.Name]
			if !ok {
				return nil, fmt.Errorf("%w: skip target %s is not a stage", ErrCompile, p.Skip.Target.Name)
			}
			prog.skipStage = s
		}
	}
	last := c.chain(p.Stages, 0)
	if c.ec.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCompile, c.ec.err)
	}
	g := &graphCompiler{window: prog.Window}
	start := g.compile(last)
	c.flatten(g, start)
	c.ec.emit = true
	prog.emit = c.emitProg(p.Emit)
	prog.onTimeout = c.emitProg(p.OnTimeout)
	if c.ec.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCompile, c.ec.err)
	}
	prog.Severity = pattern.SeverityMedium
	if p.Emit != nil && p.Emit.Severity != pattern.SeverityUnset {
		prog.Severity = p.Emit.Severity
	}
	return prog, nil
}

// exprPath returns the dotted path of a name or selector chain, or "".
func exprPath(e pattern.Expr) string {
	base, sels := flatten(e)
	n, ok := base.(*pattern.NameExpr)
	if !ok {
		return ""
	}
	return strings.Join(append([]string{n.Name}, sels...), ".")
}

// addStages fills the stage table in pre-order and returns the indices of
// the stages that take events (groups stand for their inner stages).
func (c *compiler) addStages(stages []*pattern.Stage) []int32 {
	var all []int32
	for _, s := range stages {
		i := int32(len(c.prog.Stages))
		c.ec.stages[s.Name.Name] = i
		st := Stage{Name: s.Name.Name, Negated: s.Op.Negated(), Group: s.IsGroup(), Repeats: repeats(s)}
		if s.Type != nil && s.Type.Name != "any" {
			st.Type = s.Type.Name
		}
		c.prog.Stages = append(c.prog.Stages, st)
		if s.IsGroup() {
			inner := c.addStages(s.Group)
			c.ec.groups[i] = inner
			all = append(all, inner...)
			continue
		}
		all = append(all, i)
	}
	return all
}

// visibleTypes sets the event types the pattern sees: those its stages name,
// or every type when a stage takes `any`.
func (c *compiler) visibleTypes() {
	var types []string
	for _, s := range c.prog.Stages {
		if s.Group {
			continue
		}
		if s.Type == "" {
			c.prog.Types = nil
			return
		}
		if !slices.Contains(types, s.Type) {
			types = append(types, s.Type)
		}
	}
	c.prog.Types = types
}

func repeats(s *pattern.Stage) bool {
	if s.Quant == nil {
		return false
	}
	return s.Quant.Max < 0 || s.Quant.Max > 1
}

// chain builds the pats of a stage sequence, linked first to last, and
// returns the last.
func (c *compiler) chain(stages []*pattern.Stage, headBound int64) *pat {
	var prev *pat
	for i, s := range stages {
		p := c.pat(s)
		if i == 0 && p.bound == c.gap && headBound > 0 {
			p.bound = headBound
		}
		p.prev = prev
		prev = p
	}
	return prev
}

func (c *compiler) pat(s *pattern.Stage) *pat {
	p := &pat{name: s.Name.Name, stage: c.ec.stages[s.Name.Name], gap: c.gap, bound: c.gap, inner: skipTillNext}
	if s.Within != nil {
		p.bound = int64(s.Within.Value)
	}
	switch s.Op {
	case pattern.OpNext:
		p.strategy = strict
	case pattern.OpFollowedByAny:
		p.strategy = skipTillAny
	case pattern.OpNotNext:
		p.strategy = notNextC
	case pattern.OpNotFollowedBy:
		p.strategy = notFollowC
	default:
		p.strategy = skipTillNext
	}
	if s.Has(pattern.ModConsecutive) {
		p.inner = strict
	}
	if s.Has(pattern.ModCombinations) {
		p.inner = skipTillAny
	}
	p.optional = s.Has(pattern.ModOptional)
	p.greedy = s.Has(pattern.ModGreedy)
	if q := s.Quant; q != nil {
		switch q.Kind {
		case pattern.QuantOptional:
			p.optional = true
		case pattern.QuantPlus:
			p.looping, p.from, p.to = true, 1, 1
		case pattern.QuantStar:
			p.looping, p.from, p.to, p.optional = true, 1, 1, true
		case pattern.QuantExact:
			p.times, p.from, p.to = true, q.Min, q.Min
		case pattern.QuantRange:
			p.times, p.from, p.to = true, q.Min, q.Max
			if p.from == 0 {
				p.optional, p.from = true, 1
			}
		case pattern.QuantAtLeast:
			p.looping, p.from, p.to = true, q.Min, q.Min
			if p.from == 0 {
				p.optional, p.from, p.to = true, 1, 1
			}
		}
	}
	if s.Until != nil {
		p.until = c.predicate("", s.Until)
	}
	if s.IsGroup() {
		p.group = c.chain(s.Group, p.bound)
		return p
	}
	typ := ""
	if s.Type != nil && s.Type.Name != "any" {
		typ = s.Type.Name
	}
	p.cond = c.predicate(typ, s.Where)
	return p
}

func (c *compiler) predicate(typ string, where pattern.Expr) *cond {
	if typ != "" {
		// The decoder gives events the canonical copy of their type name
		// (see event.Decoder): evalPred's comparison then meets the same
		// bytes. The program keeps the handle, and so the copy.
		h := unique.Make(typ)
		c.prog.typeNames = append(c.prog.typeNames, h)
		typ = h.Value()
	}
	pr := pred{typ: typ}
	if where != nil {
		pr.where = c.ec.value(where)
	}
	c.prog.preds = append(c.prog.preds, pr)
	return predCond(int32(len(c.prog.preds) - 1))
}

// flatten turns the compiler's graph into the program's state table and
// computes each state's step bound.
func (c *compiler) flatten(g *graphCompiler, start *cstate) {
	idx := map[*cstate]int32{}
	for i, s := range g.states {
		idx[s] = int32(i)
	}
	prog := c.prog
	prog.states = make([]state, len(g.states))
	for i, s := range g.states {
		st := state{name: s.name, stage: s.stage, kind: s.kind}
		for _, e := range s.edges {
			st.edges = append(st.edges, edge{action: e.action, target: idx[e.target], cond: e.cond})
			st.proceeds = st.proceeds || e.action == Proceed
		}
		prog.states[i] = st
	}
	prog.start = idx[start]
	for i, s := range g.states {
		if s.kind == kindPending {
			prog.states[i].bound = g.negBound[s]
			continue
		}
		prog.states[i].bound = c.stepBound(int32(i))
		if p, ok := c.reachesPending(int32(i)); ok {
			prog.states[i].completes = true
			prog.states[i].bound = g.negBound[g.states[p]]
		}
	}
}

// stepBound is the largest bound over the takes reachable from s by proceed
// edges, or 0 when one of them is unbounded or there is none.
func (c *compiler) stepBound(s int32) int64 {
	var best int64
	unbounded, any := false, false
	seen := map[int32]bool{s: true}
	stack := []int32{s}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c.prog.states[cur].kind == kindStop {
			continue
		}
		for _, e := range c.prog.states[cur].edges {
			switch e.action {
			case Proceed:
				if !seen[e.target] {
					seen[e.target] = true
					stack = append(stack, e.target)
				}
			case Take:
				any = true
				b := takeBound(e.cond)
				if b == 0 {
					unbounded = true
				} else if b > best {
					best = b
				}
			}
		}
	}
	if unbounded || !any {
		return 0
	}
	return best
}

func takeBound(c *cond) int64 {
	switch c.op {
	case condBoundOp:
		return c.bound
	case condAndOp:
		if b := takeBound(c.b); b > 0 {
			return b
		}
		return takeBound(c.a)
	}
	return 0
}

// reachesPending reports whether a run waiting in s completes the pattern's
// trailing absence when its deadline passes: s leads to the pending state by
// unconditional proceed edges (as a loop before a trailing not_followed_by).
func (c *compiler) reachesPending(s int32) (int32, bool) {
	seen := map[int32]bool{s: true}
	stack := []int32{s}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range c.prog.states[cur].edges {
			if e.action != Proceed || e.cond.op != condTrueOp || seen[e.target] {
				continue
			}
			if c.prog.states[e.target].kind == kindPending {
				return e.target, true
			}
			seen[e.target] = true
			stack = append(stack, e.target)
		}
	}
	return -1, false
}
