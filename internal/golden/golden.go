// Package golden holds what golden-file tests share: the -update flag that
// rewrites expected files after a reviewed change, and a line diff.
//
// Every package with tests imports it (at least as `var _ = golden.Update`),
// so that `go test ./... -run Golden -update` is accepted by every test
// binary.
package golden

import (
	"flag"
	"fmt"
	"strings"
)

// Update is set by -update: tests rewrite their expected files instead of
// comparing against them.
var Update = flag.Bool("update", false, "rewrite the expected files of golden tests")

// Diff describes how want and got differ, line by line; "" if they are equal.
func Diff(want, got string) string {
	if want == got {
		return ""
	}
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	var b strings.Builder
	n := max(len(w), len(g))
	shown := 0
	for i := 0; i < n && shown < 20; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
			shown++
		}
	}
	fmt.Fprintf(&b, "(%d lines wanted, %d got)", len(w), len(g))
	return b.String()
}
