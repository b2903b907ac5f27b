package pattern

import "fmt"

// This file resolves the names of expressions (language.md §3.4, §3.5) and
// gives every expression a static type.

// exprChecker checks the expressions of one condition or emit clause.
type exprChecker struct {
	*checker
	sc   *scope
	cur  *stageInfo // the stage whose condition is checked; nil in emit
	emit bool
}

// typeErrorf reports a type error. Type errors are compile errors only when
// the set declares event types (language.md §3.4): without declarations,
// a mismatch is false at run time, and counted.
func (x *exprChecker) typeErrorf(pos Pos, format string, args ...any) {
	if x.typed {
		x.errorf(pos, format, args...)
	}
}

// checkConditions checks the where and until of one stage.
func (c *checker) checkConditions(sc *scope, si *stageInfo) {
	x := &exprChecker{checker: c, sc: sc, cur: si}
	s := si.stage
	if s.Where != nil && !s.IsGroup() {
		x.cond("where", s.Where)
	}
	if s.Until != nil {
		x.cond("until", s.Until)
	}
}

// cond checks a condition, which must be bool.
func (x *exprChecker) cond(clause string, e Expr) {
	if isNilExpr(e) {
		return
	}
	if t := x.expr(e); t.kind != kindBool && !t.loose() {
		x.typeErrorf(e.Position(), "%s needs a bool condition, not %s (%s)", clause, t, formatExpr(e))
	}
}

// checkEmit checks an emit or on_timeout emit clause.
func (c *checker) checkEmit(sc *scope, em *Emit) {
	if em == nil {
		return
	}
	x := &exprChecker{checker: c, sc: sc, emit: true}
	if em.Message != nil {
		for _, part := range em.Message.Parts {
			if !isNilExpr(part.Expr) {
				x.expr(part.Expr)
			}
		}
	}
	seen := map[string]*EmitField{}
	for _, f := range em.Fields {
		if f == nil {
			continue
		}
		if prev, dup := seen[f.Name.Name]; dup {
			c.errorf(f.Name.Pos, "emit field %s already given at %s", f.Name.Name, prev.Name.Pos)
		} else {
			seen[f.Name.Name] = f
		}
		x.expr(f.Value)
	}
}

// expr checks e and returns its type.
func (x *exprChecker) expr(e Expr) typ {
	if isNilExpr(e) {
		return tAny
	}
	switch e := e.(type) {
	case *NumberLit:
		return tNumber
	case *StringLit:
		return tString
	case *BoolLit:
		return tBool
	case *NullLit:
		return tNull
	case *DurationLit:
		return tDuration
	case *ListLit:
		for _, el := range e.Elems {
			x.expr(el)
		}
		return tList
	case *ParenExpr:
		return x.expr(e.X)
	case *UnaryExpr:
		return x.unary(e)
	case *BinaryExpr:
		return x.binary(e)
	case *NameExpr:
		return x.name(e, "")
	case *SelectorExpr:
		return x.selector(e)
	case *IndexExpr:
		return x.index(e)
	case *CallExpr:
		return x.call(e)
	}
	return tAny
}

// name resolves a bare name; sel is the field selected from it, if any, for
// the message about a stage that may take several events.
func (x *exprChecker) name(e *NameExpr, sel string) typ {
	if si := x.sc.byName[e.Name]; si != nil {
		return x.stageRef(si, e.Pos, sel, false)
	}
	if x.emit {
		if e.Name == "key" {
			return x.keyValue()
		}
		if t, ok := x.sc.keyTypes[e.Name]; ok {
			return t
		}
		if s := suggest(e.Name, x.sc.names); s != "" {
			x.errorf(e.Pos, "unknown stage %q (did you mean %q?)", e.Name, s)
			return tAny
		}
		hint := x.emitHint(e.Name)
		if sel != "" {
			hint += "." + sel
		}
		x.errorf(e.Pos, "no event is being tested in emit: use a stage name, as in %s", hint)
		return tAny
	}
	if t, ok := fixedAttrs[e.Name]; ok {
		return t
	}
	ev := x.tested()
	if ev == nil {
		return tAny
	}
	f := lookupField(ev, e.Name)
	if f == nil {
		hint := didYouMean(e.Name, fieldNames(ev))
		if s := suggest(e.Name, x.sc.names); hint == "" && s != "" {
			hint = fmt.Sprintf(" (did you mean stage %q?)", s)
		}
		x.errorf(e.Pos, "unknown field %q of event %s%s", e.Name, ev.Name.Name, hint)
		return tAny
	}
	t, _ := fieldType(f.Type.Name)
	return t
}

// tested returns the declared type of the event a condition tests, or nil.
func (x *exprChecker) tested() *EventDecl {
	if x.cur == nil {
		return nil
	}
	return x.cur.event
}

// keyValue returns the type of `key` in emit.
func (x *exprChecker) keyValue() typ {
	switch k := x.sc.decl.Key; {
	case k == nil:
		return tNull
	case len(k.Paths) > 1:
		return tList
	}
	return tString
}

// emitHint returns how emit can read field name: from the last stage that
// has it (or may have it), as in big.amount or last(probe).amount.
func (x *exprChecker) emitHint(name string) string {
	fallback := ""
	for i := len(x.sc.stages) - 1; i >= 0; i-- {
		si := x.sc.stages[i]
		if si.group() || si.negated() || si.name() == "" {
			continue
		}
		ref := si.name() + "." + name
		if si.repeat {
			ref = "last(" + si.name() + ")." + name
		}
		_, fixed := fixedAttrs[name]
		if si.event == nil || fixed || lookupField(si.event, name) != nil {
			return ref
		}
		if fallback == "" {
			fallback = ref
		}
	}
	if fallback == "" {
		fallback = "s." + name
	}
	return fallback
}

// stageRef checks a reference to stage si at pos. sel is the field read
// from it ("" if none); multiOK says the reference is one of the forms that
// read a looping stage (first, last, s[i], aggregates). It returns the type
// of one of the stage's events.
func (x *exprChecker) stageRef(si *stageInfo, pos Pos, sel string, multiOK bool) typ {
	name := si.name()
	switch {
	case si.group():
		x.errorf(pos, "%s is a group stage: it takes no events itself; name one of its inner stages", name)
	case si.negated():
		x.errorf(pos, "stage %s is negated: it never takes events", name)
	case x.cur != nil && si == x.cur && !si.repeat:
		if sel != "" {
			x.errorf(pos, "stage %s takes one event, the one being tested: in its own condition write %s, not %s.%s", name, sel, name, sel)
		} else {
			x.errorf(pos, "stage %s takes one event, the one being tested: it cannot read itself in its own condition", name)
		}
	case x.cur != nil && si.idx > x.cur.idx && !si.inside(x.cur):
		x.errorf(pos, "stage %s comes later in the pattern: it has no events when the condition of %s is tested", name, x.cur.name())
	case !multiOK && si.repeat:
		if sel != "" {
			x.errorf(pos, "stage %[1]s may take several events: use first(%[1]s).%[2]s, last(%[1]s).%[2]s, %[1]s[i].%[2]s or an aggregate", name, sel)
		} else {
			x.errorf(pos, "stage %[1]s may take several events: use first(%[1]s), last(%[1]s), %[1]s[i] or an aggregate", name)
		}
	default:
		return typ{kind: kindEvent, event: si.event}
	}
	return tAny
}

// selector checks X.Sel.
func (x *exprChecker) selector(e *SelectorExpr) typ {
	if x.emit {
		// A key path such as geo.country is a key part in emit.
		if path, ok := flattenPath(e); ok && x.sc.byName[path[0].name] == nil && path[0].name != "key" {
			for j := len(path); j >= 1; j-- {
				if t, ok := x.sc.keyTypes[path[:j].String()]; ok {
					if j == len(path) {
						return t
					}
					return tAny
				}
			}
		}
	}
	var base typ
	if n, ok := e.X.(*NameExpr); ok && n != nil {
		base = x.name(n, e.Sel.Name)
	} else {
		base = x.expr(e.X)
	}
	return x.selectField(base, e)
}

// selectField returns the type of field e.Sel of a value of type base.
func (x *exprChecker) selectField(base typ, e *SelectorExpr) typ {
	sel := e.Sel
	switch base.kind {
	case kindEvent:
		if t, ok := fixedAttrs[sel.Name]; ok {
			return t
		}
		ev := base.event
		if ev == nil {
			return tAny
		}
		f := lookupField(ev, sel.Name)
		if f == nil {
			x.errorf(sel.Pos, "unknown field %q of event %s%s", sel.Name, ev.Name.Name, didYouMean(sel.Name, fieldNames(ev)))
			return tAny
		}
		t, _ := fieldType(f.Type.Name)
		return t
	case kindAny, kindNull, kindObject:
		return tAny
	}
	x.typeErrorf(sel.Pos, "cannot select field %q of %s (%s)", sel.Name, base, formatExpr(e.X))
	return tAny
}

// index checks X[Index].
func (x *exprChecker) index(e *IndexExpr) typ {
	if n, ok := e.X.(*NameExpr); ok && n != nil {
		if si := x.sc.byName[n.Name]; si != nil {
			t := x.stageRef(si, n.Pos, "", true)
			x.wantIndex(e.Index)
			return t
		}
	}
	base := x.expr(e.X)
	switch base.kind {
	case kindList, kindAny, kindNull:
		x.wantIndex(e.Index)
	case kindObject:
		x.expr(e.Index)
	default:
		x.expr(e.Index)
		x.typeErrorf(e.Pos, "cannot index %s (%s)", base, formatExpr(e.X))
	}
	return tAny
}

// wantIndex checks an index, which must be a number.
func (x *exprChecker) wantIndex(i Expr) {
	if isNilExpr(i) {
		return
	}
	if t := x.expr(i); t.kind != kindNumber && !t.loose() {
		x.typeErrorf(i.Position(), "an index must be a number, not %s (%s)", t, formatExpr(i))
	}
}

// isNilExpr reports whether e is nil or a nil pointer of an expression type,
// which an incomplete tree may hold.
func isNilExpr(e Expr) bool {
	switch e := e.(type) {
	case nil:
		return true
	case *BinaryExpr:
		return e == nil
	case *UnaryExpr:
		return e == nil
	case *ParenExpr:
		return e == nil
	case *NameExpr:
		return e == nil
	case *SelectorExpr:
		return e == nil
	case *IndexExpr:
		return e == nil
	case *CallExpr:
		return e == nil
	case *NumberLit:
		return e == nil
	case *StringLit:
		return e == nil
	case *BoolLit:
		return e == nil
	case *NullLit:
		return e == nil
	case *DurationLit:
		return e == nil
	case *ListLit:
		return e == nil
	}
	return false
}
