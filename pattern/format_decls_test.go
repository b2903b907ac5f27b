package pattern

import "testing"

func TestFormatDecls(t *testing.T) {
	src := `# file header, about everything
event auth { card: string }

# (an ordinary comment)
## Catches card testing.
pattern a {   # trailing
    key card
    begin x: auth
}

# about b
pattern b { begin y: auth }
`
	f, diags := Parse("f.motif", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := string(FormatDecls(f, f.Decls[1]))
	want := `# (an ordinary comment)
## Catches card testing.
pattern a { # trailing
    key card
    begin x: auth
}
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	g, diags := Parse("g.motif", []byte(got))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if p := g.Decls[0].(*PatternDecl); p.Doc != "Catches card testing." {
		t.Errorf("doc %q", p.Doc)
	}
	if got := string(FormatDecls(f, f.Decls[2])); got != "# about b\npattern b {\n    begin y: auth\n}\n" {
		t.Errorf("b printed as %q", got)
	}
}
