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
	"strconv"
	"strings"
	"time"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/engine"
	"github.com/motifcep/motif/event"
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
	set, diags := pattern.Load(o.patterns...)
	printDiags(stderr, diags)
	if set == nil || diags.HasErrors() {
		return 1
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
	eng, err := engine.New(set, engine.Config{
		Recycle:        r.recycle,
		OutOfOrderness: o.outOfOrderness.d,
		DefaultWithin:  o.defaultWithin.d,
		Logger:         slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, r)
	if err != nil {
		fmt.Fprintf(stderr, "motif replay: %v\n", err)
		return 1
	}
	dec := event.NewDecoder(eng.Schema(), event.DecoderOptions{
		TypeField: o.typeField, TimeField: o.timeField, IDField: o.idField, RequireTime: true,
	})
	start := time.Now()
	code := r.run(in, eng, dec, o.strict)
	eng.Close()
	if err := out.Flush(); err != nil {
		fmt.Fprintf(stderr, "motif replay: writing alerts: %v\n", err)
		code = 1
	}
	el := time.Since(start)
	rate := float64(r.read) / el.Seconds()
	fmt.Fprintf(stderr, "replay: %d events read, %d invalid, %d late, %d alerts, %.3fs, %.0f events/s\n",
		r.read, eng.Stats.Invalid+r.undecodable, eng.Stats.Late, eng.Stats.Alerts, el.Seconds(), rate)
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
	buf         []byte
	read        uint64
	undecodable uint64
	recycled    chan *event.Event
}

const batchSize = 256

type decoded struct {
	ev   *event.Event // nil when err is set
	err  error
	line uint64
}

type batch struct {
	items   []decoded
	readErr error // set on the last batch if reading failed
}

func newReplayer(out *bufio.Writer, stderr io.Writer, name string) *replayer {
	return &replayer{out: out, stderr: stderr, name: name, recycled: make(chan *event.Event, 8192)}
}

// recycle gives an event back to the decoding goroutine, or to the garbage
// collector when the way back is full.
func (r *replayer) recycle(ev *event.Event) {
	select {
	case r.recycled <- ev:
	default:
	}
}

func (r *replayer) run(in io.Reader, eng *engine.Engine, dec *event.Decoder, strict bool) int {
	batches := make(chan *batch, 8)
	free := make(chan *batch, 10)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.decodeLoop(in, dec, batches, free, stop)
	}()
	defer func() {
		close(stop)
		for range batches {
		}
		<-done
	}()
	for b := range batches {
		for _, it := range b.items {
			r.read++
			if !r.push(eng, it) && strict {
				return 1
			}
		}
		if b.readErr != nil {
			fmt.Fprintf(r.stderr, "motif replay: reading %s: %v\n", r.name, b.readErr)
			return 1
		}
		b.items = b.items[:0]
		select {
		case free <- b:
		default:
		}
	}
	return 0
}

// push hands one decoded line to the engine; it reports whether the event
// was valid.
func (r *replayer) push(eng *engine.Engine, it decoded) bool {
	if it.err != nil {
		r.undecodable++
		fmt.Fprintf(r.stderr, "%s:%d: %v\n", r.name, it.line, it.err)
		return false
	}
	if err := eng.Push(it.ev); err != nil {
		fmt.Fprintf(r.stderr, "%s:%d: %v\n", r.name, it.line, err)
		return false
	}
	return true
}

// decodeLoop reads and decodes lines into batches until the input ends or
// stop is closed; it closes batches when it returns.
func (r *replayer) decodeLoop(in io.Reader, dec *event.Decoder, batches chan<- *batch, free chan *batch, stop <-chan struct{}) {
	defer close(batches)
	br := bufio.NewReaderSize(in, 1<<20)
	var long []byte
	b := &batch{}
	send := func() bool {
		select {
		case batches <- b:
		case <-stop:
			return false
		}
		select {
		case b = <-free:
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
			b.items = append(b.items, r.decode(dec, line, lineNo))
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

func (r *replayer) decode(dec *event.Decoder, line []byte, lineNo uint64) decoded {
	var ev *event.Event
	select {
	case ev = <-r.recycled:
	default:
		ev = &event.Event{}
	}
	if err := dec.Decode(line, ev); err != nil {
		r.recycle(ev)
		return decoded{err: err, line: lineNo}
	}
	if ev.ID == "" {
		ev.ID = strconv.FormatUint(lineNo, 10)
	}
	ev.Seq = lineNo
	return decoded{ev: ev, line: lineNo}
}

func (r *replayer) Alert(a *alert.Alert) {
	r.buf = a.AppendJSON(r.buf[:0])
	r.buf = append(r.buf, '\n')
	r.out.Write(r.buf)
}

func (r *replayer) Late(e *event.Event, watermark int64) {
	fmt.Fprintf(r.stderr, "%s:%d: late event %s: time %s is before the watermark %s\n", r.name, e.Seq, e.ID,
		fmtTime(e.Time), fmtTime(watermark))
}

func fmtTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
