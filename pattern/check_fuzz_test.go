package pattern

import (
	"os"
	"testing"
)

// FuzzCheck checks that Check never panics on a tree the parser produces,
// even for a source with parse errors.
func FuzzCheck(f *testing.F) {
	for _, path := range []string{"testdata/example.motif", "testdata/check/fraud.motif"} {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte(checkEvents + "pattern p {\n    key card_id, geo.x\n    within none\n    skip to_last b\n" +
		"    begin a+ greedy: auth where count(a) < 3 until last(a).amount > 1\n" +
		"    not_followed_by m{2}: login\n    next g{2,}: ( begin b: any where b.x[0] in [1] ) until y\n" +
		"    emit high \"{key} {a.amount}\" { s: sum(a.amount), t: timestamp(\"x\") - time }\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		file, _ := Parse("f.motif", src)
		if file == nil {
			return
		}
		set, diags := Check(file)
		if (set == nil) != diags.HasErrors() {
			t.Fatalf("set is nil: %v, errors: %v", set == nil, diags.HasErrors())
		}
	})
}
