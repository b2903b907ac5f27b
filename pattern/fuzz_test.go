package pattern

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeeds are small files that between them use every construct.
var fuzzSeeds = []string{
	"pattern p { begin a: x }",
	"event e { a: string, b: number? }\nevent f {}\n",
	`pattern p {
    key a.b, c
    within none
    gap 5m
    skip to_first a
    suppress 1h30m
    begin a{2,} greedy: x where -a.b * 2 % 3 >= 1.5e3 and not c in [1, "s", null] until d[0] != true within 250ms
    next g{0,3} optional: (
        begin i?: any
        followed_by_any j*: y # c
    ) until count(i) > 2
    not_next n: x
    followed_by k+ consecutive combinations: z where (a or b) and time - a.time < 7d
    not_followed_by m: x
    emit critical "a {{ {key} }} {coalesce(a.b, \"}\")} \u00e9" { a: 1, b: f(x, y,), }
    on_timeout emit info
}`,
	"## doc\n## more\npattern d { begin a: b emit low \"x\" }\n# end",
	"pattern p {\n    begin a: x where (a #\n        or b)\n}\n",
	"pattern p { begin a auth }",
	"patern p {}\nevent e { a string }\npattern q { begin a: x where a == }\n",
	`pattern p { begin a: x emit "{a +}" }`,
	`pattern p { begin a: x where "\ud83d\ude00" == "\q" }`,
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob("testdata/*.motif")
	more, _ := filepath.Glob("testdata/format/*.motif")
	for _, name := range append(files, more...) {
		if src, err := os.ReadFile(name); err == nil {
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		ParseExpr("f", string(src)) // never panics
		file, diags := Parse("f.motif", src)
		if file == nil {
			t.Fatal("Parse returned a nil File")
		}
		out := Format(file) // never panics, even for a file with errors
		if len(diags) > 0 {
			return
		}
		g, diags := Parse("f.motif", out)
		if len(diags) > 0 {
			t.Fatalf("the output of Format does not parse: %s\ninput:\n%s\noutput:\n%s", diags.Error(), src, out)
		}
		if ok, diff := equalIgnoringPos(file, g); !ok {
			t.Fatalf("Parse(Format(f)) differs at %s\ninput:\n%s\noutput:\n%s", diff, src, out)
		}
		if again := Format(g); string(again) != string(out) {
			t.Fatalf("Format is not idempotent\ninput:\n%s\nonce:\n%s\ntwice:\n%s", src, out, again)
		}
	})
}
