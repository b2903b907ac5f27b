package pattern

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var updateFormat = flag.Bool("update-format", false, "rewrite testdata/format/*.golden")

// checkRoundTrip asserts the properties of Format on a file that parses:
// the output parses to an equal AST, comments included, and is a fixed point.
func checkRoundTrip(t *testing.T, name string, src []byte) []byte {
	t.Helper()
	f, diags := Parse(name, src)
	if len(diags) > 0 {
		t.Fatalf("%s: %s", name, diags.Error())
	}
	out := Format(f)
	g, diags := Parse(name, out)
	if len(diags) > 0 {
		t.Fatalf("%s: the output of Format does not parse: %s\n%s", name, diags.Error(), out)
	}
	if ok, diff := equalIgnoringPos(f, g); !ok {
		t.Fatalf("%s: Parse(Format(f)) differs from f at %s\n%s", name, diff, out)
	}
	if again := Format(g); string(again) != string(out) {
		t.Fatalf("%s: Format is not idempotent:\n%s\n---\n%s", name, out, again)
	}
	return out
}

func TestFormatGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/format/*.motif")
	inputs = append(inputs, "testdata/example.motif")
	for _, in := range inputs {
		src, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		out := checkRoundTrip(t, in, src)
		golden := filepath.Join("testdata/format", strings.TrimSuffix(filepath.Base(in), ".motif")+".golden")
		if *updateFormat {
			if err := os.WriteFile(golden, out, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -run TestFormatGolden -args -update-format)", err)
		}
		if string(out) != string(want) {
			t.Errorf("Format(%s):\n%s\nwant (%s):\n%s", in, out, golden, want)
		}
		// The golden output is itself in canonical form.
		checkRoundTrip(t, golden, want)
	}
}

func TestFormatExampleNearlyVerbatim(t *testing.T) {
	src, err := os.ReadFile("testdata/example.motif")
	if err != nil {
		t.Fatal(err)
	}
	out := checkRoundTrip(t, "example.motif", src)
	// language.md's example is written in the canonical layout, but for the
	// column of one trailing comment.
	want := strings.Replace(string(src), "number?        # '?'", "number? # '?'", 1)
	if string(out) != want {
		t.Errorf("Format(example):\n%s", out)
	}
}

func TestFormatCommentsSurvive(t *testing.T) {
	for _, in := range []string{"testdata/format/comments.motif", "testdata/format/edge.motif"} {
		src, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := Parse(in, src)
		g, _ := Parse(in, Format(f))
		if len(f.Comments) == 0 || len(f.Comments) != len(g.Comments) {
			t.Fatalf("%s: %d comments, then %d", in, len(f.Comments), len(g.Comments))
		}
		for i := range f.Comments {
			if f.Comments[i].Text != g.Comments[i].Text {
				t.Errorf("%s: comment %d: %q became %q", in, i, f.Comments[i].Text, g.Comments[i].Text)
			}
		}
	}
}

func TestFormatKeepsTrailingComments(t *testing.T) {
	src := "pattern p {\n    key a   # k\n    begin a: x # s\n    emit { a: 1 } # e\n} # end\n"
	want := "pattern p {\n    key a         # k\n    begin a: x    # s\n    emit { a: 1 } # e\n} # end\n"
	if out := string(checkRoundTrip(t, "t.motif", []byte(src))); out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

func TestFormatDocAndBlankLines(t *testing.T) {
	src := "## doc\npattern a { begin x: y }\n\n\n\n# c\n\npattern b { begin x: y }\npattern c { begin x: y }\nevent e { a: string }\nevent f { b: string }\n\n\nevent g { c: string }\n"
	want := `## doc
pattern a {
    begin x: y
}

# c

pattern b {
    begin x: y
}

pattern c {
    begin x: y
}

event e { a: string }
event f { b: string }

event g { c: string }
`
	if out := checkRoundTrip(t, "t.motif", []byte(src)); string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

func TestFormatBuiltAST(t *testing.T) {
	name := func(n string) *NameExpr { return &NameExpr{Name: n} }
	bin := func(op BinOp, l, r Expr) *BinaryExpr { return &BinaryExpr{Op: op, L: l, R: r} }
	for _, tc := range []struct {
		x    Expr
		want string
	}{
		{bin(BinMul, bin(BinAdd, name("a"), name("b")), name("c")), "(a + b) * c"},
		{bin(BinAdd, name("a"), bin(BinMul, name("b"), name("c"))), "a + b * c"},
		{bin(BinSub, name("a"), bin(BinSub, name("b"), name("c"))), "a - (b - c)"},
		{bin(BinSub, bin(BinSub, name("a"), name("b")), name("c")), "a - b - c"},
		{bin(BinEq, bin(BinLt, name("a"), name("b")), name("c")), "(a < b) == c"},
		{bin(BinAnd, &UnaryExpr{Op: UnaryNot, X: name("a")}, name("b")), "not a and b"},
		{&UnaryExpr{Op: UnaryNot, X: bin(BinOr, name("a"), name("b"))}, "not (a or b)"},
		{bin(BinEq, &UnaryExpr{Op: UnaryNot, X: name("a")}, name("b")), "(not a) == b"},
		{&UnaryExpr{Op: UnaryNeg, X: bin(BinAdd, name("a"), name("b"))}, "-(a + b)"},
		{&SelectorExpr{X: &UnaryExpr{Op: UnaryNeg, X: name("a")}, Sel: Ident{Name: "f"}}, "(-a).f"},
		{&NumberLit{Value: 2.5}, "2.5"},
		{&StringLit{Value: "a\"b\n\x01"}, `"a\"b\n\u0001"`},
		{&DurationLit{Value: 90 * time.Minute}, "1h30m"},
		{&DurationLit{Value: 26*time.Hour + 5*time.Millisecond}, "1d2h5ms"},
		{&ListLit{Elems: []Expr{&BoolLit{Value: true}, &NullLit{}}}, "[true, null]"},
		{&CallExpr{Fun: Ident{Name: "f"}, Args: []Expr{name("a"), &IndexExpr{X: name("s"), Index: &NumberLit{Value: 0}}}}, "f(a, s[0])"},
	} {
		got := formatExpr(tc.x)
		if got != tc.want {
			t.Errorf("formatExpr = %s, want %s", got, tc.want)
			continue
		}
		// The output means what the tree means.
		back, diags := ParseExpr("e", got)
		if len(diags) > 0 {
			t.Errorf("%s does not parse: %s", got, diags.Error())
		} else if a, b := sexpr(stripParens(back)), sexpr(tc.x); a != b {
			t.Errorf("%s parses as %s, want %s", got, a, b)
		}
	}

	f := &File{Decls: []Decl{
		&EventDecl{Name: Ident{Name: "e"}, Fields: []*FieldDecl{{Name: Ident{Name: "a"}, Type: Ident{Name: "string"}, Optional: true}}},
		&PatternDecl{
			Doc:    "first\n\nthird",
			Name:   Ident{Name: "p"},
			Within: &WithinClause{Dur: &DurationLit{Value: time.Hour}},
			Key:    &KeyClause{Paths: []Expr{name("k")}},
			Stages: []*Stage{
				{Op: OpBegin, Name: Ident{Name: "a"}, Type: &Ident{Name: "e"}, Quant: &Quantifier{Kind: QuantRange, Min: 1, Max: 2}},
				{Op: OpNext, Name: Ident{Name: "g"}, Group: []*Stage{{Op: OpBegin, Name: Ident{Name: "b"}, Type: &Ident{Name: "e"}}}},
			},
			Emit: &Emit{Severity: SeverityLow, Message: &Template{Parts: []TemplatePart{
				{Text: "a {b} \"c\" "}, {Expr: &StringLit{Value: "x"}},
			}}},
		},
	}}
	want := `event e { a: string? }

## first
##
## third
pattern p {
    key    k
    within 1h

    begin a{1,2}: e
    next  g:      (
        begin b: e
    )
    emit low "a {{b}} \"c\" {\"x\"}"
}
`
	want = strings.Replace(want, "\n\n    begin", "\n    begin", 1)
	out := Format(f)
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	g, diags := Parse("", out)
	if len(diags) > 0 {
		t.Fatalf("%s", diags.Error())
	}
	if ok, diff := equalIgnoringPos(f.Decls[1].(*PatternDecl).Stages, g.Decls[1].(*PatternDecl).Stages); !ok {
		t.Errorf("stages differ: %s", diff)
	}
	if doc := g.Decls[1].(*PatternDecl).Doc; doc != "first\n\nthird" {
		t.Errorf("Doc = %q", doc)
	}
	if got := g.Decls[1].(*PatternDecl).Emit.Message.Parts[0].Text; got != "a {b} \"c\" " {
		t.Errorf("message text = %q", got)
	}
}

// stripParens removes the ParenExprs of a parsed tree.
func stripParens(e Expr) Expr {
	switch x := e.(type) {
	case *ParenExpr:
		return stripParens(x.X)
	case *BinaryExpr:
		c := *x
		c.L, c.R = stripParens(x.L), stripParens(x.R)
		return &c
	case *UnaryExpr:
		c := *x
		c.X = stripParens(x.X)
		return &c
	case *SelectorExpr:
		c := *x
		c.X = stripParens(x.X)
		return &c
	}
	return e
}

func TestFormatNilSafe(t *testing.T) {
	if Format(nil) != nil {
		t.Error("Format(nil) != nil")
	}
	f := &File{Decls: []Decl{(*PatternDecl)(nil), nil, &PatternDecl{Name: Ident{Name: "p"}, Stages: []*Stage{nil, {Name: Ident{Name: "s"}}}}}}
	if out := string(Format(f)); !strings.Contains(out, "begin s: any") {
		t.Errorf("got %s", out)
	}
}

// TestFormatCommentsAnywhere puts a comment, then a line break, after each
// token of the test files in turn: every variant must keep the properties
// of Format.
func TestFormatCommentsAnywhere(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/format/*.motif")
	inputs = append(inputs, "testdata/example.motif")
	for _, in := range inputs {
		src, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		toks, serr := tokenize(in, string(src))
		if serr != nil {
			t.Fatal(serr)
		}
		for _, tok := range toks {
			if tok.EOF() || tok.Type == tokComment {
				continue
			}
			end := tok.Pos.Offset + len(tok.Value)
			for _, insert := range []string{" # x\n", "\n", " ## y\n"} {
				variant := string(src[:end]) + insert + string(src[end:])
				checkRoundTrip(t, in+" after "+tok.Pos.String(), []byte(variant))
			}
		}
	}
}
