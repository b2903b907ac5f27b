package nfa

import (
	"fmt"
	"slices"
	"strings"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/pattern"
)

// exprFn is a compiled expression. Expressions are compiled once into
// closures that read fields by schema slot: nothing walks the syntax tree or
// looks a name up while events flow.
type exprFn func(c *evalCtx) event.Value

// evFn is a compiled expression whose value is one event of a stage
// (a, first(s), last(s), s[i]); nil when there is none.
type evFn func(c *evalCtx) *event.Event

// evalCtx is what an expression sees: the event being tested (nil in emit)
// and the partial match so far, either as a chain in the shared buffer
// (conditions) or as a materialized match (emit).
type evalCtx struct {
	m     *Matcher
	ev    *event.Event
	st    *State
	node  int32
	prev  int64
	match *Match
	key   []string
	agg   *event.Event // the event an aggregate is reading
}

// eachStage calls fn with the events of stage s, newest first, until fn
// returns false.
func (c *evalCtx) eachStage(s int32, fn func(*event.Event) bool) {
	if c.match != nil {
		evs := c.match.Events
		for i := len(evs) - 1; i >= 0; i-- {
			if evs[i].Stage == s && !fn(evs[i].Event) {
				return
			}
		}
		return
	}
	for i := c.node; i >= 0; {
		n := &c.st.nodes[i]
		if n.stage == s && !fn(c.st.events[n.ev].e) {
			return
		}
		i = n.prev
	}
}

func (c *evalCtx) typeError() {
	if c.m != nil {
		c.m.Stats.TypeErrors++
	}
}

type exprCompiler struct {
	p        *Program
	schema   *event.Schema
	stages   map[string]int32
	groups   map[int32][]int32 // group stage -> its inner stages, recursively
	emit     bool
	keyParts map[string]int
	err      error
}

func (ec *exprCompiler) fail(n pattern.Node, format string, args ...any) exprFn {
	if ec.err == nil {
		ec.err = fmt.Errorf("%s: %s", n.Position(), fmt.Sprintf(format, args...))
	}
	return constFn(event.NullValue())
}

func constFn(v event.Value) exprFn { return func(*evalCtx) event.Value { return v } }

// flatten splits a chain of selectors into its innermost operand and the
// selected names.
func flatten(e pattern.Expr) (pattern.Expr, []string) {
	var sels []string
	for {
		s, ok := e.(*pattern.SelectorExpr)
		if !ok {
			break
		}
		sels = append(sels, s.Sel.Name)
		e = s.X
	}
	for i, j := 0, len(sels)-1; i < j; i, j = i+1, j-1 {
		sels[i], sels[j] = sels[j], sels[i]
	}
	return e, sels
}

func (ec *exprCompiler) value(e pattern.Expr) exprFn {
	switch x := e.(type) {
	case nil:
		return constFn(event.NullValue())
	case *pattern.NumberLit:
		return constFn(event.NumberValue(x.Value))
	case *pattern.StringLit:
		return constFn(event.StringValue(x.Value))
	case *pattern.BoolLit:
		return constFn(event.BoolValue(x.Value))
	case *pattern.NullLit:
		return constFn(event.NullValue())
	case *pattern.DurationLit:
		return constFn(event.DurationValue(int64(x.Value)))
	case *pattern.ListLit:
		return ec.list(x)
	case *pattern.ParenExpr:
		return ec.value(x.X)
	case *pattern.UnaryExpr:
		return ec.unary(x)
	case *pattern.BinaryExpr:
		return ec.binary(x)
	case *pattern.NameExpr, *pattern.SelectorExpr:
		return ec.path(e)
	case *pattern.IndexExpr:
		if evf, ok := ec.event(x); ok {
			return eventValue(evf)
		}
		return ec.index(x)
	case *pattern.CallExpr:
		return ec.call(x)
	}
	return ec.fail(e, "unsupported expression %T", e)
}

func (ec *exprCompiler) list(x *pattern.ListLit) exprFn {
	elems := make([]exprFn, len(x.Elems))
	for i, el := range x.Elems {
		elems[i] = ec.value(el)
	}
	allConst := true
	for _, el := range x.Elems {
		if !isLiteral(el) {
			allConst = false
		}
	}
	if allConst {
		vals := make([]event.Value, len(elems))
		for i, f := range elems {
			vals[i] = f(nil)
		}
		return constFn(event.ListValue(vals))
	}
	return func(c *evalCtx) event.Value {
		vals := make([]event.Value, len(elems))
		for i, f := range elems {
			vals[i] = f(c)
		}
		return event.ListValue(vals)
	}
}

func isLiteral(e pattern.Expr) bool {
	switch x := e.(type) {
	case *pattern.NumberLit, *pattern.StringLit, *pattern.BoolLit, *pattern.NullLit, *pattern.DurationLit:
		return true
	case *pattern.ParenExpr:
		return isLiteral(x.X)
	case *pattern.UnaryExpr:
		return x.Op == pattern.UnaryNeg && isLiteral(x.X)
	case *pattern.ListLit:
		for _, el := range x.Elems {
			if !isLiteral(el) {
				return false
			}
		}
		return true
	}
	return false
}

// path compiles a name or a chain of selectors.
func (ec *exprCompiler) path(e pattern.Expr) exprFn {
	base, sels := flatten(e)
	if n, ok := base.(*pattern.NameExpr); ok {
		return ec.namePath(n, sels)
	}
	if evf, ok := ec.event(base); ok {
		return fieldOf(ec.schema, evf, sels)
	}
	bv := ec.value(base)
	return func(c *evalCtx) event.Value {
		v := bv(c)
		for _, s := range sels {
			o := v.Obj()
			if o == nil {
				return event.NullValue()
			}
			v = o.Get(s)
		}
		return v
	}
}

func (ec *exprCompiler) namePath(n *pattern.NameExpr, sels []string) exprFn {
	if s, ok := ec.stages[n.Name]; ok {
		evf := ec.stageLast(s)
		if len(sels) == 0 {
			return eventValue(evf)
		}
		return fieldOf(ec.schema, evf, sels)
	}
	full := strings.Join(append([]string{n.Name}, sels...), ".")
	if ec.emit {
		if n.Name == "key" && len(sels) == 0 {
			return keyValue
		}
		if i, ok := ec.keyParts[full]; ok {
			return func(c *evalCtx) event.Value {
				if i < len(c.key) {
					return event.StringValue(c.key[i])
				}
				return event.NullValue()
			}
		}
		return ec.fail(n, "no event is being tested in emit: %q must start with a stage name", full)
	}
	if len(sels) == 0 {
		if f := attrFn(n.Name); f != nil {
			return func(c *evalCtx) event.Value { return f(c.ev) }
		}
	}
	slot := ec.schema.Slot(full)
	return func(c *evalCtx) event.Value { return c.ev.Field(slot) }
}

func keyValue(c *evalCtx) event.Value {
	switch len(c.key) {
	case 0:
		return event.NullValue()
	case 1:
		return event.StringValue(c.key[0])
	}
	l := make([]event.Value, len(c.key))
	for i, k := range c.key {
		l[i] = event.StringValue(k)
	}
	return event.ListValue(l)
}

// attrFn returns the reader of a fixed attribute, or nil.
func attrFn(name string) func(*event.Event) event.Value {
	switch name {
	case "time":
		return func(e *event.Event) event.Value { return event.TimeValue(e.Time) }
	case "type":
		return func(e *event.Event) event.Value { return event.StringValue(e.Type) }
	case "id":
		return func(e *event.Event) event.Value { return event.StringValue(e.ID) }
	}
	return nil
}

func fieldOf(schema *event.Schema, evf evFn, sels []string) exprFn {
	if len(sels) == 1 {
		if f := attrFn(sels[0]); f != nil {
			return func(c *evalCtx) event.Value {
				e := evf(c)
				if e == nil {
					return event.NullValue()
				}
				return f(e)
			}
		}
	}
	slot := schema.Slot(strings.Join(sels, "."))
	return func(c *evalCtx) event.Value {
		e := evf(c)
		if e == nil {
			return event.NullValue()
		}
		return e.Field(slot)
	}
}

// eventValue is an event read as a value: its id.
func eventValue(evf evFn) exprFn {
	return func(c *evalCtx) event.Value {
		e := evf(c)
		if e == nil {
			return event.NullValue()
		}
		return event.StringValue(e.ID)
	}
}

// event compiles an expression whose value is an event of a stage.
func (ec *exprCompiler) event(e pattern.Expr) (evFn, bool) {
	switch x := e.(type) {
	case *pattern.ParenExpr:
		return ec.event(x.X)
	case *pattern.NameExpr:
		if s, ok := ec.stages[x.Name]; ok {
			return ec.stageLast(s), true
		}
	case *pattern.CallExpr:
		if len(x.Args) != 1 || (x.Fun.Name != "first" && x.Fun.Name != "last") {
			return nil, false
		}
		s, ok := ec.stageArg(x.Args[0])
		if !ok {
			return nil, false
		}
		if x.Fun.Name == "last" {
			return ec.stageLast(s), true
		}
		return ec.stageFirst(s), true
	case *pattern.IndexExpr:
		s, ok := ec.stageArg(x.X)
		if !ok {
			return nil, false
		}
		idx := ec.value(x.Index)
		stages := ec.stageSet(s)
		return func(c *evalCtx) *event.Event {
			iv := idx(c)
			if iv.Kind() != event.Number {
				return nil
			}
			i := int(iv.Num())
			n := 0
			each(c, stages, func(*event.Event) bool { n++; return true })
			if i < 0 {
				i += n
			}
			if i < 0 || i >= n {
				return nil
			}
			// Newest first: the i-th oldest is the (n-1-i)-th seen.
			want, k := n-1-i, 0
			var got *event.Event
			each(c, stages, func(e *event.Event) bool {
				if k == want {
					got = e
					return false
				}
				k++
				return true
			})
			return got
		}, true
	}
	return nil, false
}

func (ec *exprCompiler) stageArg(e pattern.Expr) (int32, bool) {
	if p, ok := e.(*pattern.ParenExpr); ok {
		return ec.stageArg(p.X)
	}
	n, ok := e.(*pattern.NameExpr)
	if !ok {
		return 0, false
	}
	s, ok := ec.stages[n.Name]
	return s, ok
}

// stageSet returns the stages whose events stage s stands for: itself, or
// for a group every stage inside it.
func (ec *exprCompiler) stageSet(s int32) []int32 {
	if inner, ok := ec.groups[s]; ok {
		return inner
	}
	return []int32{s}
}

func each(c *evalCtx, stages []int32, fn func(*event.Event) bool) {
	if len(stages) == 1 {
		c.eachStage(stages[0], fn)
		return
	}
	stop := false
	// A group's events interleave across its stages: walk the chain once.
	if c.match != nil {
		evs := c.match.Events
		for i := len(evs) - 1; i >= 0 && !stop; i-- {
			if slices.Contains(stages, evs[i].Stage) && !fn(evs[i].Event) {
				stop = true
			}
		}
		return
	}
	for i := c.node; i >= 0 && !stop; {
		n := &c.st.nodes[i]
		if slices.Contains(stages, n.stage) && !fn(c.st.events[n.ev].e) {
			stop = true
		}
		i = n.prev
	}
}

func (ec *exprCompiler) stageLast(s int32) evFn {
	stages := ec.stageSet(s)
	return func(c *evalCtx) *event.Event {
		var got *event.Event
		each(c, stages, func(e *event.Event) bool { got = e; return false })
		return got
	}
}

func (ec *exprCompiler) stageFirst(s int32) evFn {
	stages := ec.stageSet(s)
	return func(c *evalCtx) *event.Event {
		var got *event.Event
		each(c, stages, func(e *event.Event) bool { got = e; return true })
		return got
	}
}

func (ec *exprCompiler) index(x *pattern.IndexExpr) exprFn {
	bv, iv := ec.value(x.X), ec.value(x.Index)
	return func(c *evalCtx) event.Value {
		l, i := bv(c), iv(c)
		if l.Kind() != event.List || i.Kind() != event.Number {
			if !l.IsNull() && !i.IsNull() {
				c.typeError()
			}
			return event.NullValue()
		}
		items := l.List()
		k := int(i.Num())
		if k < 0 {
			k += len(items)
		}
		if k < 0 || k >= len(items) {
			return event.NullValue()
		}
		return items[k]
	}
}
