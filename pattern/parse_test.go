package pattern

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mustParse parses src and fails the test on any diagnostic.
func mustParse(t *testing.T, src string) *File {
	t.Helper()
	f, diags := Parse("t.motif", []byte(src))
	if len(diags) > 0 {
		t.Fatalf("Parse(%q):\n%s", src, diags.Error())
	}
	return f
}

// onePattern parses a file holding one pattern.
func onePattern(t *testing.T, src string) *PatternDecl {
	t.Helper()
	f := mustParse(t, src)
	if len(f.Decls) != 1 {
		t.Fatalf("got %d declarations, want 1", len(f.Decls))
	}
	p, ok := f.Decls[0].(*PatternDecl)
	if !ok {
		t.Fatalf("got %T, want *PatternDecl", f.Decls[0])
	}
	return p
}

// oneStage parses a pattern made of the stage line src.
func oneStage(t *testing.T, line string) *Stage {
	t.Helper()
	p := onePattern(t, "pattern p {\n    "+line+"\n}\n")
	if len(p.Stages) != 1 {
		t.Fatalf("got %d stages, want 1", len(p.Stages))
	}
	return p.Stages[0]
}

// sexpr renders an expression with its structure explicit.
func sexpr(e Expr) string {
	switch e := e.(type) {
	case *BinaryExpr:
		return "(" + e.Op.String() + " " + sexpr(e.L) + " " + sexpr(e.R) + ")"
	case *UnaryExpr:
		if e.Op == UnaryNeg {
			return "(neg " + sexpr(e.X) + ")"
		}
		return "(not " + sexpr(e.X) + ")"
	case *ParenExpr:
		return "(paren " + sexpr(e.X) + ")"
	case *NameExpr:
		return e.Name
	case *SelectorExpr:
		return "(. " + sexpr(e.X) + " " + e.Sel.Name + ")"
	case *IndexExpr:
		return "([] " + sexpr(e.X) + " " + sexpr(e.Index) + ")"
	case *CallExpr:
		parts := []string{"call", e.Fun.Name}
		for _, a := range e.Args {
			parts = append(parts, sexpr(a))
		}
		return "(" + strings.Join(parts, " ") + ")"
	case *ListLit:
		parts := make([]string, len(e.Elems))
		for i, x := range e.Elems {
			parts[i] = sexpr(x)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case *NumberLit:
		return strconv.FormatFloat(e.Value, 'g', -1, 64)
	case *StringLit:
		return strconv.Quote(e.Value)
	case *BoolLit:
		return strconv.FormatBool(e.Value)
	case *NullLit:
		return "null"
	case *DurationLit:
		return "dur:" + e.Value.String()
	case nil:
		return "<nil>"
	}
	return fmt.Sprintf("<%T>", e)
}

// equalIgnoringPos reports whether a and b are equal in every field except
// those of type Pos, and describes the first difference.
func equalIgnoringPos(a, b any) (bool, string) {
	return eqValue(reflect.ValueOf(a), reflect.ValueOf(b), "")
}

var posType = reflect.TypeOf(Pos{})

func eqValue(a, b reflect.Value, path string) (bool, string) {
	if a.IsValid() != b.IsValid() {
		return false, path + ": one is invalid"
	}
	if !a.IsValid() {
		return true, ""
	}
	if a.Type() != b.Type() {
		return false, fmt.Sprintf("%s: type %s != %s", path, a.Type(), b.Type())
	}
	if a.Type() == posType {
		return true, ""
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return false, path + ": nil mismatch"
			}
			return true, ""
		}
		return eqValue(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if ok, d := eqValue(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); !ok {
				return false, d
			}
		}
		return true, ""
	case reflect.Slice:
		if a.IsNil() != b.IsNil() {
			return false, path + ": nil slice mismatch"
		}
		if a.Len() != b.Len() {
			return false, fmt.Sprintf("%s: len %d != %d", path, a.Len(), b.Len())
		}
		for i := 0; i < a.Len(); i++ {
			if ok, d := eqValue(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); !ok {
				return false, d
			}
		}
		return true, ""
	case reflect.Float64:
		fa, fb := a.Float(), b.Float()
		if fa != fb && !(fa != fa && fb != fb) { // NaN equals NaN here
			return false, fmt.Sprintf("%s: %v != %v", path, fa, fb)
		}
		return true, ""
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return false, fmt.Sprintf("%s: %#v != %#v", path, a.Interface(), b.Interface())
	}
	return true, ""
}

func TestParseExample(t *testing.T) {
	src, err := os.ReadFile("testdata/example.motif")
	if err != nil {
		t.Fatal(err)
	}
	f := mustParse(t, string(src))
	if len(f.Decls) != 6 {
		t.Fatalf("got %d declarations, want 6", len(f.Decls))
	}
	auth := f.Decls[0].(*EventDecl)
	if auth.Name.Name != "auth" || len(auth.Fields) != 6 {
		t.Errorf("auth: %+v", auth)
	}
	if lat := auth.Fields[4]; lat.Name.Name != "lat" || lat.Type.Name != "number" || !lat.Optional {
		t.Errorf("lat: %+v", lat)
	}
	if refund := f.Decls[1].(*EventDecl); len(refund.Fields) != 2 || refund.Fields[1].Name.Name != "amount" {
		t.Errorf("refund: %+v", refund)
	}

	ct := f.Decls[4].(*PatternDecl)
	if ct.Doc != "Several tiny authorisations probe a card, then a large purchase follows." {
		t.Errorf("Doc = %q", ct.Doc)
	}
	if ct.Key == nil || sexpr(ct.Key.Paths[0]) != "card_id" {
		t.Errorf("key: %+v", ct.Key)
	}
	if ct.Within == nil || ct.Within.Dur.Value != 10*time.Minute || ct.Skip.Strategy != SkipPastLastEvent {
		t.Errorf("clauses: within %+v skip %+v", ct.Within, ct.Skip)
	}
	probe, big := ct.Stages[0], ct.Stages[1]
	if probe.Op != OpBegin || probe.Quant.Kind != QuantAtLeast || probe.Quant.Min != 3 || probe.Quant.Max != -1 {
		t.Errorf("probe: %+v %+v", probe, probe.Quant)
	}
	if got := sexpr(probe.Where); got != "(< amount 2)" {
		t.Errorf("probe where: %s", got)
	}
	if got := sexpr(big.Where); got != "(and (> amount 500) (!= merchant (. (call last probe) merchant)))" {
		t.Errorf("big where: %s", got)
	}
	e := ct.Emit
	if e.Severity != SeverityHigh || len(e.Fields) != 3 || e.Fields[1].Name.Name != "total" {
		t.Errorf("emit: %+v", e)
	}
	var parts []string
	for _, p := range e.Message.Parts {
		if p.Expr != nil {
			parts = append(parts, "{"+sexpr(p.Expr)+"}")
		} else {
			parts = append(parts, strconv.Quote(p.Text))
		}
	}
	if got := strings.Join(parts, " "); got != `"card " {key} " probed " {(call count probe)} " times, then " {(. big amount)}` {
		t.Errorf("message parts: %s", got)
	}

	lwm := f.Decls[5].(*PatternDecl)
	if lwm.Stages[1].Op != OpNotFollowedBy || lwm.Emit.Severity != SeverityMedium || lwm.Emit.Message != nil {
		t.Errorf("login_without_mfa: %+v", lwm)
	}
	if len(f.Comments) != 6 {
		t.Errorf("got %d comments, want 6", len(f.Comments))
	}
}

func TestParseOperators(t *testing.T) {
	for _, tc := range []struct {
		line string
		op   Op
	}{
		{"begin a: x", OpBegin},
		{"next a: x", OpNext},
		{"followed_by a: x", OpFollowedBy},
		{"followed_by_any a: x", OpFollowedByAny},
		{"not_next a: x", OpNotNext},
		{"not_followed_by a: x", OpNotFollowedBy},
	} {
		if s := oneStage(t, tc.line); s.Op != tc.op {
			t.Errorf("%s: op %v, want %v", tc.line, s.Op, tc.op)
		}
	}
}

func TestParseQuantifiers(t *testing.T) {
	for _, tc := range []struct {
		q              string
		kind           QuantKind
		least, highest int
	}{
		{"?", QuantOptional, 0, 1},
		{"+", QuantPlus, 1, -1},
		{"*", QuantStar, 0, -1},
		{"{3}", QuantExact, 3, 3},
		{"{2,4}", QuantRange, 2, 4},
		{"{2,}", QuantAtLeast, 2, -1},
		{"{0,3}", QuantRange, 0, 3},
		{"{0,}", QuantAtLeast, 0, -1},
		{"{0}", QuantExact, 0, 0}, // an error of Check, not of Parse
		{" { 2 , 4 } ", QuantRange, 2, 4},
	} {
		s := oneStage(t, "begin a"+tc.q+": x")
		q := s.Quant
		if q == nil || q.Kind != tc.kind || q.Min != tc.least || q.Max != tc.highest {
			t.Errorf("%s: got %+v", tc.q, q)
		}
	}
	if s := oneStage(t, "begin a: x"); s.Quant != nil {
		t.Errorf("no quantifier: got %+v", s.Quant)
	}
}

func TestParseModifiers(t *testing.T) {
	s := oneStage(t, "begin a{2,4} optional greedy consecutive combinations: x")
	want := []ModifierKind{ModOptional, ModGreedy, ModConsecutive, ModCombinations}
	if len(s.Modifiers) != len(want) {
		t.Fatalf("got %+v", s.Modifiers)
	}
	for i, m := range s.Modifiers {
		if m.Kind != want[i] {
			t.Errorf("modifier %d: %v, want %v", i, m.Kind, want[i])
		}
		if !s.Has(want[i]) {
			t.Errorf("Has(%v) = false", want[i])
		}
	}
}

func TestParseStageParts(t *testing.T) {
	s := oneStage(t, "followed_by b+: any where x > 1 until y within 30s")
	if s.Type.Name != "any" || sexpr(s.Where) != "(> x 1)" || sexpr(s.Until) != "y" || s.Within.Value != 30*time.Second {
		t.Errorf("got %+v", s)
	}
	// A condition may span lines.
	s = oneStage(t, "begin a: x where a >\n        1 and\n        b")
	if sexpr(s.Where) != "(and (> a 1) b)" {
		t.Errorf("multi-line where: %s", sexpr(s.Where))
	}
}

func TestParseGroups(t *testing.T) {
	p := onePattern(t, `pattern p {
    begin       start: any where name == "c"
    followed_by g{2,3}: (
        begin a: any where name == "a"
        next  b: any where name == "b"
        followed_by h+ greedy: (
            begin c: any
        ) until count(c) > 2 within 1m
    )
    followed_by end: any where name == "d"
}`)
	g := p.Stages[1]
	if !g.IsGroup() || g.Type != nil || len(g.Group) != 3 || g.Quant.Min != 2 || g.Quant.Max != 3 {
		t.Fatalf("group: %+v", g)
	}
	h := g.Group[2]
	if !h.IsGroup() || !h.Has(ModGreedy) || sexpr(h.Until) != "(> (call count c) 2)" || h.Within.Value != time.Minute {
		t.Errorf("nested group: %+v", h)
	}
	if p.Stages[2].Name.Name != "end" {
		t.Errorf("after group: %+v", p.Stages[2])
	}
	empty := oneStage(t, "begin g: ( )")
	if !empty.IsGroup() || len(empty.Group) != 0 {
		t.Errorf("empty group: %+v", empty)
	}
}

func TestParseClauses(t *testing.T) {
	p := onePattern(t, `pattern p {
    suppress 1h
    skip to_last a
    gap 250ms
    within none
    key card_id, geo.country
    begin a: x
}`)
	if got := sexpr(p.Key.Paths[0]) + " " + sexpr(p.Key.Paths[1]); got != "card_id (. geo country)" {
		t.Errorf("key: %s", got)
	}
	if !p.Within.None || p.Within.Dur != nil {
		t.Errorf("within: %+v", p.Within)
	}
	if p.Gap.Dur.Value != 250*time.Millisecond || p.Suppress.Dur.Value != time.Hour {
		t.Errorf("gap %+v suppress %+v", p.Gap, p.Suppress)
	}
	if p.Skip.Strategy != SkipToLast || p.Skip.Target.Name != "a" {
		t.Errorf("skip: %+v", p.Skip)
	}
	for i, name := range skipNames {
		src := "pattern p {\n    skip " + name
		if i >= int(SkipToFirst) {
			src += " a"
		}
		p := onePattern(t, src+"\n    begin a: x\n}")
		if p.Skip.Strategy != SkipStrategy(i) {
			t.Errorf("skip %s: got %v", name, p.Skip.Strategy)
		}
	}
	// Keywords of lines can be names.
	p = onePattern(t, "pattern next {\n    begin next optional: key where within\n    next key: emit\n    emit { emit: next }\n}")
	if p.Name.Name != "next" || p.Stages[0].Name.Name != "next" || p.Stages[1].Name.Name != "key" || sexpr(p.Stages[0].Where) != "within" {
		t.Errorf("keywords as names: %+v", p)
	}
	// Everything is optional but a stage; newlines are not needed.
	p = onePattern(t, "pattern p { key a within 5m begin a: x next b: y emit }")
	if p.Key == nil || p.Within == nil || len(p.Stages) != 2 || p.Emit == nil {
		t.Errorf("one line: %+v", p)
	}
}

func TestParseDurations(t *testing.T) {
	for _, tc := range []struct {
		text string
		want time.Duration
	}{
		{"250ms", 250 * time.Millisecond},
		{"30s", 30 * time.Second},
		{"10m", 10 * time.Minute},
		{"2h", 2 * time.Hour},
		{"7d", 7 * 24 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"1d2h3m4s5ms", 26*time.Hour + 3*time.Minute + 4*time.Second + 5*time.Millisecond},
		{"0s", 0},
	} {
		d, err := ParseDuration(tc.text)
		if err != nil || d != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.text, d, err, tc.want)
		}
		p := onePattern(t, "pattern p {\n    within "+tc.text+"\n    begin a: x where time - a.time < "+tc.text+"\n}")
		if p.Within.Dur.Value != tc.want || p.Within.Dur.Text != tc.text {
			t.Errorf("within %s: %+v", tc.text, p.Within.Dur)
		}
		if lit, ok := p.Stages[0].Where.(*BinaryExpr).R.(*DurationLit); !ok || lit.Value != tc.want {
			t.Errorf("duration literal %s: %s", tc.text, sexpr(p.Stages[0].Where))
		}
	}
	for _, tc := range []struct{ text, err string }{
		{"", `invalid duration: empty, expected a count and a unit such as 10m`},
		{"10", `invalid duration "10": expected a unit (ms, s, m, h or d) after 10`},
		{"10min", `invalid duration "10min": unknown unit "min", expected ms, s, m, h or d`},
		{"1.5h", `invalid duration "1.5h": a count cannot have a fraction, use a smaller unit as in 1h30m or 1500ms`},
		{"h", `invalid duration "h": expected a digit at "h"`},
		{"-5m", `invalid duration "-5m": expected a digit at "-5m"`},
		{"1h 30m", `invalid duration "1h 30m": unknown unit "h ", expected ms, s, m, h or d`},
		{"999999999999d", `invalid duration "999999999999d": too large`},
		{"99999999999999999999s", `invalid duration "99999999999999999999s": too large`},
	} {
		_, err := ParseDuration(tc.text)
		if err == nil || err.Error() != tc.err || !errors.Is(err, ErrInvalidDuration) {
			t.Errorf("ParseDuration(%q) error = %v, want %s", tc.text, err, tc.err)
		}
	}
}

func TestParseEmit(t *testing.T) {
	for _, tc := range []struct {
		src      string
		severity Severity
		message  string // Raw; "" for none
		fields   []string
	}{
		{"emit", SeverityUnset, "", nil},
		{"emit info", SeverityInfo, "", nil},
		{"emit low", SeverityLow, "", nil},
		{"emit medium", SeverityMedium, "", nil},
		{"emit high", SeverityHigh, "", nil},
		{"emit critical", SeverityCritical, "", nil},
		{`emit "m"`, SeverityUnset, `"m"`, nil},
		{`emit { a: 1 }`, SeverityUnset, "", []string{"a=1"}},
		{`emit {}`, SeverityUnset, "", nil},
		{"emit critical \"m {x}\" {\n a: x,\n b: y + 1,\n}", SeverityCritical, `"m {x}"`, []string{"a=x", "b=(+ y 1)"}},
	} {
		p := onePattern(t, "pattern p {\n    begin x: y\n    "+tc.src+"\n}")
		e := p.Emit
		if e == nil || e.Severity != tc.severity {
			t.Fatalf("%s: %+v", tc.src, e)
		}
		if (e.Message == nil) != (tc.message == "") || e.Message != nil && e.Message.Raw != tc.message {
			t.Errorf("%s: message %+v", tc.src, e.Message)
		}
		var fields []string
		for _, f := range e.Fields {
			fields = append(fields, f.Name.Name+"="+sexpr(f.Value))
		}
		if !reflect.DeepEqual(fields, tc.fields) {
			t.Errorf("%s: fields %v, want %v", tc.src, fields, tc.fields)
		}
	}
	p := onePattern(t, "pattern p {\n    begin x: y\n    on_timeout emit low \"t\"\n    emit\n}")
	if p.OnTimeout == nil || p.OnTimeout.Severity != SeverityLow || p.Emit == nil {
		t.Errorf("on_timeout before emit: %+v %+v", p.OnTimeout, p.Emit)
	}
}

func TestParseTemplates(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want string // parts: "text" and {expr}
	}{
		{`""`, ``},
		{`"plain"`, `"plain"`},
		{`"{a}"`, `{a}`},
		{`"a {{b}} c"`, `"a {b} c"`},
		{`"{{{x}}}"`, `"{" {x} "}"`},
		{`"x {a.b + 1} y {count(s)}"`, `"x " {(+ (. a b) 1)} " y " {(call count s)}`},
		{`"tab\t\"q\" \u00e9 {a}"`, `"tab\t\"q\" é " {a}`},
		{`"{coalesce(a, \"}\")}"`, `{(call coalesce a "}")}`},
		{`"{ a }"`, `{a}`},
	} {
		p := onePattern(t, "pattern p {\n    begin x: y\n    emit "+tc.raw+"\n}")
		var parts []string
		for _, part := range p.Emit.Message.Parts {
			if part.Expr != nil {
				parts = append(parts, "{"+sexpr(part.Expr)+"}")
			} else {
				parts = append(parts, strconv.Quote(part.Text))
			}
		}
		if got := strings.Join(parts, " "); got != tc.want {
			t.Errorf("%s: parts %s, want %s", tc.raw, got, tc.want)
		}
	}
}

func TestParseExprPrecedence(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		// Loosest first: or, and, not, comparisons, + -, * / %, unary -, postfix.
		{"a or b and c", "(or a (and b c))"},
		{"a and b or c", "(or (and a b) c)"},
		{"a or b or c", "(or (or a b) c)"},
		{"a and b and c", "(and (and a b) c)"},
		{"not a and b", "(and (not a) b)"},
		{"not a or not b", "(or (not a) (not b))"},
		{"not not a", "(not (not a))"},
		{"not a == b", "(not (== a b))"},
		{"a == b and c != d", "(and (== a b) (!= c d))"},
		{"a < b", "(< a b)"},
		{"a <= b", "(<= a b)"},
		{"a > b", "(> a b)"},
		{"a >= b", "(>= a b)"},
		{"a == b", "(== a b)"},
		{"a != b", "(!= a b)"},
		{"a in [1, 2]", "(in a [1 2])"},
		{"a not in [1, 2]", "(not in a [1 2])"},
		{"a not in b", "(not in a b)"},
		{"not a in b", "(not (in a b))"},
		{"a + b == c * d", "(== (+ a b) (* c d))"},
		{"a + b in c", "(in (+ a b) c)"},
		{"a - b - c", "(- (- a b) c)"},
		{"a + b * c", "(+ a (* b c))"},
		{"a * b + c", "(+ (* a b) c)"},
		{"a / b % c * d", "(* (% (/ a b) c) d)"},
		{"-a * b", "(* (neg a) b)"},
		{"a * -b", "(* a (neg b))"},
		{"- -a", "(neg (neg a))"},
		{"--a", "(neg (neg a))"},
		{"-a.b", "(neg (. a b))"},
		{"a - -1", "(- a (neg 1))"},
		{"(a + b) * c", "(* (paren (+ a b)) c)"},
		{"a.b.c", "(. (. a b) c)"},
		{"a[0].b", "(. ([] a 0) b)"},
		{"s[-1]", "([] s (neg 1))"},
		{"last(s).f[1 + 1]", "([] (. (call last s) f) (+ 1 1))"},
		{"f()", "(call f)"},
		{"f(a, b + 1, [c],)", "(call f a (+ b 1) [c])"},
		{"(a)", "(paren a)"},
		{"time - a.time < 30s", "(< (- time (. a time)) dur:30s)"},
		{"x\n  or\n  y", "(or x y)"},
		{"a # comment\n or b", "(or a b)"},
		{"next + key", "(+ next key)"}, // keywords of lines are names in expressions
		{"a.and", "(. a and)"},
	} {
		x, diags := ParseExpr("e", tc.src)
		if len(diags) > 0 {
			t.Errorf("ParseExpr(%q): %s", tc.src, diags.Error())
			continue
		}
		if got := sexpr(x); got != tc.want {
			t.Errorf("ParseExpr(%q) = %s, want %s", tc.src, got, tc.want)
		}
	}
}

func TestParseLiterals(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"0", "0"},
		{"42", "42"},
		{"2.00", "2"},
		{"1.5e3", "1500"},
		{"1E-2", "0.01"},
		{"1e+2", "100"},
		{`"s"`, `"s"`},
		{`""`, `""`},
		{`"a\"b\\c\nd\te\rf"`, `"a\"b\\c\nd\te\rf"`},
		{`"\u00e9\u20ac"`, `"é€"`},
		{`"\ud83d\ude00"`, `"😀"`},
		{`"é"`, `"é"`},
		{"true", "true"},
		{"false", "false"},
		{"null", "null"},
		{"250ms", "dur:250ms"},
		{"7d", "dur:168h0m0s"},
		{"1h30m", "dur:1h30m0s"},
		{"[]", "[]"},
		{"[1, \"a\", [true], null,]", `[1 "a" [true] null]`},
	} {
		x, diags := ParseExpr("e", tc.src)
		if len(diags) > 0 {
			t.Errorf("ParseExpr(%q): %s", tc.src, diags.Error())
			continue
		}
		if got := sexpr(x); got != tc.want {
			t.Errorf("ParseExpr(%q) = %s, want %s", tc.src, got, tc.want)
		}
	}
	x, _ := ParseExpr("e", "2.00")
	if n := x.(*NumberLit); n.Text != "2.00" {
		t.Errorf("NumberLit.Text = %q", n.Text)
	}
	x, _ = ParseExpr("e", `"a\tb"`)
	if s := x.(*StringLit); s.Raw != `"a\tb"` || s.Value != "a\tb" {
		t.Errorf("StringLit = %+v", s)
	}
}

func TestParsePositions(t *testing.T) {
	src := "event e { a: string }\n" + // line 1
		"pattern p {\n" + // 2
		"    key a\n" + // 3
		"    begin x+ greedy: e where a.b > 10 # c\n" + // 4
		"    emit \"é\\u00e9 {x.a}\" { n: -x.a }\n" + // 5
		"}\n"
	f := mustParse(t, src)
	p := f.Decls[1].(*PatternDecl)
	s := p.Stages[0]
	where := s.Where.(*BinaryExpr)
	sel := where.L.(*SelectorExpr)
	hole := p.Emit.Message.Parts[1].Expr.(*SelectorExpr)
	neg := p.Emit.Fields[0].Value.(*UnaryExpr)
	for _, tc := range []struct {
		what string
		got  Pos
		want string
		off  int
	}{
		{"event", f.Decls[0].Position(), "t.motif:1:1", 0},
		{"event end", f.Decls[0].(*EventDecl).EndPos, "t.motif:1:22", 21},
		{"field", f.Decls[0].(*EventDecl).Fields[0].Pos, "t.motif:1:11", 10},
		{"field end", f.Decls[0].(*EventDecl).Fields[0].EndPos, "t.motif:1:20", 19},
		{"pattern", p.Pos, "t.motif:2:1", 22},
		{"pattern name", p.Name.Pos, "t.motif:2:9", 30},
		{"pattern end", p.EndPos, "t.motif:6:2", len(src) - 1},
		{"key", p.Key.Pos, "t.motif:3:5", 38},
		{"key end", p.Key.EndPos, "t.motif:3:10", 43},
		{"stage", s.Pos, "t.motif:4:5", 48},
		{"stage name", s.Name.Pos, "t.motif:4:11", 54},
		{"quantifier", s.Quant.Pos, "t.motif:4:12", 55},
		{"modifier", s.Modifiers[0].Pos, "t.motif:4:14", 57},
		{"type", s.Type.Pos, "t.motif:4:22", 65},
		{"where", where.Pos, "t.motif:4:30", 73},
		{"where op", where.OpPos, "t.motif:4:34", 77},
		{"selector", sel.Pos, "t.motif:4:30", 73},
		{"selector name", sel.Sel.Pos, "t.motif:4:32", 75},
		{"number", where.R.Position(), "t.motif:4:36", 79},
		{"stage end", s.EndPos, "t.motif:4:38", 81},
		{"comment", f.Comments[0].Pos, "t.motif:4:39", 82},
		{"emit", p.Emit.Pos, "t.motif:5:5", 90},
		{"message", p.Emit.Message.Pos, "t.motif:5:10", 95},
		// é is one column and two bytes, \u00e9 six of both.
		{"hole", hole.Pos, "t.motif:5:20", 106},
		{"hole field", hole.Sel.Pos, "t.motif:5:22", 108},
		{"emit field", p.Emit.Fields[0].Pos, "t.motif:5:28", 114},
		{"unary", neg.Pos, "t.motif:5:31", 117},
		{"emit end", p.Emit.EndPos, "t.motif:5:37", 123},
	} {
		if tc.got.String() != tc.want || tc.got.Offset != tc.off {
			t.Errorf("%s: at %s offset %d, want %s offset %d", tc.what, tc.got, tc.got.Offset, tc.want, tc.off)
		}
	}
}

func TestParseDoc(t *testing.T) {
	f := mustParse(t, `## not a doc: blank line below

## first line
##second line
##
pattern a { begin x: y }
# plain
pattern b { begin x: y }
## doc of c
pattern c { begin x: y } ## trailing
pattern d { begin x: y }
## about e
event e {} pattern f { begin x: y }
`)
	for i, want := range []string{"first line\nsecond line\n", "", "doc of c", "", "", ""} {
		if _, ok := f.Decls[i].(*PatternDecl); !ok {
			continue
		}
		if got := f.Decls[i].(*PatternDecl).Doc; got != want {
			t.Errorf("pattern %d: Doc %q, want %q", i, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		// Declarations.
		{"patern p {}", `t.motif:1:1: unknown declaration "patern" (did you mean "pattern"?)`},
		{"42", `t.motif:1:1: expected 'event' or 'pattern', found "42"`},
		{"event {", `t.motif:1:7: expected a name after 'event', found "{"`},
		{"event e a: string }", `t.motif:1:9: expected '{' after the event name, found "a"`},
		{"event e { a string }", `t.motif:1:13: expected ':' after field name, found "string"`},
		{"event e { a: }", `t.motif:1:14: expected a field type such as string or number after ':', found "}"`},
		{"event e { a: string", `t.motif:1:20: expected '}' to close the event, found end of file`},
		{"event e { a: string; }", `t.motif:1:20: unexpected character ";"`},
		{"event e { in: string }", `t.motif:1:11: "in" is a keyword of expressions and cannot name a field`},
		{"pattern p begin", `t.motif:1:11: expected '{' after the pattern name, found "begin"`},
		{"pattern p {\n    begin a: x\n", `t.motif:3:1: expected '}' to close the pattern, found end of file`},
		{"pattern p {\n    begin a: x\npattern q {}", `t.motif:3:1: expected '}' to close the pattern, found "pattern"`},
		// Stage lines.
		{"pattern p {\n    begin a auth\n}", `t.motif:2:13: expected ':' after stage name, found "auth"`},
		{"pattern p {\n    begin : auth\n}", `t.motif:2:11: expected a stage name after 'begin', found ":"`},
		{"pattern p {\n    begin\n    next b: x\n}", `t.motif:3:5: expected a stage name after 'begin', found "next"`},
		{"pattern p {\n    folowed_by b: auth\n}", `t.motif:2:5: unknown operator "folowed_by" (did you mean "followed_by"?)`},
		{"pattern p {\n    then b: auth\n}", `t.motif:2:5: unknown operator "then": expected begin, next, followed_by, followed_by_any, not_next or not_followed_by`},
		{"pattern p {\n    skp to_next\n}", `t.motif:2:5: unknown clause "skp" (did you mean "skip"?)`},
		{"pattern p {\n    begin a: x where y z\n}", `t.motif:2:24: unknown operator "z": expected a clause, a stage (begin, next, followed_by, followed_by_any, not_next or not_followed_by) or '}'`},
		{"pattern p {\n    begin a greddy: x\n}", `t.motif:2:13: unknown modifier "greddy" (did you mean "greedy"?)`},
		{"pattern p {\n    begin a opt: x\n}", `t.motif:2:13: unknown modifier "opt": expected a modifier (optional, greedy, consecutive or combinations) or ':'`},
		{"pattern p {\n    begin a: \n}", `t.motif:3:1: expected an event type or '(' after ':', found "}"`},
		{"pattern p {\n    begin a optinal: x\n}", `t.motif:2:13: unknown modifier "optinal" (did you mean "optional"?)`},
		{"pattern p {\n    begin a{: x\n}", `t.motif:2:13: expected a count after '{', found ":"`},
		{"pattern p {\n    begin a{3: x\n}", `t.motif:2:14: expected ',' or '}' after the count, found ":"`},
		{"pattern p {\n    begin a{3,x}: x\n}", `t.motif:2:15: expected a count or '}' after ',', found "x"`},
		{"pattern p {\n    begin a{-1}: x\n}", `t.motif:2:13: expected a count after '{', found "-"`},
		{"pattern p {\n    begin a{99999999999}: x\n}", `t.motif:2:13: expected a count such as 3 in the quantifier, found "99999999999"`},
		{"pattern p {\n    begin a: x where y\n    where z\n}", `t.motif:3:5: unexpected 'where': a stage takes at most one where and one until, in that order, combine conditions with 'and'`},
		{"pattern p {\n    begin a: x within 10\n}", `t.motif:2:23: expected a duration such as 10m, found "10"`},
		{"pattern p {\n    begin a: x within\n}", `t.motif:3:1: expected a duration such as 10m after 'within', found "}"`},
		{"pattern p {\n    begin g: (\n        key a\n    )\n}", `t.motif:3:9: expected a stage or ')' to close the group, found "key"`},
		{"pattern p {\n    begin true: x\n}", `t.motif:2:11: "true" is a keyword of expressions and cannot name a stage`},
		// Clauses.
		{"pattern p {\n    witin 10m\n}", `t.motif:2:5: unknown clause "witin" (did you mean "within"?)`},
		{"pattern p {\n    within 10\n}", `t.motif:2:12: expected a duration such as 10m, found "10"`},
		{"pattern p {\n    within forever\n}", `t.motif:2:12: expected a duration such as 10m, or none, after 'within', found "forever"`},
		{"pattern p {\n    gap 1.5m\n}", `t.motif:2:9: invalid duration "1.5m": a count cannot have a fraction, use a smaller unit as in 1h30m or 1500ms`},
		{"pattern p {\n    suppress 10min\n}", `t.motif:2:14: invalid duration "10min": unknown unit "min", expected ms, s, m, h or d`},
		{"pattern p {\n    key\n    begin a: x\n}", `t.motif:3:5: expected a field path after 'key', found "begin"`},
		{"pattern p {\n    key a,\n}", `t.motif:3:1: expected a field path after ',', found "}"`},
		{"pattern p {\n    key a.\n}", `t.motif:3:1: expected a field name after '.', found "}"`},
		{"pattern p {\n    skip\n}", `t.motif:3:1: expected a skip strategy (no_skip, to_next, past_last_event, to_first NAME or to_last NAME) after 'skip', found "}"`},
		{"pattern p {\n    skip past_last\n}", `t.motif:2:10: unknown skip strategy "past_last": expected no_skip, to_next, past_last_event, to_first NAME or to_last NAME`},
		{"pattern p {\n    skip to_nxt\n}", `t.motif:2:10: unknown skip strategy "to_nxt" (did you mean "to_next"?)`},
		{"pattern p {\n    skip to_first\n    begin a: x\n}", `t.motif:3:5: expected a stage name after 'to_first', found "begin"`},
		{"pattern p {\n    within 1m\n    within 2m\n    begin a: x\n}", `t.motif:3:5: duplicate within clause in pattern p: the first is on line 2`},
		{"pattern p {\n    key a\n    begin a: x\n    key b\n}", `t.motif:4:5: the key clause must come before the stages`},
		// Emit.
		{"pattern p {\n    begin a: x\n    emit\n    emit\n}", `t.motif:4:5: duplicate emit in pattern p: the first is on line 3`},
		{"pattern p {\n    begin a: x\n    on_timeout emit\n    on_timeout emit\n}", `t.motif:4:5: duplicate on_timeout emit in pattern p: the first is on line 3`},
		{"pattern p {\n    emit\n    begin a: x\n}", `t.motif:3:5: stage a must come before emit and on_timeout`},
		{"pattern p {\n    begin a: x\n    emit hihg \"m\"\n}", `t.motif:3:10: unknown severity "hihg" (did you mean "high"?)`},
		{"pattern p {\n    begin a: x\n    emit severe { a: 1 }\n}", `t.motif:3:10: unknown severity "severe": expected info, low, medium, high or critical`},
		{"pattern p {\n    begin a: x\n    on_timeout high\n}", `t.motif:3:16: expected 'emit' after 'on_timeout', found "high"`},
		{"pattern p {\n    begin a: x\n    emit { a: 1 b: 2 }\n}", `t.motif:3:17: expected ',' or '}' after the field, found "b"`},
		{"pattern p {\n    begin a: x\n    emit { a 1 }\n}", `t.motif:3:14: expected ':' after field name, found "1"`},
		{"pattern p {\n    begin a: x\n    emit { 1 }\n}", `t.motif:3:12: expected a field name or '}', found "1"`},
		{"pattern p {\n    begin a: x\n    emit { a: }\n}", `t.motif:3:15: expected an expression after ':', found "}"`},
		{"pattern p {\n    begin a: x\n    emit \"abc\n}", `t.motif:3:10: unterminated string: expected a closing '"' before the end of the line`},
		{"pattern p {\n    begin a: x\n    emit \"a {b\"\n}", `t.motif:3:13: unclosed '{' in message: expected an expression and '}', or '{{' for a literal brace`},
		{"pattern p {\n    begin a: x\n    emit \"a } b\"\n}", `t.motif:3:13: unmatched '}' in message: write '}}' for a literal brace`},
		{"pattern p {\n    begin a: x\n    emit \"a { } b\"\n}", `t.motif:3:13: empty {} in message: expected an expression, or '{{' for a literal brace`},
		{"pattern p {\n    begin a: x\n    emit \"é {a +}\"\n}", `t.motif:3:17: expected an expression after '+', found "}"`},
		{"pattern p {\n    begin a: x\n    emit \"{a b}\"\n}", `t.motif:3:14: expected an operator or '}' after the expression in {}, found "b"`},
		{"pattern p {\n    begin a: x\n    emit \"{a # c}\"\n}", `t.motif:3:14: a comment cannot appear inside {} in a message`},
		{"pattern p {\n    begin a: x\n    emit \"a\\qb\"\n}", `t.motif:3:12: unknown escape \q in string: expected \", \\, \n, \t, \r or \uXXXX`},
		{"pattern p {\n    begin a: x\n    emit \"\\u00zz\"\n}", `t.motif:3:11: malformed \u escape: expected four hex digits, as in \u00e9, and a surrogate only as the first half of a pair`},
		// Expressions.
		{"pattern p {\n    begin a: x where amount >\n    followed_by b: y\n}", `t.motif:3:5: expected an expression after '>', found "followed_by"`},
		{"pattern p {\n    begin a: x where\n}", `t.motif:3:1: expected an expression after 'where', found "}"`},
		{"pattern p {\n    begin a: x where a = 1\n}", `t.motif:2:24: unexpected '=': write '==' to compare`},
		{"pattern p {\n    begin a: x where a < b < c\n}", `t.motif:2:28: comparisons do not chain: combine them with 'and', as in a < b and b < c`},
		{"pattern p {\n    begin a: x where a == b in c\n}", `t.motif:2:29: comparisons do not chain: combine them with 'and', as in a < b and b < c`},
		{"pattern p {\n    begin a: x where a && b\n}", `t.motif:2:24: unexpected '&&': write 'and'`},
		{"pattern p {\n    begin a: x where a || b\n}", `t.motif:2:24: unexpected '||': write 'or'`},
		{"pattern p {\n    begin a: x where !a\n}", `t.motif:2:22: unexpected '!': write 'not'`},
		{"pattern p {\n    begin a: x where a not b\n}", `t.motif:2:28: expected 'in' after 'not', found "b"`},
		{"pattern p {\n    begin a: x where (a or b\n    next b: y\n}", `t.motif:3:5: expected ')' to close '(' at t.motif:2:22, found "next"`},
		{"pattern p {\n    begin a: x where f(a b)\n}", `t.motif:2:26: expected ',' or ')' after the argument, found "b"`},
		{"pattern p {\n    begin a: x where [1 2]\n}", `t.motif:2:25: expected ',' or ']' in the list, found "2"`},
		{"pattern p {\n    begin a: x where a[1\n}", `t.motif:3:1: expected ']' after the index, found "}"`},
		{"pattern p {\n    begin a: x where a.1\n}", `t.motif:2:24: expected a field name after '.', found "1"`},
		{"pattern p {\n    begin a: x where a.b(1)\n}", `t.motif:2:25: unexpected '(': only a function name can be called, as in count(s)`},
		{"pattern p {\n    begin a: x where a > 10min\n}", `t.motif:2:26: invalid duration "10min": unknown unit "min", expected ms, s, m, h or d`},
		{"pattern p {\n    begin a: x where a > 1e999\n}", `t.motif:2:26: number 1e999 is out of range`},
		{"pattern p {\n    begin a: x where a and\n}", `t.motif:3:1: expected an expression after 'and', found "}"`},
		{"pattern p {\n    begin a: x where a + not b\n}", `t.motif:2:26: expected an expression after '+', found "not"`},
		{"pattern p {\n    begin a: x where \"\\x\"\n}", `t.motif:2:23: unknown escape \x in string: expected \", \\, \n, \t, \r or \uXXXX`},
		{"pattern p {\n    begin a: x where a # \"\n}", ""},
		{strings.Repeat("(", 200), `t.motif:1:101: "(" nested too deeply: at most 100 levels of (), [] and {}`},
	} {
		_, diags := Parse("t.motif", []byte(tc.src))
		if got := diags.Error(); got != tc.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestParseRecovery(t *testing.T) {
	src := `event a { x: string }
event b { x string }
pattern p {
    begin a: a where x ==
}
pattern q {
    begin a: a
}
bogus
pattern r {
    begn a: a
    emit high
}
event c {}
`
	f, diags := Parse("t.motif", []byte(src))
	want := strings.Join([]string{
		`t.motif:2:13: expected ':' after field name, found "string"`,
		`t.motif:5:1: expected an expression after '==', found "}"`,
		`t.motif:9:1: expected 'event' or 'pattern', found "bogus"`,
		`t.motif:11:5: unknown operator "begn" (did you mean "begin"?)`,
	}, "\n")
	if got := diags.Error(); got != want {
		t.Errorf("diagnostics:\n%s\nwant\n%s", got, want)
	}
	var names []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *EventDecl:
			names = append(names, d.Name.Name)
		case *PatternDecl:
			names = append(names, d.Name.Name)
		}
	}
	if got := strings.Join(names, " "); got != "a q c" {
		t.Errorf("declarations %s, want a q c", got)
	}
}

func TestParseExprErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"", `e:1:1: expected an expression, found end of file`},
		{"a b", `e:1:3: expected an operator or the end of the expression, found "b"`},
		{"a +", `e:1:4: expected an expression after '+', found end of file`},
		{")", `e:1:1: expected an expression, found ")"`},
		{"\"abc", `e:1:1: unterminated string: expected a closing '"' before the end of the line`},
		{"a @ b", `e:1:3: unexpected character "@"`},
		{strings.Repeat("-", 1000) + "a", `e:1:401: expression nested too deeply`},
		{strings.Repeat("not ", 1000) + "a", `e:1:1601: expression nested too deeply`},
	} {
		_, diags := ParseExpr("e", tc.src)
		if got := diags.Error(); got != tc.want {
			t.Errorf("ParseExpr(%q):\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestParseNewlinesInsignificant(t *testing.T) {
	spread := mustParse(t, "pattern\np\n{\nkey\na\n,\nb\nbegin\nx\n{\n2\n,\n}\n:\ny\nwhere\nz\nemit\nhigh\n{\na\n:\n1\n}\n}\n")
	flat := mustParse(t, "pattern p { key a, b begin x{2,}: y where z emit high { a: 1 } }")
	if ok, diff := equalIgnoringPos(spread, flat); !ok {
		t.Errorf("spread over lines differs: %s", diff)
	}
}

func TestParseEventFieldTypes(t *testing.T) {
	var fields []string
	for i, name := range TypeNames {
		opt := ""
		if i%2 == 1 {
			opt = "?"
		}
		fields = append(fields, fmt.Sprintf("f%d: %s%s", i, name, opt))
	}
	for _, sep := range []string{"\n    ", ", ", " "} {
		f := mustParse(t, "event e {\n    "+strings.Join(fields, sep)+"\n}\n")
		e := f.Decls[0].(*EventDecl)
		if len(e.Fields) != len(TypeNames) {
			t.Fatalf("separator %q: %d fields", sep, len(e.Fields))
		}
		for i, fd := range e.Fields {
			if fd.Type.Name != TypeNames[i] || fd.Optional != (i%2 == 1) || fd.Name.Name != fmt.Sprintf("f%d", i) {
				t.Errorf("field %d: %+v", i, fd)
			}
		}
	}
	// Field types are names: the checker knows which exist.
	f := mustParse(t, "event e { a: strng }")
	if got := f.Decls[0].(*EventDecl).Fields[0].Type.Name; got != "strng" {
		t.Errorf("type %q", got)
	}
}
