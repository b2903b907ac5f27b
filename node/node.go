package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/pattern"
	"github.com/motifcep/motif/pipeline"
)

// Defaults of Config fields left at zero.
const (
	DefaultCheckpointInterval = 5 * time.Minute
	DefaultRetentionInterval  = time.Minute
	DefaultMaxEventBytes      = 1 << 20
	DefaultMaxBatchEvents     = 10000
)

// Config configures a Node. Only Dir is required.
type Config struct {
	Dir   string             // the data directory
	ID    string             // the node's name in status; default the host name
	Store checkpoint.Options // storage settings (retention, dedupe window)

	CacheBytes int64 // key states cached in memory (engine.DefaultCacheBytes)
	// MaxPartialMatches caps the partial matches of one key of one
	// pattern (nfa.DefaultMaxRuns); see engine.Config.
	MaxPartialMatches int
	OutOfOrderness    time.Duration // watermark = max event time - this
	DefaultWithin     time.Duration // window of patterns that give none (24h)
	Decoder           event.DecoderOptions

	CommitEvents       int           // see pipeline.Config
	CommitInterval     time.Duration // see pipeline.Config
	CheckpointInterval time.Duration // DefaultCheckpointInterval; negative: none
	RetentionInterval  time.Duration // how often retention runs (DefaultRetentionInterval)

	MaxEventBytes  int // an event larger than this is rejected (DefaultMaxEventBytes)
	MaxBatchEvents int // a publish of more events is refused (DefaultMaxBatchEvents)

	// Input, if set, is what the node matches (Kafka topics) instead of
	// its embedded log; Publish is then refused (ErrExternalInput).
	Input pipeline.Input
	// With an Input: see pipeline.Config.
	IdleTimeout time.Duration
	DeadLetters pipeline.DeadLetterSink
	KeyField    string
	// Hold, if set, holds matching's input back while it returns true
	// (see pipeline.Config.Hold): the server holds it while the alert sink
	// is too far behind.
	Hold func() bool

	// In a cluster (package cluster):
	//
	// Catalog, if set, is the catalog document (CatalogDoc) the node
	// matches from the start, in place of the one in its store.
	// CommitCatalog, if set, commits every catalog change (Apply, Delete)
	// before the node installs it: the cluster replicates it, and every
	// node installs it with InstallCatalog. QuietUntil and AlertMarks are
	// pipeline.Config's.
	Catalog       []byte
	CommitCatalog func(ctx context.Context, doc []byte) error
	QuietUntil    uint64
	AlertMarks    bool

	Logger *slog.Logger
	Now    func() time.Time
}

// Errors of a Node's calls.
var (
	ErrNotFound    = errors.New("not found")
	ErrInvalid     = errors.New("invalid request")
	ErrNotRunning  = errors.New("node is not running")
	ErrCursorGone  = errors.New("cursor before the oldest retained alert")
	ErrNodeStopped = errors.New("node stopped")
	// ErrConflict refuses a change made from a state that another change
	// has replaced meanwhile (in a cluster, a pattern change made on two
	// nodes at once): trying again applies it to the new state.
	ErrConflict = errors.New("conflicting change")
	// ErrExternalInput refuses Publish on a node that reads an external
	// source (Kafka): events go to the source instead.
	ErrExternalInput = errors.New("the node reads an external source: publish events to it")
)

// Node is one Motif node. Its methods are safe for concurrent use; Run
// must be running for Apply, Delete and Checkpoint to complete.
type Node struct {
	cfg   Config
	store *checkpoint.Store
	pipe  *pipeline.Pipeline

	applyMu sync.Mutex // serialises catalog changes
	mu      sync.Mutex // guards cat and val
	cat     *catalog
	val     *validator

	commits  chan struct{} // closed and replaced at every commit
	commitMu sync.Mutex
	woken    uint64 // the last alert seq subscribers were woken for
	running  atomic.Bool
	stopped  chan struct{}

	tail alertTail // the newest alerts, for subscribers (tail.go)

	published, rejected, duplicates atomic.Uint64
	retentionFailures               atomic.Uint64
}

// Open opens the data directory and restores the node's catalog and
// pipeline from it. Close releases it.
func Open(cfg Config) (*Node, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("node: %w: a data directory is required", ErrInvalid)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ID == "" {
		cfg.ID, _ = os.Hostname()
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = DefaultCheckpointInterval
	}
	if cfg.RetentionInterval <= 0 {
		cfg.RetentionInterval = DefaultRetentionInterval
	}
	if cfg.MaxEventBytes <= 0 {
		cfg.MaxEventBytes = DefaultMaxEventBytes
	}
	if cfg.MaxBatchEvents <= 0 {
		cfg.MaxBatchEvents = DefaultMaxBatchEvents
	}
	if cfg.Store.Logger == nil {
		cfg.Store.Logger = cfg.Logger
	}
	store, err := checkpoint.Open(cfg.Dir, cfg.Store)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, store: store, commits: make(chan struct{}), stopped: make(chan struct{})}
	n.tail.reset(store.LastAlertSeq())
	if err := n.init(); err != nil {
		store.Close()
		return nil, err
	}
	return n, nil
}

func (n *Node) init() error {
	b, ok, err := n.store.GetMeta(catalogKey)
	if err != nil {
		return err
	}
	if n.cfg.Catalog != nil {
		b, ok = n.cfg.Catalog, true
	}
	cat := &catalog{Patterns: map[string]*Pattern{}}
	if ok {
		if cat, err = parseCatalog(b); err != nil {
			return fmt.Errorf("node: catalog record in %s: %w", n.store.Dir(), err)
		}
	}
	pats, val, err := n.compile(cat)
	if err != nil {
		return err
	}
	if n.cfg.Catalog != nil {
		if err := n.saveCatalog(cat); err != nil {
			return err
		}
	}
	n.cat, n.val = cat, val
	ckpt := n.cfg.CheckpointInterval
	if ckpt < 0 {
		ckpt = 0
	}
	n.pipe, err = pipeline.New(pipeline.Config{
		Set:                pats.Set,
		Version:            pats.Version,
		Retiring:           pats.Retiring,
		OnRetired:          n.retired,
		OnCommit:           func(pipeline.Stats) { n.committed() },
		Store:              n.store,
		CommitEvents:       n.cfg.CommitEvents,
		CommitInterval:     n.cfg.CommitInterval,
		CheckpointInterval: ckpt,
		CacheBytes:         n.cfg.CacheBytes,
		MaxPartialMatches:  n.cfg.MaxPartialMatches,
		OutOfOrderness:     n.cfg.OutOfOrderness,
		DefaultWithin:      n.cfg.DefaultWithin,
		Decoder:            n.cfg.Decoder,
		Logger:             n.cfg.Logger,
		Now:                n.cfg.Now,
		Input:              n.cfg.Input,
		Name:               n.inputName(),
		IdleTimeout:        n.cfg.IdleTimeout,
		DeadLetters:        n.cfg.DeadLetters,
		KeyField:           n.cfg.KeyField,
		RecordTime:         n.cfg.Input != nil,
		Hold:               n.cfg.Hold,
		QuietUntil:         n.cfg.QuietUntil,
		AlertMarks:         n.cfg.AlertMarks,
	})
	return err
}

// Run matches until ctx is done, then commits what it has. It returns the
// error that stopped matching (a store failure), or nil.
func (n *Node) Run(ctx context.Context) error {
	if !n.running.CompareAndSwap(false, true) {
		return errors.New("node: Run called twice")
	}
	defer n.running.Store(false)
	defer close(n.stopped)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		n.retention(ctx)
	}()
	err := n.pipe.Run(ctx)
	cancel()
	wg.Wait()
	n.running.Store(false)
	n.committed() // wake subscribers: they see the node stopped
	return err
}

func (n *Node) retention(ctx context.Context) {
	t := time.NewTicker(n.cfg.RetentionInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Alert retention is by event time: the watermark is now.
		wm := n.pipe.Stats().Watermark
		if wm == math.MinInt64 {
			continue
		}
		if err := n.store.EnforceRetention(wm); err != nil {
			n.retentionFailures.Add(1)
			n.cfg.Logger.Error("retention failed", "err", err)
		}
		n.trimTail() // what retention removed is gone from the tail too
	}
}

// Close releases the data directory. Run must have returned.
func (n *Node) Close() error { return n.store.Close() }

// Store returns the node's store (for tools and tests).
func (n *Node) Store() *checkpoint.Store { return n.store }

// committed wakes the subscribers waiting for new alerts, if the commit
// added any (most commits add none: waking every subscriber to find
// nothing would cost each an alert log read per commit).
func (n *Node) committed() {
	n.commitMu.Lock()
	if seq := n.store.LastAlertSeq(); seq != n.woken || !n.running.Load() {
		if err := n.tail.fill(n.store, seq); err != nil {
			n.cfg.Logger.Warn("cannot keep the newest alerts in memory: subscribers read them from the store", "err", err)
		}
		n.woken = seq
		close(n.commits)
		n.commits = make(chan struct{})
	}
	n.commitMu.Unlock()
}

// AlertsAppended tells the node that alerts were appended to its store's
// alert log from outside its pipeline (a cluster's mirror of the alert
// topic): subscribers are woken as after a commit.
func (n *Node) AlertsAppended() { n.committed() }

// AlertSignals returns a channel that receives a value after commits that
// add alerts to the alert log, until ctx is done: signals coalesce (one
// waits at most), and a reader that reads the log after each one misses
// nothing. The alert sink wakes on it.
func (n *Node) AlertSignals(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	go func() {
		next := n.commitSignal()
		for {
			select {
			case <-ctx.Done():
				return
			case <-next:
			}
			next = n.commitSignal() // before the signal: a commit after it is not missed
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}()
	return out
}

func (n *Node) commitSignal() <-chan struct{} {
	n.commitMu.Lock()
	defer n.commitMu.Unlock()
	return n.commits
}

// Checkpoint takes a checkpoint now, or a savepoint if name is set.
func (n *Node) Checkpoint(ctx context.Context, name string) (checkpoint.Info, error) {
	if !n.running.Load() {
		return checkpoint.Info{}, ErrNotRunning
	}
	return n.pipe.Checkpoint(ctx, name)
}

// Checkpoints lists the kept checkpoints and the savepoints, oldest first.
func (n *Node) Checkpoints() (checkpoints, savepoints []checkpoint.Info, err error) {
	if checkpoints, err = n.store.ListCheckpoints(); err != nil {
		return nil, nil, err
	}
	savepoints, err = n.store.ListSavepoints()
	return checkpoints, savepoints, err
}

// DeleteSavepoint removes a savepoint.
func (n *Node) DeleteSavepoint(name string) error { return n.store.DeleteSavepoint(name) }

// Validate checks pattern files as Apply would, without applying them.
func (n *Node) Validate(files []File) pattern.Diagnostics {
	n.mu.Lock()
	cat := n.cat
	n.mu.Unlock()
	_, _, diags := cat.check(files)
	return diags
}

// Apply checks files as one set, with the event declarations in force, and
// registers their patterns: a pattern whose text changed gets a new version
// that matches from now on, while the version it replaces finishes its
// open partial matches and then retires. Patterns not in the files are left
// alone. With errors in the files nothing changes and the diagnostics say
// why (warnings come back either way).
func (n *Node) Apply(ctx context.Context, files []File) ([]Change, pattern.Diagnostics, error) {
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("node: %w: no pattern files", ErrInvalid)
	}
	n.applyMu.Lock()
	defer n.applyMu.Unlock()
	n.mu.Lock()
	next, changes, diags := n.cat.apply(files, n.cfg.Now())
	n.mu.Unlock()
	if next == nil {
		return nil, diags, nil
	}
	changed := false
	for _, c := range changes {
		changed = changed || c.Kind != Unchanged
	}
	if !changed && next.Events == n.cat.Events {
		return changes, diags, nil
	}
	return changes, diags, n.install(ctx, next)
}

// Plan reports what Apply would do with files, changing nothing.
func (n *Node) Plan(files []File) ([]Change, pattern.Diagnostics) {
	n.mu.Lock()
	cat := n.cat
	n.mu.Unlock()
	_, changes, diags := cat.apply(files, n.cfg.Now())
	return changes, diags
}

// Delete stops a pattern now: its partial matches are dropped and it
// alerts no more. Its version numbers stay taken. Deleting it again
// changes nothing; an unknown name is ErrNotFound.
func (n *Node) Delete(ctx context.Context, name string) error {
	n.applyMu.Lock()
	defer n.applyMu.Unlock()
	n.mu.Lock()
	p := n.cat.Patterns[name]
	if p == nil {
		n.mu.Unlock()
		return fmt.Errorf("pattern %q: %w", name, ErrNotFound)
	}
	if p.Deleted {
		n.mu.Unlock()
		return nil // already: nothing changes
	}
	next := n.cat.clone()
	n.mu.Unlock()
	p = next.Patterns[name]
	p.Deleted = true
	now := n.cfg.Now().UTC()
	for _, v := range p.Versions {
		if v.State == StateActive {
			v.Replaced = now
		}
		if v.State != StateRetired {
			v.State, v.Retired = StateRetired, now
		}
	}
	return n.install(ctx, next)
}

// install makes next the catalog: committed through Config.CommitCatalog
// if set, stored, then matched. Called with applyMu held.
func (n *Node) install(ctx context.Context, next *catalog) error {
	if commit := n.cfg.CommitCatalog; commit != nil {
		doc, err := json.Marshal(next)
		if err != nil {
			return err
		}
		if err := commit(ctx, doc); err != nil {
			return err
		}
	}
	return n.installLocal(ctx, next)
}

// CatalogDoc returns the catalog in force as a document for InstallCatalog
// and Config.Catalog.
func (n *Node) CatalogDoc() []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	doc, err := json.Marshal(n.cat)
	if err != nil {
		panic(err) // plain data
	}
	return doc
}

// InstallCatalog makes doc, a catalog document committed elsewhere (by a
// cluster's Config.CommitCatalog), the catalog: pattern versions switch as
// with Apply. A document equal to the catalog in force changes nothing.
func (n *Node) InstallCatalog(ctx context.Context, doc []byte) error {
	next, err := parseCatalog(doc)
	if err != nil {
		return fmt.Errorf("node: %w: catalog document: %v", ErrInvalid, err)
	}
	n.applyMu.Lock()
	defer n.applyMu.Unlock()
	if bytes.Equal(doc, n.CatalogDoc()) {
		return nil
	}
	return n.installLocal(ctx, next)
}

func parseCatalog(doc []byte) (*catalog, error) {
	cat := &catalog{}
	if err := json.Unmarshal(doc, cat); err != nil {
		return nil, err
	}
	if cat.Patterns == nil {
		cat.Patterns = map[string]*Pattern{}
	}
	return cat, nil
}

// installLocal stores next and matches it.
func (n *Node) installLocal(ctx context.Context, next *catalog) error {
	select {
	case <-n.stopped:
		return ErrNotRunning
	default:
		// Not started yet is fine: the change waits for Run (motif serve
		// applies --patterns as Run starts).
	}
	pats, val, err := n.compile(next)
	if err != nil {
		return err
	}
	n.mu.Lock()
	if err := n.saveCatalog(next); err != nil {
		n.mu.Unlock()
		return err
	}
	n.cat, n.val = next, val
	n.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-n.stopped:
			cancel()
		case <-ctx.Done():
		}
	}()
	err = n.pipe.SetPatterns(ctx, pats)
	select {
	case <-n.stopped:
		if err != nil {
			return ErrNotRunning
		}
	default:
	}
	return err
}

// compile turns a catalog into what the pipeline matches and what
// Publish validates events against.
func (n *Node) compile(c *catalog) (pipeline.Patterns, *validator, error) {
	pats, err := c.patterns()
	if err != nil {
		return pipeline.Patterns{}, nil, err
	}
	val, err := newValidator(pats.Set, n.cfg.Decoder)
	return pats, val, err
}

func (n *Node) saveCatalog(c *catalog) error {
	js, err := json.Marshal(c)
	if err != nil {
		return err
	}
	b := n.store.NewBatch()
	defer b.Close()
	b.PutMeta(catalogKey, js)
	return b.Commit(true)
}

// retired records that a replaced version finished (on Run's goroutine).
func (n *Node) retired(name string, version int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	next := n.cat.clone()
	p := next.Patterns[name]
	if p == nil {
		return
	}
	for _, v := range p.Versions {
		if v.Version == version && v.State == StateRetiring {
			v.State, v.Retired = StateRetired, n.cfg.Now().UTC()
		}
	}
	p.trim()
	if err := n.saveCatalog(next); err != nil {
		n.cfg.Logger.Error("cannot record a retired pattern version", "pattern", name, "version", version, "err", err)
		return
	}
	n.cat = next
}

// Patterns returns the catalog, by name; deleted patterns are left out
// unless all is set. The patterns are shared and must not be modified: a
// catalog is never changed once installed (a change installs a new one).
func (n *Node) Patterns(all bool) []*Pattern {
	n.mu.Lock()
	cat := n.cat
	n.mu.Unlock()
	var out []*Pattern
	for _, p := range cat.sorted() {
		if all || !p.Deleted {
			out = append(out, p)
		}
	}
	return out
}

// Pattern returns one pattern of the catalog, deleted or not; shared, as
// Patterns says.
func (n *Node) Pattern(name string) (*Pattern, error) {
	n.mu.Lock()
	p := n.cat.Patterns[name]
	n.mu.Unlock()
	if p == nil {
		return nil, fmt.Errorf("pattern %q: %w", name, ErrNotFound)
	}
	return p, nil
}

// inputName names the pipeline's records: "0" for the embedded log
// partition, "input" for an external source.
func (n *Node) inputName() string {
	if n.cfg.Input != nil {
		return "input"
	}
	return ""
}
