package pipeline

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/engine"
)

// resumeKey names the meta record of a partition's pipeline.
func (p *Pipeline) resumeKey() string {
	return "pipeline/" + p.cfg.Name
}

// resume is what a commit records beside states, alerts and offsets: the
// engine's schema (stored events are decoded by slot), the largest event
// time seen (the watermark resumes from it) and the events waiting in the
// sorter, which are past the committed offset.
type resume struct {
	schema  []string
	maxSeen int64
	pending []byte
}

func (p *Pipeline) readResume() (resume, error) {
	rs := resume{maxSeen: math.MinInt64}
	b, ok, err := p.store.GetMeta(p.resumeKey())
	if err != nil || !ok {
		return rs, err
	}
	bad := func(what string) (resume, error) {
		return rs, fmt.Errorf("pipeline: corrupt resume record %s: %s", p.resumeKey(), what)
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return bad("schema length")
	}
	b = b[k:]
	for range n {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return bad("schema path")
		}
		rs.schema = append(rs.schema, string(b[k:k+int(l)]))
		b = b[k+int(l):]
	}
	ms, k := binary.Varint(b)
	if k <= 0 {
		return bad("max event time")
	}
	rs.maxSeen, rs.pending = ms, b[k:]
	return rs, nil
}

func (p *Pipeline) appendResume(b []byte) []byte {
	paths := p.eng.Schema().Paths()
	b = binary.AppendUvarint(b, uint64(len(paths)))
	for _, s := range paths {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, p.eng.MaxEventTime())
	return p.eng.AppendPending(b)
}

// timesKey names the meta record of the partitions' largest event times
// and the combined watermark, which a pipeline over several partitions
// resumes from.
func (p *Pipeline) timesKey() string { return p.resumeKey() + "/times" }

func (p *Pipeline) appendTimes(b []byte) []byte {
	b = binary.AppendVarint(b, p.eng.Watermark())
	b = binary.AppendUvarint(b, uint64(len(p.parts)))
	for i, pt := range p.parts {
		b = binary.AppendUvarint(b, uint64(len(pt.Source)))
		b = append(b, pt.Source...)
		b = binary.AppendUvarint(b, uint64(pt.Partition))
		b = binary.AppendVarint(b, p.wms.MaxSeen(i))
	}
	return b
}

// restoreTimes reads the record of appendTimes back.
func (p *Pipeline) restoreTimes() error {
	b, ok, err := p.store.GetMeta(p.timesKey())
	if err != nil || !ok {
		return err
	}
	bad := func(what string) error {
		return fmt.Errorf("pipeline: corrupt record %s: %s", p.timesKey(), what)
	}
	wm, k := binary.Varint(b)
	if k <= 0 {
		return bad("watermark")
	}
	b = b[k:]
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return bad("count")
	}
	b = b[k:]
	at := map[Partition]int{}
	for i, pt := range p.parts {
		at[pt] = i
	}
	for range n {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return bad("source")
		}
		src := string(b[k : k+int(l)])
		b = b[k+int(l):]
		part, k := binary.Uvarint(b)
		if k <= 0 {
			return bad("partition")
		}
		b = b[k:]
		t, k := binary.Varint(b)
		if k <= 0 {
			return bad("time")
		}
		b = b[k:]
		if i, ok := at[Partition{src, uint32(part)}]; ok {
			p.wms.Restore(i, t, wm)
		}
	}
	if p.external() {
		return p.eng.AdvanceWatermark(wm)
	}
	return nil
}

// totalsKey names the meta record of the totals of the partition's stored
// states (engine.StateTotals), written with every commit.
func (p *Pipeline) totalsKey() string { return p.resumeKey() + "/totals" }

// readTotals reads the totals of the last commit; a store written before
// they were kept, or before they counted the stored states, has its states
// counted once.
func (p *Pipeline) readTotals() ([]engine.StateTotals, error) {
	var out []engine.StateTotals
	b, ok, err := p.store.GetMeta(p.totalsKey())
	if err != nil {
		return nil, err
	}
	if ok {
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, fmt.Errorf("pipeline: corrupt totals record %s: %v", p.totalsKey(), err)
		}
		if !slices.ContainsFunc(out, func(t engine.StateTotals) bool { return !t.StatesCounted }) {
			return out, nil
		}
		out = nil
	}
	at := map[patternVersion]int{}
	err = p.store.AllStates(func(pattern string, version uint32, _, state []byte) bool {
		var c engine.StateTotals
		c, err = engine.CountState(state)
		if err != nil {
			err = fmt.Errorf("pipeline: counting the stored states of %s v%d: %w", pattern, version, err)
			return false
		}
		pv := patternVersion{pattern, int(version)}
		i, ok := at[pv]
		if !ok {
			i = len(out)
			at[pv] = i
			out = append(out, engine.StateTotals{Name: pattern, Version: int(version), StatesCounted: true})
		}
		out[i].PartialMatches += c.PartialMatches
		out[i].StateBytes += c.StateBytes
		out[i].States += c.States
		return true
	})
	return out, err
}

// restore puts the engine back where the last commit left it.
func (p *Pipeline) restore(rs resume) error {
	offs, err := p.store.Offsets()
	if err != nil {
		return err
	}
	for i, pt := range p.parts {
		p.next[i], p.hasOffset[i] = offs[pt.Source][pt.Partition]
	}
	if err := p.restoreTimes(); err != nil {
		return err
	}
	if rs.pending != nil {
		if err := p.eng.RestorePending(rs.pending, rs.maxSeen); err != nil {
			return err
		}
	}
	// Timers are not read back: the engine reads the store's timer index
	// as the watermark reaches them.
	return nil
}

// commit writes everything since the last commit in one batch: new
// alerts, dead letters, and where the input's alerts end; with the key
// states when they are due (see Config.StateEvents): changed states and
// timers, the next offsets and the resume record. The batch is applied and
// synced on another goroutine while matching goes on (see inflight).
func (p *Pipeline) commit() error { return p.commitAs(p.statesDue()) }

// commitStates commits with the key states and waits until the commit is
// durable, so that the store alone is the pipeline's state (a checkpoint, a
// pattern change, a stop).
func (p *Pipeline) commitStates() error {
	if err := p.commitAs(true); err != nil {
		return err
	}
	return p.settle(true)
}

// statesDue says whether the next commit carries the key states.
func (p *Pipeline) statesDue() bool {
	if p.cfg.StateEvents < 0 || len(p.parts) != 1 || p.closed {
		return true
	}
	if p.sinceState+p.uncommit >= p.cfg.StateEvents || p.cfg.Now().Sub(p.lastState) >= p.cfg.StateInterval {
		return true
	}
	limit := p.cfg.CacheBytes
	if limit <= 0 {
		limit = engine.DefaultCacheBytes
	}
	cached, _, _ := p.eng.CacheStats()
	// Only a commit with states lets the cache evict; and the states it
	// writes are encoded into its batch, memory beside the cache until it
	// is applied. So states are written before the cache, the batch they
	// would make and the batch still in flight outgrow the cache's bound
	// together (or the changes alone a quarter of it).
	var flying int64
	if fl := p.flight; fl != nil && !fl.landed {
		flying = fl.bytes
	}
	dirty := p.eng.DirtyBytes()
	return cached+dirty+flying > limit || dirty > limit/4
}

// inflight is a commit handed to its own goroutine: the batch is applied
// and synced while matching goes on. One commit is in flight at a time:
// the next one is built only once it is durable (settle), so commits land
// in order, a failed one is followed by none, and every store read sees
// the commits before it (the engine's reads wait for it: landedStore).
// What a commit makes visible (alerts to subscribers, OnCommit, the
// published Stats) happens only once it is durable.
type inflight struct {
	done   chan error // receives the commit's result
	landed bool       // done was received into err
	err    error
	states bool
	bytes  int64    // the batch's size, Go memory until it lands
	stats  Stats    // to publish once it is durable
	next   []uint64 // the input offsets it commits
}

func (p *Pipeline) commitAs(states bool) error {
	if err := p.settle(true); err != nil {
		return err
	}
	if p.uncommit == 0 && len(p.pending) == 0 && len(p.dead) == 0 && p.eng.Watermark() == p.commitWM && (!states || !p.stateStale) {
		return nil
	}
	b := p.store.NewBatch()
	launched := false
	defer func() {
		if !launched {
			b.Close()
		}
	}()
	if err := p.fill(b, states); err != nil {
		p.stats.CommitFailures++
		return err
	}
	clear(p.pending)
	p.pending = p.pending[:0]
	clear(p.dead)
	p.dead = p.dead[:0]
	p.sinceState += p.uncommit
	p.uncommit = 0
	p.commitWM = p.eng.Watermark()
	copy(p.markFrom, p.next)
	p.lastCommt = p.cfg.Now()
	if states {
		p.sinceState, p.lastState, p.stateStale = 0, p.lastCommt, false
	} else {
		p.stateStale = true
	}
	fl := &inflight{done: make(chan error, 1), states: states, bytes: int64(b.Len()), stats: p.snapshot(), next: slices.Clone(p.next)}
	fl.stats.Commits++
	if states {
		fl.stats.StateCommits++
	}
	p.flight = fl
	launched = true
	go func() { fl.done <- p.apply(b) }()
	if states && (len(p.cfg.Retiring) > 0 || p.closed) {
		// Retiring versions are dropped right after the commit, from a
		// store that holds every state (retire).
		return p.settle(true)
	}
	return nil
}

// fill writes the commit into b.
func (p *Pipeline) fill(b *checkpoint.Batch, states bool) error {
	if states {
		if _, err := p.eng.Flush(b); err != nil {
			return err
		}
	}
	var firstAlert uint64
	for _, a := range p.pending {
		if _, seen, err := p.store.AlertSeen(a.ID); err != nil {
			return err
		} else if seen {
			p.stats.DuplicateAlerts++
			continue
		}
		p.buf = a.AppendJSON(p.buf[:0])
		if seq := b.AppendAlert(a.ID, a.End, p.buf); firstAlert == 0 {
			firstAlert = seq
		}
		p.stats.Alerts++
	}
	p.markAlerts(b, firstAlert)
	if d := p.cfg.DeadLetters; d != nil && len(p.dead) > 0 {
		ctx := p.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		if err := d.Flush(ctx); err != nil {
			return fmt.Errorf("pipeline: delivering dead letters: %w", err)
		}
	}
	for _, d := range p.dead {
		pt := p.parts[d.part]
		b.PutDeadLetter(pt.Source, pt.Partition, d.offset, d.reason, d.record)
	}
	if len(p.parts) == 1 && !p.quiet {
		// Replayed records below it alert nothing (startQuiet).
		b.PutMeta(p.alertedKey(), binary.AppendUvarint(nil, p.next[0]))
	}
	if states {
		for i, pt := range p.parts {
			b.PutOffset(pt.Source, pt.Partition, p.next[i])
		}
		b.PutMeta(p.timesKey(), p.appendTimes(nil))
		p.buf = p.appendResume(p.buf[:0])
		b.PutMeta(p.resumeKey(), p.buf)
		totals, err := json.Marshal(p.eng.StateTotals())
		if err != nil {
			return err
		}
		b.PutMeta(p.totalsKey(), totals)
	}
	return b.Err()
}

// applyBatch commits a batch durably: Pipeline.apply, which tests replace.
func applyBatch(b *checkpoint.Batch) error { return b.Commit(true) }

// land waits for the commit in flight, if any, to be durable or fail.
func (p *Pipeline) land() {
	if fl := p.flight; fl != nil && !fl.landed {
		fl.err = <-fl.done
		fl.landed = true
	}
}

// settle finishes the commit in flight once it is durable: it publishes
// its Stats, calls OnCommit and, after a commit with states, drops the
// retiring versions that hold no state. With wait it waits for the
// commit; without, it returns at once if the commit is not yet durable.
// A failed commit is returned: Run ends with it.
func (p *Pipeline) settle(wait bool) error {
	fl := p.flight
	if fl == nil {
		return nil
	}
	if !fl.landed {
		if !wait {
			select {
			case fl.err = <-fl.done:
				fl.landed = true
			default:
				return nil
			}
		}
		p.land()
	}
	p.flight = nil
	if fl.err != nil {
		p.stats.CommitFailures++
		p.publishStats()
		return fmt.Errorf("pipeline: commit at offsets %v: %w", fl.next, fl.err)
	}
	p.stats.Commits++
	if fl.states {
		p.stats.StateCommits++
	}
	p.statsCopy.Store(&fl.stats)
	if p.cfg.OnCommit != nil {
		p.cfg.OnCommit(p.Stats())
	}
	if !fl.states {
		return nil
	}
	return p.retire() // reads the store's states
}

// landedStore is the store as the engine reads it: every read waits for
// the commit in flight, whose states the engine may have evicted already.
type landedStore Pipeline

func (s *landedStore) GetState(pattern string, version uint32, key []byte) ([]byte, bool, error) {
	(*Pipeline)(s).land()
	return s.store.GetState(pattern, version, key)
}

func (s *landedStore) Timers(upTo int64, fn func(at int64, pattern string, version uint32, key []byte) bool) error {
	(*Pipeline)(s).land()
	return s.store.Timers(upTo, fn)
}

// Checkpoint takes a checkpoint of the store (a savepoint if name is not
// empty) right after a commit, with the pattern versions in its metadata.
// Run must be running: it commits, then the checkpoint is taken on its own
// goroutine while processing goes on.
func (p *Pipeline) Checkpoint(ctx context.Context, name string) (checkpoint.Info, error) {
	req := ckptReq{name: name, reply: make(chan ckptResult, 1)}
	select {
	case p.ckpt <- req:
	case <-ctx.Done():
		return checkpoint.Info{}, ctx.Err()
	}
	select {
	case r := <-req.reply:
		return r.info, r.err
	case <-ctx.Done():
		return checkpoint.Info{}, ctx.Err()
	}
}

type ckptReq struct {
	name  string
	reply chan ckptResult
}

type ckptResult struct {
	info checkpoint.Info
	err  error
}

// startCheckpoint commits and takes the checkpoint on another goroutine.
func (p *Pipeline) startCheckpoint(ctx context.Context, req ckptReq) error {
	if err := p.commitStates(); err != nil {
		req.reply <- ckptResult{err: err}
		return err
	}
	meta := checkpoint.Meta{Patterns: map[string]uint32{}}
	for _, pt := range p.cfg.Set.Patterns {
		v := 1
		if p.cfg.Version != nil {
			v = p.cfg.Version(pt.Name.Name)
		}
		meta.Patterns[pt.Name.Name] = uint32(v)
	}
	p.ckptWG.Add(1)
	go func() {
		defer p.ckptWG.Done()
		var r ckptResult
		if req.name == "" {
			r.info, r.err = p.store.Checkpoint(ctx, meta)
		} else {
			r.info, r.err = p.store.Savepoint(ctx, req.name, meta)
		}
		refused := errors.Is(r.err, checkpoint.ErrExists) || errors.Is(r.err, checkpoint.ErrInvalid)
		if r.err != nil && !refused {
			p.ckptFailed.Add(1)
			p.cfg.Logger.Error("checkpoint failed", "name", req.name, "err", r.err)
		} else if r.err == nil {
			p.ckptTaken.Add(1)
		}
		req.reply <- r
	}()
	return nil
}
