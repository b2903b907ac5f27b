package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/motifcep/motif/client"
)

type publishOptions struct {
	events     string
	batch      int
	batchBytes int
}

func publishFlags(stderr io.Writer) (*flag.FlagSet, *serverFlags, *publishOptions) {
	o := &publishOptions{}
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addServerFlags(fs)
	for _, n := range []string{"e", "events"} {
		fs.StringVar(&o.events, n, "", "NDJSON events `FILE` (default stdin)")
	}
	fs.IntVar(&o.batch, "batch", 1000, "events per batch, at most `N`")
	fs.IntVar(&o.batchBytes, "batch-bytes", 4<<20, "bytes per batch, at most `N` (a larger event goes alone)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: motif publish [-e FILE] [flags]")
		fs.PrintDefaults()
	}
	return fs, sf, o
}

// publishVerb sends NDJSON events in batches on one stream and waits for
// their acknowledgements. Every line is one event; blank lines are
// skipped. Duplicates (events whose id the server had already stored) are
// acknowledged, so they count as published; a note on stderr says how
// many there were.
func publishVerb(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, sf, o := publishFlags(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || o.batch < 1 || o.batch > 10000 || o.batchBytes < 1 {
		fs.Usage()
		return 2
	}
	in, name := stdin, "stdin"
	if o.events != "" && o.events != "-" {
		f, err := os.Open(o.events)
		if err != nil {
			return failed(stderr, "publish", err)
		}
		defer f.Close()
		in, name = f, o.events
	}
	c, err := sf.dial()
	if err != nil {
		return failed(stderr, "publish", err)
	}
	defer c.Close()
	pub := &publication{name: name, stderr: stderr}
	p := c.NewPublisher(ctx, pub.ack)
	readErr := pub.send(ctx, p, in, o)
	closeErr := p.Close(ctx)
	fmt.Fprintf(stdout, "published %d, rejected %d\n", pub.published, pub.rejected)
	if pub.duplicates > 0 {
		fmt.Fprintf(stderr, "motif publish: %d of the published events were duplicates: already stored, not appended again\n", pub.duplicates)
	}
	if pub.failed > 0 {
		fmt.Fprintf(stderr, "motif publish: %d events not acknowledged (they may or may not have been appended): %v\n", pub.failed, pub.failErr)
	}
	switch {
	case readErr != nil:
		return failed(stderr, "publish", fmt.Errorf("reading %s: %w", name, readErr))
	case closeErr != nil && pub.failed == 0:
		return failed(stderr, "publish", closeErr)
	case pub.rejected > 0 || pub.failed > 0 || closeErr != nil:
		return 1
	}
	return 0
}

// publication tracks the batches of one publish: the line number of
// every event sent, until its batch is acknowledged, and the totals.
type publication struct {
	name   string
	stderr io.Writer

	mu                              sync.Mutex
	lines                           [][]int // by batch id - 1
	published, rejected, duplicates int
	failed                          int
	failErr                         error
}

// send reads the events and sends them in batches; it returns a read
// error.
func (pub *publication) send(ctx context.Context, p *client.Publisher, in io.Reader, o *publishOptions) error {
	br := bufio.NewReaderSize(in, 1<<16)
	var batch [][]byte
	var lines []int
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		pub.mu.Lock()
		pub.lines = append(pub.lines, lines) // batch ids are 1, 2, ...: this one's is len(pub.lines)
		pub.mu.Unlock()
		_, err := p.Send(ctx, batch...)
		batch, lines, size = nil, nil, 0
		return err
	}
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if ev := bytes.TrimRight(line, "\r\n"); len(bytes.TrimSpace(ev)) > 0 {
			if len(batch) > 0 && (len(batch) == o.batch || size+len(ev) > o.batchBytes) {
				if flush() != nil {
					return nil // the publisher failed: its acks say why
				}
			}
			batch, lines, size = append(batch, ev), append(lines, lineNo), size+len(ev)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			_ = flush()
			return err
		}
	}
	_ = flush()
	return nil
}

// ack is called in batch order by the publisher.
func (pub *publication) ack(a client.Ack) {
	pub.mu.Lock()
	lines := pub.lines[a.BatchID-1]
	pub.lines[a.BatchID-1] = nil
	if a.Err != nil {
		pub.failed += a.Events
		pub.failErr = a.Err
		pub.mu.Unlock()
		return
	}
	pub.published += a.Accepted + a.Duplicates
	pub.duplicates += a.Duplicates
	pub.rejected += len(a.Rejections)
	pub.mu.Unlock()
	for _, r := range a.Rejections {
		fmt.Fprintf(pub.stderr, "%s:%d: %s\n", pub.name, lines[r.Index], r.Reason)
	}
}
