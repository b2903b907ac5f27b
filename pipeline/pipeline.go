// Package pipeline runs patterns over an input durably: the partitions of
// the embedded event log or of Kafka topics (Input). Records are read at
// the committed offsets, decoded and validated (invalid ones kept as dead
// letters with their reasons), ordered by event time (with several
// partitions, by the minimum of their watermarks over those not idle),
// matched by the engine with key states cached in memory over the store,
// and every commit writes the changed states and timers, the new alerts,
// the dead letters, the input offsets and the sorter's pending events in
// one Pebble batch. After a crash the pipeline
// resumes at the last commit and produces exactly what an uninterrupted run
// would have: alert ids are deterministic and already committed ones are
// never appended twice.
package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/engine"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/eventtime"
	"github.com/motifcep/motif/pattern"
)

// Source is the name under which the embedded log's offsets are committed.
const Source = "log"

// Defaults of Config fields left at zero.
const (
	DefaultCommitEvents   = 10000
	DefaultCommitInterval = 100 * time.Millisecond
	DefaultStateEvents    = 500_000
	DefaultStateInterval  = 10 * time.Second
	readBatch             = 1024
)

// Config configures a Pipeline.
type Config struct {
	Set   *pattern.Set
	Store *checkpoint.Store
	// Input is what the pipeline consumes; nil means the embedded log's
	// partition Partition.
	Input     Input
	Partition uint32
	// Name names the pipeline's own records in the store (its resume
	// record); default: the embedded log partition's number. Two pipelines
	// over one store need different names.
	Name string

	// IdleTimeout: with several partitions, one that has had no record for
	// this long, and none waiting to be read (Lagger), stops holding the
	// watermark back (0: never).
	IdleTimeout time.Duration
	// MaxBuffered bounds the events waiting in the sorter for the
	// watermark; beyond it, partitions ahead of the watermark are paused if
	// the input can (Pauser). Default DefaultMaxBuffered.
	MaxBuffered int
	// RecordTime takes an event's time from its record (Record.Time) when
	// the event has no time field.
	RecordTime bool
	// KeyField gives an event without that attribute the record's key
	// (Record.Key) as its value, so patterns can key by it.
	KeyField string
	// DeadLetters, if set, also receives every invalid or late record, and
	// is flushed before each commit (so a commit never covers a dead letter
	// it has not delivered).
	DeadLetters DeadLetterSink

	// A commit happens after CommitEvents events or CommitInterval,
	// whichever comes first (group commit).
	CommitEvents   int
	CommitInterval time.Duration

	// Key states are written to the store with a commit once StateEvents
	// events or StateInterval have passed since they last were, whichever
	// comes first, or when the cache is full; the commits in between carry
	// alerts, dead letters and how far the input is alerted, but no states
	// (with an input of one partition; with several, every commit carries
	// the states). A restart replays the input from the last commit with
	// states, without output up to where the alerts end (see takeover.go),
	// so these bound the replay. A hot key changed by many events is
	// written once per interval, not once per commit, and a key whose
	// partial matches begin and end within one is never written. What a
	// commit with states costs grows with the keys it writes and deletes,
	// not with the events since the last one: over many short-lived keys
	// it can cost more than matching the events in between (see
	// docs/state.md), which is why the default is half a million events,
	// a replay of a second or two. Zero: the defaults (DefaultStateEvents,
	// DefaultStateInterval); StateEvents < 0: with every commit.
	StateEvents   int
	StateInterval time.Duration

	// CheckpointInterval takes a checkpoint that often; zero takes none
	// (Checkpoint can still be called).
	CheckpointInterval time.Duration

	CacheBytes int64 // key states cached in memory (engine.DefaultCacheBytes)
	// MaxPartialMatches caps the partial matches of one key of one
	// pattern (nfa.DefaultMaxRuns); see engine.Config.
	MaxPartialMatches int
	OutOfOrderness    time.Duration
	DefaultWithin     time.Duration
	Decoder           event.DecoderOptions
	Version           func(name string) int
	// NewDecoder, if set, makes the decoder of record values (a protobuf or
	// Avro one, say) in place of the JSON decoder, for the engine's schema
	// and the Decoder options completed by the pipeline. It is called again
	// whenever a pattern change rebuilds the engine.
	NewDecoder func(schema *event.Schema, opts event.DecoderOptions) Decoder
	// Retiring lists replaced pattern versions still finishing their open
	// partial matches (see engine.Retiring). The pipeline drops each one
	// once the store holds no state of it, and reports it to OnRetired.
	Retiring []engine.Retiring
	// OnRetired, if set, is called on Run's goroutine when a retiring
	// version holds no partial match any more and has been dropped.
	OnRetired func(name string, version int)

	// StopAtEnd ends Run at the end of the log as if the input ended: every
	// window closes, the last alerts are committed. For finite inputs
	// (tests, backfills); a server leaves it off and waits for more.
	StopAtEnd bool

	// QuietUntil, with an input of one partition, replays the records
	// below this offset without output: their alerts are dropped and their
	// dead letters kept only in the store, and the first commit is made
	// exactly at it. A node taking a partition over from another rebuilds
	// its state this way from records whose alerts the other already
	// delivered (see takeover.go). Zero: none.
	QuietUntil uint64
	// AlertMarks records, with each commit that appends alerts, the input
	// offsets the commit started from (checkpoint.Batch.PutAlertMark, read
	// with DecodeMark), so the alert sink can say where the input stood for
	// the alerts it delivered.
	AlertMarks bool

	// OnCommit, if set, is called on Run's goroutine after every commit,
	// once it is durable, with the counters as of the commit.
	OnCommit func(Stats)

	// Hold, if set, is asked before each read of the input: while it
	// returns true the pipeline reads nothing (and pauses fetching if the
	// input can), so a consumer further down that falls behind, such as an
	// alert sink whose broker is slow, holds the input back rather than
	// letting work pile up. Records wait in the input meanwhile. It is
	// called on Run's goroutine and must be cheap.
	Hold func() bool

	Logger *slog.Logger
	Now    func() time.Time
}

// Stats counts what the pipeline did; read it with Pipeline.Stats.
type Stats struct {
	Events, Invalid, Late, Alerts, DuplicateAlerts uint64
	// Quieted counts the alerts of records replayed below
	// Config.QuietUntil, dropped.
	Quieted                         uint64
	Commits, CommitFailures         uint64
	StateCommits                    uint64 // commits that carried the key states
	Checkpoints, CheckpointFailures uint64
	Offset                          uint64 // next offset to read of the first partition
	Watermark                       int64  // of the engine, at the last commit
	// Per input partition.
	Partitions []PartitionStats
	CacheBytes int64 // key states cached in memory
	// Busy is the time Run spent working rather than waiting for input,
	// since the pipeline started: its rate is the share of one core that
	// matching takes (near 1: it cannot keep up).
	Busy time.Duration
	// Held says Config.Hold holds the input back now; HeldTime is how long
	// it did since the pipeline started.
	Held     bool
	HeldTime time.Duration
	// Per pattern version run now, since the pipeline started.
	Patterns []engine.PatternStats
}

// PartitionStats is one input partition as the pipeline sees it.
type PartitionStats struct {
	Partition
	Offset    uint64 // next offset to read
	MaxTime   int64  // largest event time read (math.MinInt64 before any)
	Watermark int64  // the partition's own watermark: MaxTime - out-of-orderness
	Idle      bool   // not holding the combined watermark back
	Paused    bool   // fetching paused: the partition is ahead
	Lag       int64  // records behind the partition's end; -1 unknown
}

// Decoder turns a record's value into an event: its type, time and id
// (ev.Type, ev.Time, ev.ID) and the attributes the patterns use, in the
// schema's slots (ev.Fields). An error makes the record a dead letter with
// the error's text as the reason; Decode must not keep value. event.Decoder
// (JSON) is the default.
type Decoder interface {
	Decode(value []byte, ev *event.Event) error
}

// DeadLetterSink receives invalid and late records beside the store.
type DeadLetterSink interface {
	Add(p Partition, offset uint64, reason string, key, value []byte)
	// Flush returns once every record added is delivered.
	Flush(ctx context.Context) error
}

// DefaultMaxBuffered is the default of Config.MaxBuffered.
const DefaultMaxBuffered = 100_000

// Pipeline is the matching of one input, durable in a Store.
type Pipeline struct {
	cfg   Config
	eng   *engine.Engine
	dec   Decoder
	store *checkpoint.Store

	in         Input
	parts      []Partition
	next       []uint64              // per partition: next offset to read
	markFrom   []uint64              // per partition: next offset at the last commit
	quiet      bool                  // replaying below quietUntil
	quietUntil uint64                // Config.QuietUntil, or where the alerts end
	sinceState int                   // events since the key states were written
	lastState  time.Time             // when the key states were last written
	stateStale bool                  // a commit since then carried no states
	hasOffset  []bool                // per partition: the store has its offset
	commitWM   int64                 // the engine's watermark at the last commit
	wms        *eventtime.Watermarks // per partition: event time, idleness
	paused     []bool                // per partition
	cur        curRecord             // the record being processed
	keySlot    int                   // Config.KeyField's slot, or -1
	ctx        context.Context       // Run's
	pending    []*alert.Alert
	dead       []deadLetter
	uncommit   int
	lastCommt  time.Time
	lastCkpt   time.Time
	stats      Stats
	statsCopy  atomic.Pointer[Stats]
	flight     *inflight                     // the commit being applied, if any
	apply      func(*checkpoint.Batch) error // applies a commit's batch (applyBatch)
	fetch      *fetcher                      // reads the embedded log ahead, if it is the input
	events     eventPool                     // events the engine is done with
	buf        []byte

	ckpt       chan ckptReq
	swap       chan swapReq
	closed     bool                                   // the engine's input ended (StopAtEnd)
	patBase    map[patternVersion]engine.PatternStats // counters of engines built before this one
	started    time.Time                              // when Run started
	waited     time.Duration                          // Run's time waiting for input or held
	held       time.Duration                          // Run's time held by Config.Hold
	holding    bool                                   // Config.Hold holds the input now
	ckptWG     sync.WaitGroup
	ckptTaken  atomic.Uint64
	ckptFailed atomic.Uint64
}

type deadLetter struct {
	part   int
	offset uint64
	reason string
	record []byte
}

type curRecord struct {
	i   int
	off uint64
	rec Record
}

// New restores the pipeline's engine from the store: the schema of its
// stored events, the sorter's pending events and the offset to
// resume at. Key states are read lazily as keys are seen.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Store == nil || cfg.Set == nil {
		return nil, errors.New("pipeline: a pattern set and a store are required")
	}
	if cfg.CommitEvents <= 0 {
		cfg.CommitEvents = DefaultCommitEvents
	}
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = DefaultCommitInterval
	}
	if cfg.StateEvents == 0 {
		cfg.StateEvents = DefaultStateEvents
	}
	if cfg.StateInterval <= 0 {
		cfg.StateInterval = DefaultStateInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBuffered <= 0 {
		cfg.MaxBuffered = DefaultMaxBuffered
	}
	if cfg.Input == nil {
		cfg.Input = LogInput(cfg.Store, cfg.Partition)
	}
	if cfg.Name == "" {
		cfg.Name = strconv.FormatUint(uint64(cfg.Partition), 10)
	}
	p := &Pipeline{cfg: cfg, store: cfg.Store, ckpt: make(chan ckptReq), swap: make(chan swapReq), in: cfg.Input, apply: applyBatch}
	p.parts = cfg.Input.Partitions()
	if len(p.parts) == 0 {
		return nil, errors.New("pipeline: the input has no partitions")
	}
	p.next = make([]uint64, len(p.parts))
	p.paused = make([]bool, len(p.parts))
	p.hasOffset = make([]bool, len(p.parts))
	idle := cfg.IdleTimeout
	if len(p.parts) == 1 {
		idle = 0 // one partition is never held back by another
	}
	p.wms = eventtime.NewWatermarks(len(p.parts), cfg.OutOfOrderness, idle, cfg.Now)
	if err := p.build(); err != nil {
		return nil, err
	}
	if err := p.startQuiet(); err != nil {
		return nil, err
	}
	p.lastCommt, p.lastCkpt, p.lastState = cfg.Now(), cfg.Now(), cfg.Now()
	p.publishStats()
	return p, nil
}

// build makes the engine of the configured patterns from the last commit:
// the schema of its stored events, the sorter's pending events and the
// offset to resume at. Key states, and the timers of keys not cached, are
// read from the store as they are needed.
func (p *Pipeline) build() error {
	rs, err := p.readResume()
	if err != nil {
		return err
	}
	totals, err := p.readTotals()
	if err != nil {
		return err
	}
	empty := true
	if err := p.store.AllStates(func(string, uint32, []byte, []byte) bool { empty = false; return false }); err != nil {
		return err
	}
	cfg := p.cfg
	if p.eng != nil {
		if p.patBase == nil {
			p.patBase = map[patternVersion]engine.PatternStats{}
		}
		for _, s := range p.publishedPatterns() {
			p.patBase[patternVersion{s.Name, s.Version}] = s
		}
	}
	p.eng, err = engine.New(cfg.Set, engine.Config{
		StoreEmpty:        empty,
		OutOfOrderness:    cfg.OutOfOrderness,
		DefaultWithin:     cfg.DefaultWithin,
		Version:           cfg.Version,
		Retiring:          cfg.Retiring,
		Now:               cfg.Now,
		Logger:            cfg.Logger,
		Store:             (*landedStore)(p),
		Recycle:           p.events.put,
		CacheBytes:        cfg.CacheBytes,
		MaxPartialMatches: cfg.MaxPartialMatches,
		Schema:            rs.schema,
		Totals:            totals,
		// Several partitions: the watermark is their combined one.
		ExternalWatermark: p.external(),
	}, (*sink)(p))
	if err != nil {
		return err
	}
	p.events.setSlots(p.eng.Schema().Len())
	if err := p.restore(rs); err != nil {
		return err
	}
	p.dec = p.newDecoder(func() int64 { return p.cur.rec.Time })
	if p.fetch != nil {
		p.startFetch(p.next[0])
	}
	p.keySlot = -1
	if cfg.KeyField != "" {
		if slot, ok := p.eng.Schema().Lookup(cfg.KeyField); ok {
			p.keySlot = slot
		}
	}
	p.commitWM = p.eng.Watermark()
	return nil
}

// newDecoder makes a decoder for the engine's schema; recordTime gives the
// time of the record being decoded, for Config.RecordTime.
func (p *Pipeline) newDecoder(recordTime func() int64) Decoder {
	opts := p.cfg.Decoder
	opts.RequireTime = !p.cfg.RecordTime
	if p.cfg.RecordTime {
		opts.Now = recordTime
	}
	if p.cfg.NewDecoder != nil {
		return p.cfg.NewDecoder(p.eng.Schema(), opts)
	}
	return event.NewDecoder(p.eng.Schema(), opts)
}

// startFetch (re)starts reading the embedded log ahead at offset from,
// decoding for the engine built last, if the input is one partition of
// the embedded log.
func (p *Pipeline) startFetch(from uint64) {
	p.stopFetch()
	in, ok := p.in.(*logInput)
	if !ok || len(in.parts) != 1 {
		return
	}
	// The log's records have no time of their own (Record.Time).
	dec := p.newDecoder(func() int64 { return 0 })
	p.fetch = startFetcher(p.store, in.parts[0].Partition, from, dec, p.eng.Validate, &p.events)
}

// stopFetch stops reading ahead, dropping what was read.
func (p *Pipeline) stopFetch() {
	if p.fetch != nil {
		p.fetch.close()
		p.fetch = nil
	}
}

// Engine returns the pipeline's engine (for its statistics).
func (p *Pipeline) Engine() *engine.Engine { return p.eng }

// Stats returns a snapshot of the counters; safe from any goroutine.
func (p *Pipeline) Stats() Stats {
	s := *p.statsCopy.Load()
	s.Checkpoints, s.CheckpointFailures = p.ckptTaken.Load(), p.ckptFailed.Load()
	return s
}

// publishedPatterns is the per-pattern counters of the last publishStats.
func (p *Pipeline) publishedPatterns() []engine.PatternStats {
	if s := p.statsCopy.Load(); s != nil {
		return s.Patterns
	}
	return nil
}

func (p *Pipeline) publishStats() {
	s := p.snapshot()
	p.statsCopy.Store(&s)
}

// snapshot is the counters and the engine's figures now.
func (p *Pipeline) snapshot() Stats {
	s := p.stats
	s.Offset = p.next[0]
	s.Partitions = make([]PartitionStats, len(p.parts))
	var lags []int64
	if l, ok := p.in.(Lagger); ok {
		lags = l.Lag()
	}
	for i, pt := range p.parts {
		ps := PartitionStats{Partition: pt, Offset: p.next[i], MaxTime: p.wms.MaxSeen(i), Watermark: p.wms.Watermark(i),
			Idle: p.wms.Idle(i), Paused: p.paused[i], Lag: -1}
		if i < len(lags) {
			ps.Lag = lags[i]
		}
		s.Partitions[i] = ps
	}
	if !p.started.IsZero() {
		s.Busy = max(0, p.cfg.Now().Sub(p.started)-p.waited)
	}
	s.Held, s.HeldTime = p.holding, p.held
	s.Watermark = p.eng.Watermark()
	s.CacheBytes, _, _ = p.eng.CacheStats()
	s.Patterns = p.eng.PatternStats()
	for i := range s.Patterns {
		ps := &s.Patterns[i]
		if b, ok := p.patBase[patternVersion{ps.Name, ps.Version}]; ok {
			ps.Alerts += b.Alerts
			ps.Suppressed += b.Suppressed
			ps.Timeouts += b.Timeouts
			ps.CapDropped += b.CapDropped
		}
	}
	return s
}

// Run consumes the partition until ctx is done (committing what it has) or,
// with StopAtEnd, until the end of the log. A failed commit ends Run with
// its error: the owner restarts the pipeline, which resumes at the last
// commit.
func (p *Pipeline) Run(ctx context.Context) error {
	defer p.ckptWG.Wait()
	defer p.land() // a commit in flight when Run fails ends before Run
	p.started = p.cfg.Now()
	p.ctx = ctx
	from := make([]*uint64, len(p.parts))
	for i := range p.parts {
		if p.hasOffset[i] {
			from[i] = &p.next[i]
		}
	}
	if err := p.in.Open(ctx, from); err != nil {
		return fmt.Errorf("pipeline: opening the input: %w", err)
	}
	defer p.in.Close()
	if in, ok := p.in.(*logInput); ok && len(in.next) == 1 {
		p.startFetch(in.next[0])
		defer p.stopFetch()
	}
	idle := time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return p.commitStates()
		}
		if _, err := p.control(ctx, ready); err != nil {
			return err
		}
		if held, err := p.hold(ctx); err != nil {
			return err
		} else if held {
			continue
		}
		n, err := p.readSome()
		if err != nil {
			return err
		}
		if err := p.advance(); err != nil {
			return err
		}
		if err := p.endQuiet(); err != nil {
			return err
		}
		if err := p.settle(false); err != nil {
			return err
		}
		if p.uncommit >= p.cfg.CommitEvents || p.cfg.Now().Sub(p.lastCommt) >= p.cfg.CommitInterval {
			if err := p.commit(); err != nil {
				return err
			}
		}
		if ci := p.cfg.CheckpointInterval; ci > 0 && p.cfg.Now().Sub(p.lastCkpt) >= ci {
			p.lastCkpt = p.cfg.Now()
			// Counted and logged if it fails; processing goes on.
			if err := p.startCheckpoint(ctx, ckptReq{reply: make(chan ckptResult, 1)}); err != nil {
				return err
			}
		}
		if n > 0 {
			idle = time.Millisecond
			continue
		}
		if p.cfg.StopAtEnd {
			p.eng.Close()
			p.closed = true
			return p.commitStates()
		}
		// Nothing to read: commit what is left, including what a watermark
		// moved by idleness changed, and let it land.
		if err := p.commit(); err != nil {
			return err
		}
		if err := p.settle(true); err != nil {
			return err
		}
		waitFrom := p.cfg.Now()
		timedOut, err := p.control(ctx, time.After(idle))
		p.waited += p.cfg.Now().Sub(waitFrom)
		if err != nil {
			return err
		}
		if timedOut {
			idle = min(2*idle, 50*time.Millisecond)
		}
	}
}

// holdPoll is how often a held pipeline asks Config.Hold again.
const holdPoll = 20 * time.Millisecond

// hold waits a while if Config.Hold holds the input, and reports whether it
// did. Entering the hold commits what is pending (so whatever waits
// downstream sees it) and pauses every partition; leaving it marks the
// partitions active again, so the time held does not count as idleness
// (their records waited in the input, unseen).
func (p *Pipeline) hold(ctx context.Context) (bool, error) {
	if p.cfg.Hold == nil {
		return false, nil
	}
	if !p.cfg.Hold() {
		if p.holding {
			p.holding = false
			for i := range p.parts {
				p.wms.Active(i) // the paused ones resume in advance
			}
			p.publishStats()
		}
		return false, nil
	}
	if !p.holding {
		p.holding = true
		if err := p.commit(); err != nil {
			return true, err
		}
		if err := p.settle(true); err != nil {
			return true, err
		}
		if pauser, ok := p.in.(Pauser); ok {
			for i := range p.parts {
				if !p.paused[i] {
					pauser.Pause(i)
					p.paused[i] = true
				}
			}
		}
	}
	p.publishStats()
	from := p.cfg.Now()
	_, err := p.control(ctx, time.After(holdPoll))
	d := p.cfg.Now().Sub(from)
	p.waited += d
	p.held += d
	return true, err
}

// ready is a channel that is always ready: control with it does not wait.
var ready = func() <-chan time.Time {
	c := make(chan time.Time)
	close(c)
	return c
}()

// control serves a checkpoint or pattern change request if one comes
// before wait is ready (or ctx is done), and reports whether wait was.
func (p *Pipeline) control(ctx context.Context, wait <-chan time.Time) (timedOut bool, err error) {
	select {
	case req := <-p.ckpt:
		return false, p.startCheckpoint(ctx, req)
	case req := <-p.swap:
		return false, p.swapPatterns(req)
	case <-ctx.Done():
		return false, nil
	case <-wait:
		return true, nil
	}
}

// readSome reads and processes the next records of the input.
func (p *Pipeline) readSome() (int, error) {
	var perr error
	limit := max(1, min(readBatch, p.cfg.CommitEvents-p.uncommit))
	if p.quiet {
		limit = int(min(uint64(limit), p.quietUntil-p.next[0]))
	}
	if p.fetch != nil {
		return p.readFetched(limit)
	}
	n, err := p.in.Read(limit, func(i int, off uint64, rec Record) bool {
		perr = p.process(i, off, rec)
		p.cur = curRecord{} // keeps no input buffer alive
		if perr != nil {
			return false
		}
		p.next[i] = off + 1
		return true
	})
	if perr != nil {
		return n, perr
	}
	if err != nil {
		return n, fmt.Errorf("pipeline: reading the input: %w", err)
	}
	return n, nil
}

// advance moves a combined watermark (several partitions), which idle
// partitions move even without records, and pauses the partitions ahead
// of it while the sorter holds too much.
func (p *Pipeline) advance() error {
	if !p.external() {
		return nil
	}
	if l, ok := p.in.(Lagger); ok {
		// A partition with records still to read is behind, not idle.
		for i, lag := range l.Lag() {
			if lag > 0 && i < len(p.parts) {
				p.wms.Active(i)
			}
		}
	}
	if err := p.eng.AdvanceWatermark(p.wms.Current()); err != nil {
		return err
	}
	pauser, ok := p.in.(Pauser)
	if !ok {
		return nil
	}
	wm, full := p.eng.Watermark(), p.eng.Buffered() >= p.cfg.MaxBuffered
	for i := range p.parts {
		// A partition is ahead when its own watermark is past the combined
		// one: its events wait in the sorter for the others.
		ahead := p.wms.Watermark(i) > wm
		switch {
		case full && ahead && !p.paused[i]:
			pauser.Pause(i)
			p.paused[i] = true
		case p.paused[i] && (!ahead || p.eng.Buffered() < p.cfg.MaxBuffered/2):
			pauser.Resume(i)
			p.paused[i] = false
		}
	}
	return nil
}

// external says the engine's watermark is the partitions' combined one,
// moved by the pipeline; with one partition the engine's sorter keeps it.
func (p *Pipeline) external() bool { return len(p.parts) > 1 }

// seq orders events of equal time: by offset, then partition, the same in
// every run whatever the interleaving of partitions.
func (p *Pipeline) seq(i int, off uint64) uint64 {
	return off*uint64(len(p.parts)) + uint64(i)
}

// readFetched matches up to limit records read ahead (fetcher). It waits
// for the fetcher only while it has matched none.
func (p *Pipeline) readFetched(limit int) (int, error) {
	f := p.fetch
	n := 0
	for n < limit && (n == 0 || f.ahead()) {
		b, err := f.next()
		if err != nil {
			return n, fmt.Errorf("pipeline: reading the input: %w", err)
		}
		if b == nil {
			break // the end of the log
		}
		r := b.recs[f.pos]
		err = p.match(0, r.off, Record{Value: b.data[r.start:r.end]}, r.ev, r.err, r.valid)
		p.cur = curRecord{}
		f.advance() // the batch may go back to the fetcher
		if err != nil {
			return n, err
		}
		p.next[0] = r.off + 1
		n++
	}
	return n, nil
}

func (p *Pipeline) process(i int, off uint64, rec Record) error {
	ev := p.events.get()
	return p.match(i, off, rec, ev, p.dec.Decode(rec.Value, ev), false)
}

// match matches the record at offset off of partition i, decoded into ev
// (decodeErr: it could not be). valid says the engine validated ev as
// decoded (the fetcher does): unless the record's key fills in a field
// below, it is pushed without a second check.
func (p *Pipeline) match(i int, off uint64, rec Record, ev *event.Event, decodeErr error, valid bool) error {
	p.uncommit++
	p.cur = curRecord{i, off, rec}
	if decodeErr != nil {
		p.eng.Release(ev)
		p.deadLetter(decodeErr.Error())
		return nil
	}
	if p.cfg.RecordTime && ev.Time == 0 && rec.Time == 0 {
		p.eng.Release(ev)
		p.deadLetter("no event time: neither a time field nor a record timestamp")
		return nil
	}
	if p.keySlot >= 0 && p.keySlot < len(ev.Fields) && rec.Key != nil && ev.Fields[p.keySlot].IsNull() {
		ev.Fields[p.keySlot] = event.StringValue(string(rec.Key))
		valid = false // validated without it
	}
	if ev.ID == "" {
		ev.ID = p.defaultID(i, off)
	}
	ev.Seq = p.seq(i, off)
	p.wms.Observe(i, ev.Time)
	var err error
	if valid {
		err = p.eng.PushValid(ev)
	} else {
		err = p.eng.Push(ev) // an invalid event is counted and refused there
	}
	if err != nil {
		if errors.Is(err, engine.ErrStore) {
			return err
		}
		p.deadLetter(err.Error())
		return nil
	}
	p.stats.Events++
	return nil
}

// defaultID is the id of an event without one: its position in the input.
func (p *Pipeline) defaultID(i int, off uint64) string {
	if len(p.parts) == 1 && p.parts[0].Source == Source {
		return strconv.FormatUint(off, 10)
	}
	pt := p.parts[i]
	return pt.Source + "/" + strconv.FormatUint(uint64(pt.Partition), 10) + "/" + strconv.FormatUint(off, 10)
}

// deadLetter keeps the record being processed as a dead letter.
func (p *Pipeline) deadLetter(reason string) {
	p.stats.Invalid++
	p.keepDead(reason)
}

func (p *Pipeline) keepDead(reason string) {
	c := p.cur
	p.dead = append(p.dead, deadLetter{c.i, c.off, reason, bytes.Clone(c.rec.Value)})
	if d := p.cfg.DeadLetters; d != nil && !p.quiet {
		d.Add(p.parts[c.i], c.off, reason, c.rec.Key, c.rec.Value)
	}
}

// sink receives the engine's alerts and late events.
type sink Pipeline

func (s *sink) Alert(a *alert.Alert) {
	if s.quiet {
		s.stats.Quieted++
		return
	}
	s.pending = append(s.pending, a)
}

// Late is called while the late event's record is processed (p.cur).
func (s *sink) Late(e *event.Event, watermark int64) {
	s.stats.Late++
	(*Pipeline)(s).keepDead(fmt.Sprintf("late: time %s is before the watermark %s", fmtTime(e.Time), fmtTime(watermark)))
}

func fmtTime(ns int64) string {
	switch ns {
	case math.MinInt64:
		return "-inf"
	case math.MaxInt64:
		return "+inf"
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}
