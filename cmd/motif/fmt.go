package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/motifcep/motif/pattern"
)

func fmtVerb(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fmt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	write := fs.Bool("w", false, "write the result to the file instead of printing it")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: motif fmt [-w] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	code := 0
	for _, path := range fs.Args() {
		src, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
			code = 1
			continue
		}
		f, diags := pattern.Parse(path, src)
		if diags.HasErrors() {
			printDiags(stderr, diags)
			code = 1
			continue
		}
		out := pattern.Format(f)
		if !*write {
			stdout.Write(out)
			continue
		}
		if bytes.Equal(out, src) {
			continue
		}
		if err := writeFileAtomic(path, out); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
			code = 1
		}
	}
	return code
}

// writeFileAtomic replaces path's contents, keeping its mode, so that an
// interrupted write never leaves a half-written pattern file.
func writeFileAtomic(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := path + ".motif-fmt.tmp"
	if err := os.WriteFile(tmp, data, fi.Mode().Perm()); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
