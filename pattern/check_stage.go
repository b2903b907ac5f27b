package pattern

import (
	"slices"
	"strings"
)

// This file checks the structure of stage lines against the restrictions of
// FlinkCEP's Pattern API (language.md §3.1).

// checkStageList checks one sequence of stages: the pattern's, or a group's
// inner stages when group is non-nil.
func (c *checker) checkStageList(sc *scope, list []*Stage, group *Stage) {
	where := "pattern " + sc.decl.Name.Name
	if group != nil {
		where = "group " + group.Name.Name
		if len(list) == 0 {
			c.errorf(group.Name.Pos, "group %s has no stages: expected a stage line starting with begin", group.Name.Name)
		}
	}
	var prev *Stage
	for i, s := range list {
		if s == nil {
			continue
		}
		switch {
		case i == 0 && s.Op.Negated():
			c.errorf(s.Pos, "%s may not begin with a negated stage: expected begin", where)
		case i == 0 && s.Op != OpBegin:
			c.errorf(s.Pos, "the first stage of %s must use begin, not %s", where, s.Op)
		case i > 0 && s.Op == OpBegin:
			c.errorf(s.Pos, "only the first stage of %s may use begin: expected next, followed_by, followed_by_any, not_next or not_followed_by", where)
		}
		if s.Op.Negated() {
			c.checkNegated(s, prev)
		} else {
			c.checkQuant(s)
			c.checkModifiers(s)
			if prev != nil && prev.Has(ModGreedy) && canRepeat(prev) && !prev.IsGroup() && isOptional(s) {
				c.errorf(optionalPos(s), "optional stage %s cannot directly follow greedy stage %s", s.Name.Name, prev.Name.Name)
			}
			if !isNilExpr(s.Until) && !isLooping(s) {
				c.errorf(s.Until.Position(), "until needs a looping stage: expected a quantifier +, * or {n,} on %s", s.Name.Name)
			}
		}
		if s.IsGroup() {
			if !isNilExpr(s.Where) {
				c.errorf(s.Where.Position(), "a group stage takes no where condition: put it on its inner stages")
			}
			c.checkStageList(sc, s.Group, s)
		}
		prev = s
	}
}

// checkNegated checks a not_next or not_followed_by stage; prev is the stage
// before it in the same sequence.
func (c *checker) checkNegated(s, prev *Stage) {
	if s.Quant != nil {
		c.errorf(s.Quant.Pos, "negated stage %s takes no quantifier", s.Name.Name)
	}
	if len(s.Modifiers) > 0 {
		c.errorf(s.Modifiers[0].Pos, "negated stage %s takes no modifiers", s.Name.Name)
	}
	if !isNilExpr(s.Until) {
		c.errorf(s.Until.Position(), "negated stage %s takes no until", s.Name.Name)
	}
	if s.IsGroup() {
		c.errorf(s.Pos, "a negated stage cannot be a group: negate a single stage")
	}
	if prev != nil && isOptional(prev) {
		c.errorf(s.Pos, "%s cannot directly follow optional stage %s: an optional path to a negated stage is not supported", s.Op, prev.Name.Name)
	}
}

// checkQuant checks the counts of a quantifier.
func (c *checker) checkQuant(s *Stage) {
	q := s.Quant
	if q == nil {
		return
	}
	least, most := bounds(q)
	switch {
	case least < 0 || most < -1:
		c.errorf(q.Pos, "quantifier %s: counts cannot be negative", quantText(q))
	case most == 0:
		c.errorf(q.Pos, "quantifier %s takes no events: expected a count of at least 1", quantText(q))
	case most > 0 && most < least:
		c.errorf(q.Pos, "quantifier %s: the maximum %d is below the minimum %d", quantText(q), most, least)
	}
}

// checkModifiers checks the modifiers of a non-negated stage.
func (c *checker) checkModifiers(s *Stage) {
	seen := map[ModifierKind]bool{}
	for _, m := range s.Modifiers {
		if seen[m.Kind] {
			c.errorf(m.Pos, "modifier %s given twice", m.Kind)
			continue
		}
		seen[m.Kind] = true
		switch m.Kind {
		case ModOptional:
			if least, _ := bounds(s.Quant); least == 0 {
				c.errorf(m.Pos, "stage %s is already optional: its quantifier %s allows no events", s.Name.Name, quantText(s.Quant))
			}
		case ModGreedy:
			switch {
			case s.IsGroup():
				c.errorf(m.Pos, "greedy does not apply to a group stage")
			case !canRepeat(s):
				c.errorf(m.Pos, "greedy needs a stage that can take several events: expected a quantifier such as +, * or {n,m} on %s", s.Name.Name)
			case s.Has(ModCombinations):
				c.errorf(m.Pos, "greedy cannot be combined with combinations")
			}
		case ModConsecutive, ModCombinations:
			other := ModCombinations
			if m.Kind == ModCombinations {
				other = ModConsecutive
			}
			switch {
			case !canRepeat(s):
				c.errorf(m.Pos, "%s needs a stage that can take several events: expected a quantifier such as +, * or {n,m} on %s", m.Kind, s.Name.Name)
			case seen[other]:
				c.errorf(m.Pos, "consecutive and combinations exclude each other: give one of them")
			}
		}
	}
}

// optionalPos returns the position of what makes s optional.
func optionalPos(s *Stage) Pos {
	for _, m := range s.Modifiers {
		if m.Kind == ModOptional {
			return m.Pos
		}
	}
	if s.Quant != nil {
		return s.Quant.Pos
	}
	return s.Pos
}

// quantText returns a quantifier as written, for messages.
func quantText(q *Quantifier) string {
	if q == nil {
		return "(none)"
	}
	return quantString(q)
}

// checkDeadlines reports a not_followed_by that ends the pattern without a
// deadline. atEnd says whether nothing follows list in the pattern. A
// not_followed_by followed only by optional stages needs none: as in
// FlinkCEP, it constrains the optional stages' events and the match can end
// before it.
func (c *checker) checkDeadlines(sc *scope, list []*Stage, atEnd bool) {
	p := sc.decl
	patternDeadline := (p.Within != nil && !p.Within.None && p.Within.Dur != nil) || p.Gap != nil
	for i, s := range list {
		if s == nil {
			continue
		}
		tail := atEnd && i == len(list)-1
		if s.IsGroup() {
			c.checkDeadlines(sc, s.Group, tail)
			continue
		}
		if s.Op == OpNotFollowedBy && tail && !patternDeadline && s.Within == nil {
			c.errorf(s.Pos, "not_followed_by %s at the end of pattern %s needs a deadline: expected within D on the pattern or on the stage, or a gap", s.Name.Name, p.Name.Name)
		}
	}
}

// checkClauses checks the pattern's within, gap, suppress and skip clauses,
// and the stages' within.
func (c *checker) checkClauses(sc *scope) {
	p := sc.decl
	if p.Within != nil {
		if p.Within.None {
			c.warnf(p.Within.Pos, "within none: the state of pattern %s is bounded only by its skip strategy", p.Name.Name)
		} else {
			c.checkDuration("within", p.Within.Dur)
		}
	}
	if p.Gap != nil {
		c.checkDuration("gap", p.Gap.Dur)
	}
	if p.Suppress != nil {
		c.checkDuration("suppress", p.Suppress.Dur)
	}
	for _, si := range sc.stages {
		c.checkDuration("within", si.stage.Within)
	}
	if sk := p.Skip; sk != nil && (sk.Strategy == SkipToFirst || sk.Strategy == SkipToLast) {
		c.checkSkipTarget(sc, sk)
	}
}

func (c *checker) checkDuration(clause string, d *DurationLit) {
	if d != nil && d.Value <= 0 {
		c.errorf(d.Pos, "%s needs a duration greater than 0, not %s", clause, d.Text)
	}
}

// checkSkipTarget checks the stage named by skip to_first or to_last.
func (c *checker) checkSkipTarget(sc *scope, sk *SkipClause) {
	if sk.Target == nil {
		c.errorf(sk.Pos, "skip %s needs a stage name", sk.Strategy)
		return
	}
	name := sk.Target.Name
	si, ok := sc.byName[name]
	switch {
	case !ok:
		c.errorf(sk.Target.Pos, "skip %s: unknown stage %q%s", sk.Strategy, name, didYouMean(name, sc.names))
	case si.negated():
		c.errorf(sk.Target.Pos, "skip %s cannot name negated stage %s: it never takes events", sk.Strategy, name)
	case si.group():
		c.errorf(sk.Target.Pos, "skip %s cannot name group %s: name one of its inner stages", sk.Strategy, name)
	}
}

// checkKeys checks the key paths: each must be a field of every declared
// event type the pattern reads. It records the key paths and their types.
func (c *checker) checkKeys(sc *scope) {
	k := sc.decl.Key
	if k == nil {
		return
	}
	for _, e := range k.Paths {
		path, ok := flattenPath(e)
		if !ok {
			if !isNilExpr(e) {
				c.errorf(e.Position(), "a key is a field path, as in card_id or geo.country")
			}
			continue
		}
		dotted := path.String()
		if slices.Contains(sc.keys, dotted) {
			c.errorf(path[0].pos, "key %s given twice", dotted)
			continue
		}
		sc.keys = append(sc.keys, dotted)
		sc.keyTypes[dotted] = c.keyType(sc, path)
	}
}

// keyType checks one key path against the event types the pattern reads and
// returns its type: the declared type if all agree, else untyped.
func (c *checker) keyType(sc *scope, path fieldPath) typ {
	if t, fixed := fixedAttrs[path[0].name]; fixed && len(path) == 1 {
		return t
	}
	out, seen := tAny, false
	for _, e := range sc.reads {
		f := lookupField(e, path[0].name)
		if f == nil {
			c.errorf(path[0].pos, "key field %q is not a field of event %s%s", path[0].name, e.Name.Name, didYouMean(path[0].name, fieldNames(e)))
			continue
		}
		t, _ := fieldType(f.Type.Name)
		if len(path) > 1 {
			if t.kind != kindObject && t.kind != kindAny {
				c.errorf(path[1].pos, "key %s: field %s of event %s is %s, not an object", path, path[0].name, e.Name.Name, t)
			}
			t = tAny
		}
		if !seen {
			out, seen = t, true
		} else if out != t {
			out = tAny
		}
	}
	if anyUntypedStage(sc) {
		return tAny
	}
	return out
}

func anyUntypedStage(sc *scope) bool {
	for _, si := range sc.stages {
		if !si.group() && si.event == nil {
			return true
		}
	}
	return false
}

// fieldPath is a dotted path of names, as in a key or geo.country.
type fieldPath []pathElem

type pathElem struct {
	name string
	pos  Pos
}

func (p fieldPath) String() string {
	names := make([]string, len(p))
	for i, e := range p {
		names[i] = e.name
	}
	return strings.Join(names, ".")
}

// flattenPath returns the names of a NameExpr or a chain of SelectorExpr over
// one, and false for any other expression.
func flattenPath(e Expr) (fieldPath, bool) {
	switch e := e.(type) {
	case *NameExpr:
		if e == nil {
			return nil, false
		}
		return fieldPath{{e.Name, e.Pos}}, true
	case *SelectorExpr:
		if e == nil {
			return nil, false
		}
		p, ok := flattenPath(e.X)
		if !ok {
			return nil, false
		}
		return append(p, pathElem{e.Sel.Name, e.Sel.Pos}), true
	}
	return nil, false
}
