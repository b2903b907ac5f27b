package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/motifcep/motif/client"
)

// errIdle ends a subscription that had no alert for --idle.
var errIdle = errors.New("idle")

type subscribeOptions struct {
	from        string
	patterns    stringList
	minSeverity string
	limit       int
	idle        durationFlag
}

func subscribeFlags(stderr io.Writer) (*flag.FlagSet, *serverFlags, *subscribeOptions) {
	o := &subscribeOptions{}
	fs := flag.NewFlagSet("subscribe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addServerFlags(fs)
	fs.StringVar(&o.from, "from", "now", "start after sequence number `SEQ`, at the oldest alert (start), or with new alerts (now)")
	fs.Var(&o.patterns, "pattern", "only alerts of pattern `NAME` (repeatable)")
	fs.StringVar(&o.minSeverity, "min-severity", "", "only alerts at least as severe as `S`: info, low, medium, high or critical")
	fs.IntVar(&o.limit, "limit", 0, "exit after `N` alerts (default: no limit)")
	fs.Var(&o.idle, "idle", "exit after `D` without an alert (default: never)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: motif subscribe [--from SEQ|start|now] [--pattern NAME]... [--min-severity S] [--limit N] [--idle D] [flags]")
		fs.PrintDefaults()
	}
	return fs, sf, o
}

// subscribeVerb prints alerts as NDJSON, each with its seq first, until
// --limit alerts, --idle without one, or an interrupt (exit 0 in every
// case). It reconnects and resumes after its last seq when the stream
// fails, saying so on stderr.
func subscribeVerb(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sf, o := subscribeFlags(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	from, err := client.ParseCursor(o.from)
	if err != nil {
		fmt.Fprintf(stderr, "motif subscribe: --from: %v\n", err)
		return 2
	}
	filter := client.Filter{Patterns: o.patterns}
	if o.minSeverity != "" {
		if filter.MinSeverity, err = client.ParseSeverity(o.minSeverity); err != nil {
			fmt.Fprintf(stderr, "motif subscribe: --min-severity: %v\n", err)
			return 2
		}
	}
	if fs.NArg() > 0 || o.limit < 0 || o.idle.d < 0 {
		fs.Usage()
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{
		Level:       slog.LevelWarn,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return dropTime(a) },
	}))
	c, err := sf.dial(client.WithLogger(log))
	if err != nil {
		return failed(stderr, "subscribe", err)
	}
	defer c.Close()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var idle *time.Timer
	if o.idle.d > 0 {
		idle = time.AfterFunc(o.idle.d, func() { cancel(errIdle) })
		defer idle.Stop()
	}
	n := 0
	for a, err := range c.Subscribe(ctx, from, filter) {
		if err != nil {
			if ctx.Err() != nil { // --idle, or interrupted
				return 0
			}
			return failed(stderr, "subscribe", err)
		}
		if _, err := fmt.Fprintf(stdout, "%s\n", a.JSON()); err != nil {
			return failed(stderr, "subscribe", err)
		}
		if n++; o.limit > 0 && n >= o.limit {
			return 0
		}
		if idle != nil {
			idle.Reset(o.idle.d)
		}
	}
	return 0
}

func dropTime(a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
