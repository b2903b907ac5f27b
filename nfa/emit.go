package nfa

import (
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/pattern"
)

type emitProg struct {
	severity pattern.Severity
	parts    []msgPart
	fields   []emitField
}

type msgPart struct {
	text string
	fn   exprFn
}

type emitField struct {
	name string
	fn   exprFn
}

func (c *compiler) emitProg(e *pattern.Emit) *emitProg {
	if e == nil {
		return nil
	}
	ep := &emitProg{severity: e.Severity}
	if e.Message != nil {
		for _, part := range e.Message.Parts {
			if part.Expr == nil {
				ep.parts = append(ep.parts, msgPart{text: part.Text})
				continue
			}
			ep.parts = append(ep.parts, msgPart{fn: c.ec.value(part.Expr)})
		}
	}
	for _, f := range e.Fields {
		ep.fields = append(ep.fields, emitField{name: f.Name.Name, fn: c.ec.value(f.Value)})
	}
	return ep
}

// Field is one named value of an emit clause.
type Field struct {
	Name  string
	Value event.Value
}

// Rendered is what an emit clause makes of a match.
type Rendered struct {
	Severity string
	Message  string
	Fields   []Field
}

// Render evaluates the emit clause for a match (or the on_timeout clause for
// a timed-out partial match) of the given key. Without a clause the alert has
// the default severity, no message and no fields.
func (m *Matcher) Render(mt *Match, key []string) Rendered {
	ep := m.p.emit
	sev := m.p.Severity
	if mt.Timeout {
		// on_timeout emit has its own severity, medium by default.
		ep = m.p.onTimeout
		sev = pattern.SeverityMedium
		if ep != nil && ep.severity != pattern.SeverityUnset {
			sev = ep.severity
		}
	}
	r := Rendered{Severity: sev.String()}
	if ep == nil {
		return r
	}
	c := &evalCtx{m: m, match: mt, key: key, node: -1}
	if len(ep.parts) > 0 {
		var b []byte
		for _, p := range ep.parts {
			if p.fn == nil {
				b = append(b, p.text...)
				continue
			}
			b = p.fn(c).AppendText(b)
		}
		r.Message = string(b)
	}
	for _, f := range ep.fields {
		r.Fields = append(r.Fields, Field{Name: f.name, Value: f.fn(c)})
	}
	return r
}
