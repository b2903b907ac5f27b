// Package pipeline runs patterns over a partition of the embedded event log
// durably: events are read from the log at the committed offset, decoded
// and validated (invalid ones kept as dead letters with their reasons),
// ordered by event time, matched by the engine with key states cached in
// memory over the store, and every commit writes the changed states and
// timers, the new alerts, the dead letters, the input offset and the
// sorter's pending events in one Pebble batch. After a crash the pipeline
// resumes at the last commit and produces exactly what an uninterrupted run
// would have: alert ids are deterministic and already committed ones are
// never appended twice.
package pipeline

import (
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
	"github.com/motifcep/motif/pattern"
)

// Source is the name under which the embedded log's offsets are committed.
const Source = "log"

// Defaults of Config fields left at zero.
const (
	DefaultCommitEvents   = 10000
	DefaultCommitInterval = 100 * time.Millisecond
	readBatch             = 1024
)

// Config configures a Pipeline.
type Config struct {
	Set       *pattern.Set
	Store     *checkpoint.Store
	Partition uint32 // the embedded log partition to consume

	// A commit happens after CommitEvents events or CommitInterval,
	// whichever comes first (group commit).
	CommitEvents   int
	CommitInterval time.Duration

	// CheckpointInterval takes a checkpoint that often; zero takes none
	// (Checkpoint can still be called).
	CheckpointInterval time.Duration

	CacheBytes     int64 // key states cached in memory (engine.DefaultCacheBytes)
	OutOfOrderness time.Duration
	DefaultWithin  time.Duration
	Decoder        event.DecoderOptions
	Version        func(name string) int
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

	// OnCommit, if set, is called on Run's goroutine after every commit.
	OnCommit func(Stats)

	Logger *slog.Logger
	Now    func() time.Time
}

// Stats counts what the pipeline did; read it with Pipeline.Stats.
type Stats struct {
	Events, Invalid, Late, Alerts, DuplicateAlerts uint64
	Commits, CommitFailures                        uint64
	Checkpoints, CheckpointFailures                uint64
	Offset                                         uint64 // next offset to read
	Watermark                                      int64  // of the engine, at the last commit
	CacheBytes                                     int64  // key states cached in memory
	// Busy is the time Run spent working rather than waiting for input,
	// since the pipeline started: its rate is the share of one core that
	// matching takes (near 1: it cannot keep up).
	Busy time.Duration
	// Per pattern version run now, since the pipeline started.
	Patterns []engine.PatternStats
}

// Pipeline is one partition's matching, durable in a Store.
type Pipeline struct {
	cfg   Config
	eng   *engine.Engine
	dec   *event.Decoder
	store *checkpoint.Store

	next      uint64 // next offset to read
	pending   []*alert.Alert
	dead      []deadLetter
	uncommit  int
	lastCommt time.Time
	lastCkpt  time.Time
	stats     Stats
	statsCopy atomic.Pointer[Stats]
	buf       []byte

	ckpt       chan ckptReq
	swap       chan swapReq
	closed     bool                                   // the engine's input ended (StopAtEnd)
	patBase    map[patternVersion]engine.PatternStats // counters of engines built before this one
	stale      []staleTimer                           // timers of patterns no longer run, deleted at the next commit
	started    time.Time                              // when Run started
	waited     time.Duration                          // Run's time waiting for input
	ckptWG     sync.WaitGroup
	ckptTaken  atomic.Uint64
	ckptFailed atomic.Uint64
}

type deadLetter struct {
	offset uint64
	reason string
	record []byte
}

// New restores the pipeline's engine from the store: the schema of its
// stored events, the sorter's pending events, the timers and the offset to
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
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Pipeline{cfg: cfg, store: cfg.Store, ckpt: make(chan ckptReq), swap: make(chan swapReq)}
	if err := p.build(); err != nil {
		return nil, err
	}
	p.lastCommt, p.lastCkpt = cfg.Now(), cfg.Now()
	p.publishStats()
	return p, nil
}

// build makes the engine of the configured patterns from the last commit:
// the schema of its stored events, the sorter's pending events, the timers
// and the offset to resume at. Key states are read lazily as keys are seen.
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
		StoreEmpty:     empty,
		OutOfOrderness: cfg.OutOfOrderness,
		DefaultWithin:  cfg.DefaultWithin,
		Version:        cfg.Version,
		Retiring:       cfg.Retiring,
		Now:            cfg.Now,
		Logger:         cfg.Logger,
		Store:          cfg.Store,
		CacheBytes:     cfg.CacheBytes,
		Schema:         rs.schema,
		Totals:         totals,
	}, (*sink)(p))
	if err != nil {
		return err
	}
	if err := p.restore(rs); err != nil {
		return err
	}
	opts := cfg.Decoder
	opts.RequireTime = true
	p.dec = event.NewDecoder(p.eng.Schema(), opts)
	return nil
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
	s := p.stats
	s.Offset = p.next
	if !p.started.IsZero() {
		s.Busy = max(0, p.cfg.Now().Sub(p.started)-p.waited)
	}
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
	p.statsCopy.Store(&s)
}

// Run consumes the partition until ctx is done (committing what it has) or,
// with StopAtEnd, until the end of the log. A failed commit ends Run with
// its error: the owner restarts the pipeline, which resumes at the last
// commit.
func (p *Pipeline) Run(ctx context.Context) error {
	defer p.ckptWG.Wait()
	p.started = p.cfg.Now()
	idle := time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return p.commit()
		}
		if _, err := p.control(ctx, ready); err != nil {
			return err
		}
		n, err := p.readSome()
		if err != nil {
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
			return p.commit()
		}
		if p.uncommit > 0 {
			if err := p.commit(); err != nil {
				return err
			}
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

// readSome reads and processes the next records of the log.
func (p *Pipeline) readSome() (int, error) {
	n := 0
	var perr error
	limit := max(1, min(readBatch, p.cfg.CommitEvents-p.uncommit))
	err := p.store.ReadLog(p.cfg.Partition, p.next, limit, func(off uint64, rec []byte) bool {
		perr = p.process(off, rec)
		p.next = off + 1
		n++
		return perr == nil
	})
	if err == nil {
		err = perr
	}
	return n, err
}

func (p *Pipeline) process(off uint64, rec []byte) error {
	p.uncommit++
	ev := p.eng.NewEvent()
	if err := p.dec.Decode(rec, ev); err != nil {
		p.eng.Release(ev)
		p.deadLetter(off, err.Error(), rec)
		return nil
	}
	if ev.ID == "" {
		ev.ID = strconv.FormatUint(off, 10)
	}
	ev.Seq = off
	if err := p.eng.Push(ev); err != nil {
		if errors.Is(err, engine.ErrStore) {
			return err
		}
		p.deadLetter(off, err.Error(), rec)
		return nil
	}
	p.stats.Events++
	return nil
}

func (p *Pipeline) deadLetter(off uint64, reason string, rec []byte) {
	p.stats.Invalid++
	p.dead = append(p.dead, deadLetter{off, reason, append([]byte(nil), rec...)})
}

// sink receives the engine's alerts and late events.
type sink Pipeline

func (s *sink) Alert(a *alert.Alert) { s.pending = append(s.pending, a) }

func (s *sink) Late(e *event.Event, watermark int64) {
	s.stats.Late++
	s.dead = append(s.dead, deadLetter{e.Seq, fmt.Sprintf("late: time %s is before the watermark %s",
		fmtTime(e.Time), fmtTime(watermark)), nil})
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
