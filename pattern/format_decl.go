package pattern

import (
	"sort"
	"strconv"
	"strings"
)

// This file prints the declarations, clauses, stages and emits for Format.

// oneLine reports whether an event is printed on one line: it was written so.
func oneLine(e *EventDecl) bool { return e.Pos.Line == e.EndPos.Line }

// eventWidths returns, for each declaration, the width to pad the name of
// a one-line event to: consecutive one-line events with no blank line and
// no comment between them align their '{'.
func (p *formatter) eventWidths(decls []Decl) []int {
	widths := make([]int, len(decls))
	oneLiner := func(j int) (*EventDecl, bool) {
		e, ok := decls[j].(*EventDecl)
		return e, ok && e != nil && e.Pos.Line > 0 && oneLine(e)
	}
	ci := 0 // comments before the start of the run's current event
	for i := 0; i < len(decls); {
		first, ok := oneLiner(i)
		if !ok {
			i++
			continue
		}
		j, w := i+1, len(first.Name.Name)
		for prev := first; j < len(decls); j++ {
			e, ok := oneLiner(j)
			if !ok || e.Pos.Line > prev.EndPos.Line+1 {
				break
			}
			for ci < len(p.comments) && p.comments[ci].Pos.Offset <= prev.Pos.Offset {
				ci++
			}
			if ci < len(p.comments) && p.comments[ci].Pos.Offset < e.Pos.Offset {
				break // a comment between them
			}
			w, prev = max(w, len(e.Name.Name)), e
		}
		for k := i; k < j; k++ {
			widths[k] = w
		}
		i = j
	}
	return widths
}

func (p *formatter) event(e *EventDecl, limit, nameWidth int) {
	name := pad(e.Name.Name, nameWidth)
	if oneLine(e) {
		var b strings.Builder
		b.WriteString("event " + name + " {")
		for i, fd := range e.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(" " + fieldText(fd, 0))
		}
		if len(e.Fields) > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('}')
		p.item(0, e.Pos, e.EndPos, limit, b.String())
		return
	}
	first := e.EndPos.Offset
	if len(e.Fields) > 0 && e.Fields[0] != nil {
		first = e.Fields[0].Pos.Offset
	}
	p.opening(0, e.Pos, e.Name.Pos.Line, first, "event "+e.Name.Name+" {")
	w := 0
	for _, fd := range e.Fields {
		if fd != nil {
			w = max(w, len(fd.Name.Name)+1)
		}
	}
	for i, fd := range e.Fields {
		if fd == nil {
			continue
		}
		next := e.EndPos.Offset - 1
		if i+1 < len(e.Fields) && e.Fields[i+1] != nil {
			next = e.Fields[i+1].Pos.Offset
		}
		p.item(1, fd.Pos, fd.EndPos, next, fieldText(fd, w))
	}
	p.closing(0, e.EndPos, limit, "}")
}

// fieldText is `name: type` or `name: type?`, the name and colon padded to w.
func fieldText(fd *FieldDecl, w int) string {
	s := pad(fd.Name.Name+":", w) + " " + fd.Type.Name
	if fd.Optional {
		s += "?"
	}
	return s
}

// pad right-pads s with spaces to w bytes.
func pad(s string, w int) string {
	if len(s) >= w {
		return s
	}
	return s + strings.Repeat(" ", w-len(s))
}

// patternItem is one line-level element of a pattern body, in source order.
type patternItem struct {
	pos  Pos
	node any
}

func (p *formatter) pattern(d *PatternDecl, limit int) {
	if d.Doc != "" && !d.Pos.IsValid() {
		for _, l := range strings.Split(d.Doc, "\n") {
			p.emit(outLine{code: strings.TrimRight("## "+l, " ")}, 0)
		}
	}
	items := patternItems(d)
	first := d.EndPos.Offset
	if len(items) > 0 {
		first = items[0].pos.Offset
	}
	p.opening(0, d.Pos, d.Name.Pos.Line, first, "pattern "+d.Name.Name+" {")
	kw := clauseWidth(d)
	ops, names := stageWidths(d.Stages)
	for i, it := range items {
		next := d.EndPos.Offset - 1
		if i+1 < len(items) {
			next = items[i+1].pos.Offset
		}
		switch n := it.node.(type) {
		case *Stage:
			p.stage(1, n, next, ops, names)
		case *Emit:
			prefix := "emit"
			if n == d.OnTimeout {
				prefix = "on_timeout emit"
			}
			p.emitClause(1, n, next, prefix)
		default:
			p.item(1, it.pos, clauseEnd(n), next, clauseText(n, kw))
		}
	}
	p.closing(0, d.EndPos, limit, "}")
}

// patternItems returns the clauses, then the stages, then emit and
// on_timeout, each group in source order.
func patternItems(d *PatternDecl) []patternItem {
	var clauses, tail []patternItem
	add := func(list *[]patternItem, pos Pos, n any) { *list = append(*list, patternItem{pos, n}) }
	if d.Key != nil {
		add(&clauses, d.Key.Pos, d.Key)
	}
	if d.Within != nil {
		add(&clauses, d.Within.Pos, d.Within)
	}
	if d.Gap != nil {
		add(&clauses, d.Gap.Pos, gapClause{d.Gap})
	}
	if d.Skip != nil {
		add(&clauses, d.Skip.Pos, d.Skip)
	}
	if d.Suppress != nil {
		add(&clauses, d.Suppress.Pos, suppressClause{d.Suppress})
	}
	if d.Emit != nil {
		add(&tail, d.Emit.Pos, d.Emit)
	}
	if d.OnTimeout != nil {
		add(&tail, d.OnTimeout.Pos, d.OnTimeout)
	}
	bySource := func(list []patternItem) {
		sort.SliceStable(list, func(i, j int) bool { return list[i].pos.Offset < list[j].pos.Offset })
	}
	bySource(clauses)
	bySource(tail)
	out := clauses
	for _, s := range d.Stages {
		if s != nil {
			out = append(out, patternItem{s.Pos, s})
		}
	}
	return append(out, tail...)
}

// gapClause and suppressClause tell the two DurationClauses apart.
type (
	gapClause      struct{ *DurationClause }
	suppressClause struct{ *DurationClause }
)

func clauseWidth(d *PatternDecl) int {
	w := 0
	for _, c := range []struct {
		present bool
		kw      string
	}{{d.Key != nil, "key"}, {d.Within != nil, "within"}, {d.Gap != nil, "gap"}, {d.Skip != nil, "skip"}, {d.Suppress != nil, "suppress"}} {
		if c.present {
			w = max(w, len(c.kw))
		}
	}
	return w
}

func clauseEnd(n any) Pos {
	switch n := n.(type) {
	case *KeyClause:
		return n.EndPos
	case *WithinClause:
		return n.EndPos
	case gapClause:
		return n.EndPos
	case suppressClause:
		return n.EndPos
	case *SkipClause:
		return n.EndPos
	}
	return Pos{}
}

func clauseText(n any, w int) string {
	switch n := n.(type) {
	case *KeyClause:
		paths := make([]string, len(n.Paths))
		for i, e := range n.Paths {
			paths[i] = formatExpr(e)
		}
		return pad("key", w) + " " + strings.Join(paths, ", ")
	case *WithinClause:
		if n.None {
			return pad("within", w) + " none"
		}
		return pad("within", w) + " " + durationText(n.Dur)
	case gapClause:
		return pad("gap", w) + " " + durationText(n.Dur)
	case suppressClause:
		return pad("suppress", w) + " " + durationText(n.Dur)
	case *SkipClause:
		s := pad("skip", w) + " " + n.Strategy.String()
		if n.Target != nil {
			s += " " + n.Target.Name
		}
		return s
	}
	return ""
}

// stageWidths returns the widths of the operator and the name column of a
// list of stages.
func stageWidths(list []*Stage) (ops, names int) {
	for _, s := range list {
		if s != nil {
			ops = max(ops, len(s.Op.String()))
			names = max(names, len(stageName(s)))
		}
	}
	return ops, names
}

// stageName is `name{q} modifiers:`.
func stageName(s *Stage) string {
	var b strings.Builder
	b.WriteString(s.Name.Name)
	b.WriteString(quantString(s.Quant))
	for _, m := range s.Modifiers {
		b.WriteString(" " + m.Kind.String())
	}
	b.WriteByte(':')
	return b.String()
}

func quantString(q *Quantifier) string {
	if q == nil {
		return ""
	}
	switch q.Kind {
	case QuantOptional:
		return "?"
	case QuantPlus:
		return "+"
	case QuantStar:
		return "*"
	case QuantExact:
		return "{" + strconv.Itoa(q.Min) + "}"
	case QuantAtLeast:
		return "{" + strconv.Itoa(q.Min) + ",}"
	}
	return "{" + strconv.Itoa(q.Min) + "," + strconv.Itoa(q.Max) + "}"
}

func (p *formatter) stage(indent int, s *Stage, limit, opW, nameW int) {
	head := pad(s.Op.String(), opW) + " " + pad(stageName(s), nameW) + " "
	if !s.IsGroup() {
		typ := "any"
		if s.Type != nil {
			typ = s.Type.Name
		}
		p.item(indent, s.Pos, s.EndPos, limit, head+typ+stageTail(s))
		return
	}
	// A group: its inner stages, then ')' and what follows it. The position
	// of ')' is not in the AST: comments after the last inner stage go
	// before it.
	first := s.EndPos.Offset
	if len(s.Group) > 0 && s.Group[0] != nil {
		first = s.Group[0].Pos.Offset
	}
	p.opening(indent, s.Pos, s.Name.Pos.Line, first, head+"(")
	after := s.EndPos.Offset - 1
	for _, x := range []Expr{s.Where, s.Until} {
		if x != nil && x.Position().IsValid() {
			after = min(after, x.Position().Offset)
		}
	}
	if s.Within != nil && s.Within.Pos.IsValid() {
		after = min(after, s.Within.Pos.Offset)
	}
	ops, names := stageWidths(s.Group)
	for i, inner := range s.Group {
		if inner == nil {
			continue
		}
		next := after
		if i+1 < len(s.Group) && s.Group[i+1] != nil {
			next = s.Group[i+1].Pos.Offset
		}
		p.stage(indent+1, inner, next, ops, names)
	}
	p.leading(s.EndPos.Offset, indent+1)
	p.closing(indent, s.EndPos, limit, ")"+stageTail(s))
}

// stageTail is ` where X until Y within D`, each part if present.
func stageTail(s *Stage) string {
	var b strings.Builder
	if s.Where != nil {
		b.WriteString(" where " + formatExpr(s.Where))
	}
	if s.Until != nil {
		b.WriteString(" until " + formatExpr(s.Until))
	}
	if s.Within != nil {
		b.WriteString(" within " + durationText(s.Within))
	}
	return b.String()
}

func (p *formatter) emitClause(indent int, e *Emit, limit int, prefix string) {
	head := prefix
	if e.Severity != SeverityUnset {
		head += " " + e.Severity.String()
	}
	if e.Message != nil {
		head += " " + templateText(e.Message)
	}
	if len(e.Fields) <= 1 {
		if len(e.Fields) == 1 && e.Fields[0] != nil {
			f := e.Fields[0]
			head += " { " + f.Name.Name + ": " + formatExpr(f.Value) + " }"
		}
		p.item(indent, e.Pos, e.EndPos, limit, head)
		return
	}
	line := e.Pos.Line
	if e.Message != nil && e.Message.Pos.IsValid() {
		line = e.Message.Pos.Line
	}
	first := e.EndPos.Offset
	if e.Fields[0] != nil {
		first = e.Fields[0].Pos.Offset
	}
	p.opening(indent, e.Pos, line, first, head+" {")
	w := 0
	for _, f := range e.Fields {
		if f != nil {
			w = max(w, len(f.Name.Name)+1)
		}
	}
	for i, f := range e.Fields {
		if f == nil {
			continue
		}
		next := e.EndPos.Offset - 1
		if i+1 < len(e.Fields) && e.Fields[i+1] != nil {
			next = e.Fields[i+1].Pos.Offset
		}
		p.item(indent+1, f.Pos, f.EndPos, next, pad(f.Name.Name+":", w)+" "+formatExpr(f.Value)+",")
	}
	p.closing(indent, e.EndPos, limit, "}")
}
