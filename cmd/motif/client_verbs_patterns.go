package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/motifcep/motif/client"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

const patternsUsage = `usage:
  motif patterns apply [--dry-run] FILE...   check and register the patterns of the files as one set
  motif patterns list [--all]                the catalog
  motif patterns get [--version N] NAME      print the source of the live (or given) version
  motif patterns delete NAME                 stop a pattern
Every subcommand takes --server ADDR, --token T and --tls-ca FILE.
`

func patternsVerb(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, patternsUsage)
		return 2
	}
	switch args[0] {
	case "apply":
		return patternsApply(ctx, args[1:], stdout, stderr)
	case "list":
		return patternsList(ctx, args[1:], stdout, stderr)
	case "get":
		return patternsGet(ctx, args[1:], stdout, stderr)
	case "delete":
		return patternsDelete(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, patternsUsage)
		return 0
	}
	fmt.Fprintf(stderr, "motif patterns: unknown subcommand %q\n%s", args[0], patternsUsage)
	return 2
}

// patternsFlags parses the flags of a patterns subcommand; it returns the
// positional arguments, or ok false after a usage error.
func patternsFlags(sub, usage string, args []string, stderr io.Writer, wantArgs func(int) bool,
	extra func(*flag.FlagSet)) (*serverFlags, []string, bool) {
	fs := flag.NewFlagSet("patterns "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addServerFlags(fs)
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: motif patterns %s %s\n", sub, usage)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, nil, false
	}
	if !wantArgs(len(pos)) {
		fs.Usage()
		return nil, nil, false
	}
	return sf, pos, true
}

func one(n int) bool { return n == 1 }

func patternsApply(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var dryRun bool
	sf, paths, ok := patternsFlags("apply", "[--dry-run] FILE...", args, stderr, func(n int) bool { return n > 0 },
		func(fs *flag.FlagSet) {
			fs.BoolVar(&dryRun, "dry-run", false, "check and report what would change, register nothing")
		})
	if !ok {
		return 2
	}
	files, err := client.ReadFiles(paths...)
	if err != nil {
		return failed(stderr, "patterns apply", err)
	}
	c, err := sf.dial(client.WithRetry(quickRetries))
	if err != nil {
		return failed(stderr, "patterns apply", err)
	}
	defer c.Close()
	apply := c.ApplyPatterns
	if dryRun {
		apply = c.PlanPatterns
	}
	res, err := apply(ctx, files...)
	var rej *client.RejectedError
	if errors.As(err, &rej) {
		for _, d := range rej.Diagnostics {
			fmt.Fprintln(stderr, d)
		}
		return 1
	}
	if err != nil {
		return failed(stderr, "patterns apply", err)
	}
	for _, d := range res.Warnings {
		fmt.Fprintln(stderr, d)
	}
	for _, ch := range res.Changes {
		fmt.Fprintln(stdout, ch)
	}
	return 0
}

func patternsList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var all bool
	sf, _, ok := patternsFlags("list", "[--all]", args, stderr, func(n int) bool { return n == 0 },
		func(fs *flag.FlagSet) {
			fs.BoolVar(&all, "all", false, "list deleted patterns and retired versions too")
		})
	if !ok {
		return 2
	}
	c, err := sf.dial(client.WithRetry(quickRetries))
	if err != nil {
		return failed(stderr, "patterns list", err)
	}
	defer c.Close()
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tLIVE\tVERSIONS\tDESCRIPTION")
	n := 0
	for p, err := range c.ListPatterns(ctx, client.ListOptions{IncludeRetired: all}) {
		if err != nil {
			return failed(stderr, "patterns list", err)
		}
		n++
		live := "-"
		if v := p.GetLiveVersion(); v > 0 {
			live = fmt.Sprintf("v%d", v)
		}
		var versions []string
		for _, v := range p.GetVersions() {
			versions = append(versions, fmt.Sprintf("v%d %s", v.GetVersion(), stateName(v.GetState())))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.GetName(), live, strings.Join(versions, ", "), oneLine(p.GetDescription()))
	}
	if n == 0 {
		fmt.Fprintln(stderr, "no patterns")
		return 0
	}
	tw.Flush()
	for line := range strings.Lines(b.String()) {
		fmt.Fprintln(stdout, strings.TrimRight(line, " \n"))
	}
	return 0
}

// stateName is a pattern state as status and list print it.
func stateName(s motifv1.PatternState) string {
	switch s {
	case motifv1.PatternState_PATTERN_STATE_ACTIVE:
		return "active"
	case motifv1.PatternState_PATTERN_STATE_RETIRING:
		return "retiring"
	case motifv1.PatternState_PATTERN_STATE_RETIRED:
		return "retired"
	}
	return "unknown"
}

// oneLine joins the lines of a description.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func patternsGet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var version uint
	sf, pos, ok := patternsFlags("get", "[--version N] NAME", args, stderr, one, func(fs *flag.FlagSet) {
		fs.UintVar(&version, "version", 0, "print version `N` (default: the live one)")
	})
	if !ok {
		return 2
	}
	c, err := sf.dial(client.WithRetry(quickRetries))
	if err != nil {
		return failed(stderr, "patterns get", err)
	}
	defer c.Close()
	res, err := c.GetPattern(ctx, pos[0], int(version))
	if err != nil {
		return failed(stderr, "patterns get", err)
	}
	src := res.GetSource()
	if !strings.HasSuffix(src, "\n") {
		src += "\n"
	}
	fmt.Fprint(stdout, src)
	return 0
}

func patternsDelete(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sf, pos, ok := patternsFlags("delete", "NAME", args, stderr, one, nil)
	if !ok {
		return 2
	}
	c, err := sf.dial(client.WithRetry(quickRetries))
	if err != nil {
		return failed(stderr, "patterns delete", err)
	}
	defer c.Close()
	if _, err := c.DeletePattern(ctx, pos[0]); err != nil {
		return failed(stderr, "patterns delete", err)
	}
	fmt.Fprintf(stdout, "%s deleted\n", pos[0])
	return 0
}
