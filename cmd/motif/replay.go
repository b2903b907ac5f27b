package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/engine"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/nfa"
	"github.com/motifcep/motif/pattern"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// durationFlag parses durations in the pattern language's syntax (10m, 1h30m, 7d).
type durationFlag struct{ d time.Duration }

func (f *durationFlag) String() string { return f.d.String() }
func (f *durationFlag) Set(s string) error {
	d, err := pattern.ParseDuration(s)
	if err != nil {
		return err
	}
	f.d = d
	return nil
}

type replayOptions struct {
	patterns       stringList
	events         string
	outOfOrderness durationFlag
	defaultWithin  durationFlag
	typeField      string
	timeField      string
	idField        string
	strict         bool
	workers        int
	maxPartials    int
}

func replayFlags(stderr io.Writer) (*flag.FlagSet, *replayOptions) {
	o := &replayOptions{defaultWithin: durationFlag{24 * time.Hour}}
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, n := range []string{"p", "patterns"} {
		fs.Var(&o.patterns, n, "pattern `FILE` (repeatable; required)")
	}
	for _, n := range []string{"e", "events"} {
		fs.StringVar(&o.events, n, "", "NDJSON events `FILE` (default stdin)")
	}
	fs.Var(&o.outOfOrderness, "out-of-orderness", "watermark = max event time - `D`")
	fs.Var(&o.defaultWithin, "default-within", "window of patterns that give none")
	fs.StringVar(&o.typeField, "type-field", "type", "field `NAME` of the event type")
	fs.StringVar(&o.timeField, "time-field", "time", "field `NAME` of the event time")
	fs.StringVar(&o.idField, "id-field", "id", "field `NAME` of the event id")
	fs.BoolVar(&o.strict, "strict", false, "stop at the first invalid event (exit 1) instead of skipping it")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "matching goroutines, each owning a share of the keys (the output does not depend on it)")
	fs.IntVar(&o.maxPartials, "max-partial-matches", nfa.DefaultMaxRuns, "partial matches one key may hold per pattern; beyond `N` the newest are dropped, counted and warned about")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: motif replay -p FILE [-p FILE...] [-e EVENTS] [flags]")
		fs.PrintDefaults()
	}
	return fs, o
}

func replay(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs, o := replayFlags(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(o.patterns) == 0 || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if o.maxPartials < 1 {
		fmt.Fprintf(stderr, "motif replay: --max-partial-matches must be at least 1, not %d\n", o.maxPartials)
		return 2
	}
	set, diags := pattern.Load(o.patterns...)
	printDiags(stderr, diags)
	if set == nil || diags.HasErrors() {
		return 1
	}
	// A replay's live heap is the matching state, small next to the garbage
	// that decoding makes: collect less often unless GOGC says otherwise.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	in, name := stdin, "stdin"
	if o.events != "" && o.events != "-" {
		f, err := os.Open(o.events)
		if err != nil {
			fmt.Fprintf(stderr, "motif replay: %v\n", err)
			return 1
		}
		defer f.Close()
		in, name = f, o.events
	}
	out := bufio.NewWriterSize(stdout, 1<<16)
	r := newReplayer(out, stderr, name)
	eng, err := engine.NewParallel(set, engine.Config{
		Recycle:           r.recycle,
		OutOfOrderness:    o.outOfOrderness.d,
		DefaultWithin:     o.defaultWithin.d,
		MaxPartialMatches: o.maxPartials,
		Logger:            slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, r, o.workers)
	if err != nil {
		r.finish()
		fmt.Fprintf(stderr, "motif replay: %v\n", err)
		return 1
	}
	dec := event.NewDecoder(eng.Schema(), event.DecoderOptions{
		TypeField: o.typeField, TimeField: o.timeField, IDField: o.idField, RequireTime: true,
	})
	start := time.Now()
	code := r.run(in, eng, dec, o.strict)
	eng.Close()
	if err := r.finish(); err != nil {
		fmt.Fprintf(stderr, "motif replay: writing alerts: %v\n", err)
		code = 1
	}
	el := time.Since(start)
	rate := float64(r.read) / el.Seconds()
	// The warning came when the cap first bit; the totals come last, per
	// pattern, before the summary (which stays the last line).
	for _, ps := range eng.PatternStats() {
		if ps.CapDropped > 0 {
			fmt.Fprintf(stderr, "motif replay: pattern %s: %d partial matches dropped by the cap (--max-partial-matches %d)\n",
				ps.Name, ps.CapDropped, o.maxPartials)
		}
	}
	st := eng.Stats()
	fmt.Fprintf(stderr, "replay: %d events read, %d invalid, %d late, %d alerts, %.3fs, %.0f events/s\n",
		r.read, st.Invalid+r.undecodable+r.invalid, st.Late, st.Alerts, el.Seconds(), rate)
	return code
}

// replayer feeds NDJSON lines to an engine and writes its alerts. Reading
// and decoding run on one goroutine and matching on the caller's, handing
// over batches of decoded events; events the engine is done with travel
// back for reuse.
type replayer struct {
	out         *bufio.Writer
	stderr      io.Writer
	name        string
	read        uint64
	undecodable uint64 // lines that are not events
	invalid     uint64 // events that failed validation
	writeErr    error

	released []*event.Event // events the engine let go, returned with the next batch
	alerts   []*alert.Alert // alerts not yet handed to the writer
	toWriter chan []*alert.Alert
	written  chan struct{}
}

const batchSize = 256

type decoded struct {
	ev      *event.Event // nil when err is set
	err     error
	invalid bool // err is a validation error, not a decoding one
	line    uint64
}

type batch struct {
	items   []decoded
	spare   []*event.Event // events to decode into, handed back by the matcher
	readErr error          // set on the last batch if reading failed
}

func newReplayer(out *bufio.Writer, stderr io.Writer, name string) *replayer {
	r := &replayer{out: out, stderr: stderr, name: name,
		toWriter: make(chan []*alert.Alert, 8), written: make(chan struct{})}
	go r.writeLoop()
	return r
}

// recycle keeps an event the engine let go; it goes back to the decoding
// goroutine with the next empty batch.
func (r *replayer) recycle(ev *event.Event) {
	if len(r.released) < 16*batchSize {
		r.released = append(r.released, ev)
	}
}

// writeLoop encodes and writes alerts on its own goroutine, in order.
func (r *replayer) writeLoop() {
	defer close(r.written)
	var buf []byte
	for as := range r.toWriter {
		for _, a := range as {
			buf = a.AppendJSON(buf[:0])
			buf = append(buf, '\n')
			if _, err := r.out.Write(buf); err != nil && r.writeErr == nil {
				r.writeErr = err
			}
		}
	}
	if err := r.out.Flush(); err != nil && r.writeErr == nil {
		r.writeErr = err
	}
}

// flushAlerts hands the pending alerts to the writer.
func (r *replayer) flushAlerts() {
	if len(r.alerts) > 0 {
		r.toWriter <- r.alerts
		r.alerts = make([]*alert.Alert, 0, batchSize)
	}
}

// finish waits until every alert is written and returns the first write error.
func (r *replayer) finish() error {
	r.flushAlerts()
	close(r.toWriter)
	<-r.written
	return r.writeErr
}

func (r *replayer) run(in io.Reader, eng *engine.Parallel, dec *event.Decoder, strict bool) int {
	batches := make(chan *batch, 2) // few: the matcher reads events still in the caches (see engine.parallelFlight)
	free := make(chan *batch, 10)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.decodeLoop(in, eng, dec, batches, free, stop)
	}()
	defer func() {
		close(stop)
		for range batches {
		}
		<-done
	}()
	slots := eng.Schema().Len()
	for b := range batches {
		for i, it := range b.items {
			if j := i + 4; j < len(b.items) {
				b.items[j].ev.PrefetchInline(slots) // decoded on another core
			}
			r.read++
			if !r.push(eng, it) && strict {
				return 1
			}
		}
		if b.readErr != nil {
			fmt.Fprintf(r.stderr, "motif replay: reading %s: %v\n", r.name, b.readErr)
			return 1
		}
		r.flushAlerts()
		b.items = b.items[:0]
		b.spare = append(b.spare[:0], r.released...)
		clear(r.released)
		r.released = r.released[:0]
		select {
		case free <- b:
		default:
		}
	}
	return 0
}

// push hands one decoded line to the engine; it reports whether the event
// was valid.
func (r *replayer) push(eng *engine.Parallel, it decoded) bool {
	if it.err != nil {
		if it.invalid {
			r.invalid++
		} else {
			r.undecodable++
		}
		fmt.Fprintf(r.stderr, "%s:%d: %v\n", r.name, it.line, it.err)
		return false
	}
	if err := eng.PushValid(it.ev); err != nil {
		fmt.Fprintf(r.stderr, "%s:%d: %v\n", r.name, it.line, err)
		return false
	}
	return true
}

// decodeLoop reads and decodes lines into batches until the input ends or
// stop is closed; it closes batches when it returns.
func (r *replayer) decodeLoop(in io.Reader, eng *engine.Parallel, dec *event.Decoder, batches chan<- *batch, free chan *batch, stop <-chan struct{}) {
	defer close(batches)
	br := bufio.NewReaderSize(in, 1<<20)
	var long []byte
	b := &batch{}
	var spare []*event.Event
	schema := eng.Schema()
	slots := schema.Len()
	send := func() bool {
		select {
		case batches <- b:
		case <-stop:
			return false
		}
		select {
		case b = <-free:
			spare = append(spare, b.spare...)
			clear(b.spare)
			b.spare = b.spare[:0]
		default:
			b = &batch{}
		}
		return true
	}
	for lineNo := uint64(1); ; lineNo++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var ev *event.Event
			if k := len(spare); k > 0 {
				ev, spare = spare[k-1], spare[:k-1]
				// A recycled event was last written an hour ago, or on
				// another core: bring in the ones decoded next while
				// this line is decoded.
				if k > 4 {
					spare[k-5].PrefetchInline(slots)
				}
			} else {
				ev = schema.NewEvent()
			}
			it := r.decode(eng, dec, ev, line, lineNo)
			if it.err != nil {
				spare = append(spare, ev)
			}
			b.items = append(b.items, it)
			if len(b.items) == batchSize && !send() {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				b.readErr = err
			}
			send()
			return
		}
	}
}

// decode decodes and validates one line into ev; on an error ev is not
// used.
func (r *replayer) decode(eng *engine.Parallel, dec *event.Decoder, ev *event.Event, line []byte, lineNo uint64) decoded {
	if err := dec.Decode(line, ev); err != nil {
		return decoded{err: err, line: lineNo}
	}
	if err := eng.Validate(ev); err != nil {
		return decoded{err: err, invalid: true, line: lineNo}
	}
	if ev.ID == "" {
		ev.ID = strconv.FormatUint(lineNo, 10)
	}
	ev.Seq = lineNo
	return decoded{ev: ev, line: lineNo}
}

func (r *replayer) Alert(a *alert.Alert) {
	r.alerts = append(r.alerts, a)
	if len(r.alerts) == batchSize {
		r.flushAlerts()
	}
}

func (r *replayer) Late(e *event.Event, watermark int64) {
	fmt.Fprintf(r.stderr, "%s:%d: late event %s: time %s is before the watermark %s\n", r.name, e.Seq, e.ID,
		fmtTime(e.Time), fmtTime(watermark))
}

func fmtTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
