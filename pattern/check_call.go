package pattern

import (
	"fmt"
	"regexp"
	"time"
)

// This file checks calls of the builtin functions (language.md §3.4).

// scalarSigs are the functions whose every argument has one type.
var scalarSigs = map[string]struct{ arg, result typ }{
	"abs":         {tNumber, tNumber},
	"round":       {tNumber, tNumber},
	"floor":       {tNumber, tNumber},
	"ceil":        {tNumber, tNumber},
	"lower":       {tString, tString},
	"upper":       {tString, tString},
	"trim":        {tString, tString},
	"contains":    {tString, tBool},
	"starts_with": {tString, tBool},
	"ends_with":   {tString, tBool},
	"geo_km":      {tNumber, tNumber},
	"seconds":     {tDuration, tNumber},
	"minutes":     {tDuration, tNumber},
	"hours":       {tDuration, tNumber},
	"millis":      {tTime, tNumber},
}

// call checks a function call and returns the type of its result.
func (x *exprChecker) call(e *CallExpr) typ {
	name := e.Fun.Name
	b, ok := LookupBuiltin(name)
	if !ok {
		names := make([]string, len(Builtins))
		for i, b := range Builtins {
			names[i] = b.Name
		}
		x.errorf(e.Fun.Pos, "unknown function %q%s", name, didYouMean(name, names))
		return tAny
	}
	n := len(e.Args)
	if n < b.MinArgs || (b.MaxArgs >= 0 && n > b.MaxArgs) {
		x.errorf(e.Fun.Pos, "%s takes %s, got %d", name, arityText(b), n)
		if !b.Stage {
			for _, a := range e.Args {
				x.expr(a)
			}
		}
		return tAny
	}
	for _, a := range e.Args {
		if isNilExpr(a) {
			return tAny // an incomplete tree: the parser has reported it
		}
	}
	switch name {
	case "first", "last":
		return x.stageArg(name, e.Args[0])
	case "count":
		x.stageArg(name, e.Args[0])
		return tNumber
	case "sum", "avg", "distinct":
		t := x.stageField(name, e.Args[0])
		if name != "distinct" && t.kind != kindNumber && !t.loose() {
			x.typeErrorf(e.Args[0].Position(), "%s needs a number field, not %s (%s)", name, t, formatExpr(e.Args[0]))
		}
		return tNumber
	case "min", "max":
		if n == 1 {
			return x.stageField(name, e.Args[0])
		}
		return x.minMax(name, e.Args[0], e.Args[1])
	case "len":
		if t := x.expr(e.Args[0]); t.kind != kindString && t.kind != kindList && !t.loose() {
			x.typeErrorf(e.Args[0].Position(), "len takes a string or a list, not %s (%s)", t, formatExpr(e.Args[0]))
		}
		return tNumber
	case "matches":
		x.wantArg(name, e.Args[0], tString)
		x.regexArg(e.Args[1])
		return tBool
	case "exists":
		switch e.Args[0].(type) {
		case *NameExpr, *SelectorExpr, *IndexExpr:
			x.expr(e.Args[0])
		default:
			x.errorf(e.Args[0].Position(), "exists takes a field path, as in exists(lat)")
		}
		return tBool
	case "coalesce":
		out := tNull
		for _, a := range e.Args {
			if t := x.expr(a); out.kind == kindNull {
				out = t
			}
		}
		return out
	case "timestamp":
		return x.timestampArg(e.Args[0])
	}
	sig := scalarSigs[name]
	for _, a := range e.Args {
		x.wantArg(name, a, sig.arg)
	}
	return sig.result
}

// arityText says how many arguments b takes.
func arityText(b Builtin) string {
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	switch {
	case b.MaxArgs < 0:
		return "at least " + plural(b.MinArgs)
	case b.MinArgs == b.MaxArgs:
		return plural(b.MinArgs)
	case b.MaxArgs == b.MinArgs+1:
		return fmt.Sprintf("%d or %d arguments", b.MinArgs, b.MaxArgs)
	}
	return fmt.Sprintf("%d to %d arguments", b.MinArgs, b.MaxArgs)
}

// wantArg checks argument a of function fn, which must have type want.
func (x *exprChecker) wantArg(fn string, a Expr, want typ) {
	if t := x.expr(a); t.kind != want.kind && !t.loose() {
		x.typeErrorf(a.Position(), "%s takes a %s, not %s (%s)", fn, want, t, formatExpr(a))
	}
}

// stageArg checks the argument of first, last and count: a stage name.
func (x *exprChecker) stageArg(fn string, a Expr) typ {
	if n, ok := a.(*NameExpr); ok {
		if si := x.sc.byName[n.Name]; si != nil {
			return x.stageRef(si, n.Pos, "", true)
		}
		if s := suggest(n.Name, x.sc.names); s != "" {
			x.errorf(n.Pos, "%s takes a stage name: unknown stage %q (did you mean %q?)", fn, n.Name, s)
			return tAny
		}
	}
	x.errorf(a.Position(), "%s takes a stage name, as in %s(%s)", fn, fn, x.hintStage(a))
	return tAny
}

// stageField checks the argument of an aggregate: a field of a stage's
// events, as in sum(probe.amount). It returns the field's type.
func (x *exprChecker) stageField(fn string, a Expr) typ {
	path, ok := flattenPath(a)
	if ok && len(path) >= 2 {
		if si := x.sc.byName[path[0].name]; si != nil {
			return x.aggPath(si, a)
		}
		if s := suggest(path[0].name, x.sc.names); s != "" {
			x.errorf(path[0].pos, "%s takes a field of a stage: unknown stage %q (did you mean %q?)", fn, path[0].name, s)
			return tAny
		}
	}
	st := x.hintStage(a)
	x.errorf(a.Position(), "%s takes a field of a stage's events, as in %s(%s.%s)", fn, fn, st, x.exampleField(st, fn != "distinct"))
	return tAny
}

// aggPath types a path rooted at stage si, read as any of its events.
func (x *exprChecker) aggPath(si *stageInfo, e Expr) typ {
	switch e := e.(type) {
	case *NameExpr:
		return x.stageRef(si, e.Pos, "", true)
	case *SelectorExpr:
		return x.selectField(x.aggPath(si, e.X), e)
	}
	return tAny
}

// hintStage names a stage for an example in a message: the stage a names if
// it does, else the first looping stage, else the first stage.
func (x *exprChecker) hintStage(a Expr) string {
	if path, ok := flattenPath(a); ok && x.sc.byName[path[0].name] != nil {
		return path[0].name
	}
	first := ""
	for _, si := range x.sc.stages {
		if si.group() || si.negated() || si.name() == "" {
			continue
		}
		if si.repeat {
			return si.name()
		}
		if first == "" {
			first = si.name()
		}
	}
	if first == "" {
		return "s"
	}
	return first
}

// exampleField names a field of stage name's event type for an example: a
// number field when number is set; "field" when there is none.
func (x *exprChecker) exampleField(name string, number bool) string {
	if si := x.sc.byName[name]; si != nil && si.event != nil {
		for _, f := range si.event.Fields {
			if f == nil {
				continue
			}
			if t, _ := fieldType(f.Type.Name); !number || t.kind == kindNumber {
				return f.Name.Name
			}
		}
	}
	return "field"
}

// minMax checks min(a, b) and max(a, b): two values of one ordered kind.
func (x *exprChecker) minMax(fn string, a, b Expr) typ {
	ta, tb := x.expr(a), x.expr(b)
	if !orderable(ta, tb) {
		x.typeErrorf(a.Position(), "%s needs two values of one kind (numbers, strings, times or durations), not %s and %s", fn, ta, tb)
		return tAny
	}
	if ta.kind == kindAny {
		return tb
	}
	return ta
}

// regexArg checks the regex of matches: a string literal that compiles.
func (x *exprChecker) regexArg(a Expr) {
	lit, ok := a.(*StringLit)
	if !ok {
		x.expr(a)
		x.errorf(a.Position(), "matches takes its regex as a string literal, as in matches(merchant, \"^acme\")")
		return
	}
	if _, err := regexp.Compile(lit.Value); err != nil {
		x.errorf(lit.Pos, "invalid regex in matches: %v", err)
	}
}

// timestampArg checks the argument of timestamp: an RFC 3339 string literal.
func (x *exprChecker) timestampArg(a Expr) typ {
	lit, ok := a.(*StringLit)
	if !ok {
		x.expr(a)
		x.errorf(a.Position(), "timestamp takes a string literal, as in timestamp(\"2026-01-01T00:00:00Z\")")
		return tTime
	}
	if _, err := time.Parse(time.RFC3339Nano, lit.Value); err != nil {
		x.errorf(lit.Pos, "invalid RFC 3339 time %q: expected a time such as \"2026-01-01T00:00:00Z\"", lit.Value)
	}
	return tTime
}
