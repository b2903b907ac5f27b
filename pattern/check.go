package pattern

import (
	"fmt"
	"strings"
)

// Check checks files together. Diagnostics holds errors and warnings, sorted by
// position; the Set is nil when there is any error.
//
// Every rule is checked in one pass: one mistake gives one diagnostic, and a
// mistake never hides another.
func Check(files ...*File) (*Set, Diagnostics) {
	c := &checker{events: map[string]*EventDecl{}}
	set := &Set{}
	for _, f := range files {
		if f == nil {
			continue
		}
		set.Files = append(set.Files, f)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *EventDecl:
				if d != nil {
					set.Events = append(set.Events, d)
				}
			case *PatternDecl:
				if d != nil {
					set.Patterns = append(set.Patterns, d)
				}
			}
		}
	}
	c.typed = len(set.Events) > 0
	for _, e := range set.Events {
		c.checkEvent(e)
	}
	seen := map[string]*PatternDecl{}
	for _, p := range set.Patterns {
		if prev, ok := seen[p.Name.Name]; ok && p.Name.Name != "" {
			c.errorf(p.Name.Pos, "pattern %s already declared at %s", p.Name.Name, prev.Name.Pos)
		} else {
			seen[p.Name.Name] = p
		}
		c.checkPattern(p)
	}
	c.diags.Sort()
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	return set, c.diags
}

// checker holds the state of one Check call.
type checker struct {
	diags      Diagnostics
	events     map[string]*EventDecl // the first declaration of each event type
	eventNames []string              // declared event type names, in order
	typed      bool                  // the set declares at least one event type
}

func (c *checker) errorf(pos Pos, format string, args ...any) {
	c.diags = append(c.diags, Diagnostic{Pos: pos, Severity: Error, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) warnf(pos Pos, format string, args ...any) {
	c.diags = append(c.diags, Diagnostic{Pos: pos, Severity: Warning, Msg: fmt.Sprintf(format, args...)})
}

// checkEvent checks one event declaration: a unique name and unique, typed fields.
func (c *checker) checkEvent(e *EventDecl) {
	name := e.Name.Name
	switch prev, dup := c.events[name]; {
	case dup:
		c.errorf(e.Name.Pos, "event %s already declared at %s", name, prev.Name.Pos)
	case name == "any":
		c.errorf(e.Name.Pos, "event type name any is reserved: a stage of type any reads every event")
	default:
		c.events[name] = e
		c.eventNames = append(c.eventNames, name)
	}
	fields := map[string]*FieldDecl{}
	for _, f := range e.Fields {
		if f == nil {
			continue
		}
		switch f.Name.Name {
		case "time", "type", "id":
			c.errorf(f.Name.Pos, "field %s of event %s: %s is a fixed attribute of every event and cannot be declared", f.Name.Name, name, f.Name.Name)
		}
		if prev, dup := fields[f.Name.Name]; dup {
			c.errorf(f.Name.Pos, "field %s of event %s already declared at %s", f.Name.Name, name, prev.Name.Pos)
		} else {
			fields[f.Name.Name] = f
		}
		if _, ok := fieldType(f.Type.Name); !ok {
			if hint := didYouMean(f.Type.Name, TypeNames); hint != "" {
				c.errorf(f.Type.Pos, "unknown field type %q%s", f.Type.Name, hint)
			} else {
				c.errorf(f.Type.Pos, "unknown field type %q: expected one of %s", f.Type.Name, strings.Join(TypeNames, ", "))
			}
		}
	}
}

// scope is what the checker knows about one pattern.
type scope struct {
	decl     *PatternDecl
	stages   []*stageInfo          // pre-order
	byName   map[string]*stageInfo // the first stage of each name
	names    []string              // stage names, pre-order, for suggestions
	reads    []*EventDecl          // the declared event types the stages name, without duplicates
	keys     []string              // the key paths, dotted
	keyTypes map[string]typ
}

// stageInfo is one stage of a pattern, with what the checker derived for it.
type stageInfo struct {
	stage  *Stage
	idx    int        // pre-order index
	parent *stageInfo // the enclosing group, or nil
	repeat bool       // MayRepeat
	event  *EventDecl // the declared event type; nil when untyped or a group
}

func (si *stageInfo) name() string  { return si.stage.Name.Name }
func (si *stageInfo) group() bool   { return si.stage.IsGroup() }
func (si *stageInfo) negated() bool { return si.stage.Op.Negated() }

// inside reports whether si is an inner stage (at any depth) of group g.
func (si *stageInfo) inside(g *stageInfo) bool {
	for p := si.parent; p != nil; p = p.parent {
		if p == g {
			return true
		}
	}
	return false
}

// checkPattern checks one pattern and every expression in it.
func (c *checker) checkPattern(p *PatternDecl) {
	sc := &scope{decl: p, byName: map[string]*stageInfo{}, keyTypes: map[string]typ{}}
	c.collectStages(sc, p.Stages, nil)
	if len(p.Stages) == 0 {
		c.errorf(p.Name.Pos, "pattern %s has no stages: expected a stage line starting with begin", p.Name.Name)
	}
	c.checkStageList(sc, p.Stages, nil)
	c.checkDeadlines(sc, p.Stages, true)
	c.checkClauses(sc)
	c.checkKeys(sc)
	c.checkStageNames(sc)
	for _, si := range sc.stages {
		c.checkConditions(sc, si)
	}
	c.checkEmit(sc, p.Emit)
	c.checkEmit(sc, p.OnTimeout)
}

// collectStages walks the stages in pre-order, reporting duplicate names and
// unknown event types.
func (c *checker) collectStages(sc *scope, list []*Stage, parent *stageInfo) {
	for _, s := range list {
		if s == nil {
			continue
		}
		si := &stageInfo{stage: s, idx: len(sc.stages), parent: parent}
		si.repeat = canRepeat(s) || (parent != nil && parent.repeat)
		sc.stages = append(sc.stages, si)
		if name := s.Name.Name; name != "" {
			if prev, dup := sc.byName[name]; dup {
				c.errorf(s.Name.Pos, "stage %s already declared at %s", name, prev.stage.Name.Pos)
			} else {
				sc.byName[name] = si
				sc.names = append(sc.names, name)
			}
		}
		if s.Type != nil && !s.IsGroup() {
			si.event = c.stageType(sc, s.Type)
		}
		if s.IsGroup() {
			c.collectStages(sc, s.Group, si)
		}
	}
}

// stageType resolves the event type a stage names; nil means untyped.
func (c *checker) stageType(sc *scope, t *Ident) *EventDecl {
	if t.Name == "any" || !c.typed {
		return nil
	}
	e, ok := c.events[t.Name]
	if !ok {
		cands := append([]string{"any"}, c.eventNames...)
		c.errorf(t.Pos, "unknown event type %q%s", t.Name, didYouMean(t.Name, cands))
		return nil
	}
	for _, r := range sc.reads {
		if r == e {
			return e
		}
	}
	sc.reads = append(sc.reads, e)
	return e
}

// checkStageNames reports stage names that would shadow an event field or a
// fixed attribute in expressions.
func (c *checker) checkStageNames(sc *scope) {
	for _, si := range sc.stages {
		name := si.name()
		if name == "" {
			continue
		}
		if _, fixed := fixedAttrs[name]; fixed || name == "key" {
			c.errorf(si.stage.Name.Pos, "stage name %s is reserved: rename the stage", name)
			continue
		}
		for _, e := range sc.reads {
			if lookupField(e, name) != nil {
				c.errorf(si.stage.Name.Pos, "stage %s has the name of a field of event %s, which the pattern reads: rename the stage", name, e.Name.Name)
				break
			}
		}
	}
}
