package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/motifcep/motif/pattern"
)

func check(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: motif check FILE...") }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	set, diags := pattern.Load(fs.Args()...)
	printDiags(stderr, diags)
	if set == nil || diags.HasErrors() {
		return 1
	}
	fmt.Fprintf(stdout, "ok: %d patterns, %d event types\n", len(set.Patterns), len(set.Events))
	return 0
}

func printDiags(w io.Writer, diags pattern.Diagnostics) {
	for _, d := range diags {
		fmt.Fprintln(w, d.String())
	}
}
