package checkpoint

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Defaults that Options fields left at zero take.
const (
	DefaultCacheSize       = 128 << 20 // bytes of Pebble block cache
	DefaultKeepCheckpoints = 3
	DefaultDedupeWindow    = 10 * time.Minute // of event time
)

// NoDedupe, as Options.DedupeWindow, turns deduplication off: any negative
// window does.
const NoDedupe time.Duration = -1

// minDedupeWindow is the smallest positive DedupeWindow Validate accepts:
// event times are nanoseconds, so a smaller one deduplicates next to
// nothing and is most likely a unit mistake.
const minDedupeWindow = time.Millisecond

// Options configure a Store. The zero value is ready to use: every field
// has a default, and nothing asks for storage-engine tuning.
type Options struct {
	// Logger receives the store's own messages and Pebble's. Nil discards
	// them.
	Logger *slog.Logger

	// CacheSize is the size of the block cache in bytes. Zero means
	// DefaultCacheSize.
	CacheSize int64

	// AlertRetention bounds the alert log. MaxAge is measured in event time
	// against the time passed to EnforceRetention. Zero fields keep
	// everything.
	AlertRetention Retention

	// LogRetention bounds the consumed part of the embedded log: records
	// below the committed offset of source LogSource. MaxAge is measured on
	// Clock from the commit that appended them. Zero fields keep everything.
	LogRetention Retention

	// KeepCheckpoints is how many automatic checkpoints are kept; older ones
	// are removed after each new one. Zero means DefaultKeepCheckpoints.
	// Savepoints are never removed automatically.
	KeepCheckpoints int

	// DedupeWindow is how far back in event time AppendRecords remembers
	// record ids: a record whose id an earlier record carried is a
	// duplicate while that earlier record's time is no older than the
	// window, counted back from the newest time of an appended record with
	// an id. Zero means DefaultDedupeWindow; a negative window (NoDedupe)
	// turns deduplication off, ids are then ignored. A positive window
	// below a millisecond is refused. EnforceRetention prunes the ids the
	// window has passed.
	DedupeWindow time.Duration

	// Clock stamps embedded log segments and ages them for LogRetention.
	// Nil means time.Now.
	Clock func() time.Time
	// AlertFloor, if set, protects alerts from retention: those with a
	// sequence number at or above what it returns are kept whatever their
	// age or the log's size (an alert sink has not delivered them yet).
	AlertFloor func() uint64

	// fs, if set, replaces the operating system's file system for the
	// database and the checkpoints the store writes: tests inject faults
	// with it (a full disk, a failing link).
	fs vfs.FS
	// tune, if set, adjusts the Pebble options of the live database after
	// pebbleOptions (tests: a tiny memtable to provoke a write stall).
	tune func(*pebble.Options)
}

// Retention bounds a log by age and by size; a zero field sets no bound.
// Records are removed oldest first while either bound is exceeded.
type Retention struct {
	MaxAge   time.Duration
	MaxBytes int64
}

func (r Retention) enabled() bool { return r.MaxAge > 0 || r.MaxBytes > 0 }

// Validate reports every problem with o at once.
func (o Options) Validate() error {
	var errs []error
	if o.CacheSize < 0 {
		errs = append(errs, fmt.Errorf("CacheSize %d is negative", o.CacheSize))
	}
	if o.KeepCheckpoints < 0 {
		errs = append(errs, fmt.Errorf("KeepCheckpoints %d is negative", o.KeepCheckpoints))
	}
	for _, r := range []struct {
		name string
		r    Retention
	}{{"AlertRetention", o.AlertRetention}, {"LogRetention", o.LogRetention}} {
		if r.r.MaxAge < 0 {
			errs = append(errs, fmt.Errorf("%s.MaxAge %v is negative", r.name, r.r.MaxAge))
		}
		if r.r.MaxBytes < 0 {
			errs = append(errs, fmt.Errorf("%s.MaxBytes %d is negative", r.name, r.r.MaxBytes))
		}
	}
	if o.DedupeWindow > 0 && o.DedupeWindow < minDedupeWindow {
		errs = append(errs, fmt.Errorf("DedupeWindow %v is below %v (event times are nanoseconds; a negative window turns deduplication off)", o.DedupeWindow, minDedupeWindow))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: options: %w", ErrInvalid, errors.Join(errs...))
}

// withDefaults returns o with zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.KeepCheckpoints == 0 {
		o.KeepCheckpoints = DefaultKeepCheckpoints
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.DedupeWindow == 0 {
		o.DedupeWindow = DefaultDedupeWindow
	}
	if o.fs == nil {
		o.fs = vfs.Default
	}
	return o
}

// Pebble settings. A commit carries up to the pipeline's CommitEvents
// (10,000) events' state changes: with large key states that is a batch of
// 10 MB or more, written while flushes and compactions of the previous ones
// run.
const (
	// memTableSize is the size of a memtable. Pebble turns a batch larger
	// than half a memtable into a memtable of its own, flushed at once: with
	// 16 MiB memtables every commit of a 1 GiB state (11 MB) forced a flush
	// and writes stalled behind them. At 64 MiB a commit of up to 32 MiB
	// goes into the memtable, and one memtable (one flush) holds several
	// commits. Pebble starts with a 256 KiB memtable and doubles it with
	// each new one, so a small store stays small.
	memTableSize = 64 << 20

	// memTableStopWrites is how many memtables' worth of data may be
	// queued (the one being filled and those waiting for their flush)
	// before Pebble stops writes. At 2, Pebble's default, writes stop
	// whenever a memtable fills while the previous one is still flushing;
	// at 4, three flushes can be behind.
	memTableStopWrites = 4

	// l0CompactionThreshold is the L0 read amplification (sublevels: each
	// flush adds one, as the keys of a commit spread over the key space)
	// at which an L0 compaction is due. 2, not Pebble's 4: a key not cached
	// in memory is read by probing every sublevel, and smaller compactions
	// out of L0 keep up with 64 MiB flushes more evenly.
	l0CompactionThreshold = 2

	// l0StopWrites is the L0 read amplification at which Pebble stops
	// writes until compactions catch up. Pebble's 12 stops a bulk load
	// once twelve 64 MiB flushes (768 MiB) wait to be compacted; at 20 a
	// burst goes through while compactions lag, and a read still probes
	// at most 20 sublevels, most of them answered by their bloom filter.
	l0StopWrites = 20

	// maxCompactions bounds concurrent compactions. Pebble runs one, and
	// a second only when it is behind (an L0 read amplification of 10 or
	// more, or over 1 GB of compaction debt).
	maxCompactions = 2
)

// pebbleOptions are the Pebble settings of every database this package
// opens: the counter merge operator, bloom filters for point reads
// (states, alert ids), the memtable and L0 settings above, and the event
// listener that counts write stalls and corruption (ev). Pebble's defaults
// hold for the rest.
//
// Pebble's memory is allocated outside the Go heap: the block cache
// (Options.CacheSize, DefaultCacheSize 128 MiB, which also holds table
// indexes and filters) and the memtables: in steady state the one being
// filled, the one flushing and one kept for reuse, 128 to 192 MiB; at
// worst memTableStopWrites queued plus the one kept, 320 MiB. Next to the
// engine's key cache (engine.DefaultCacheBytes, 256 MiB, on the Go heap)
// a node's state takes 256 + 128 MiB of caches and up to 320 MiB of
// memtables.
func (o Options) pebbleOptions(cache *pebble.Cache, ev *events, readOnly bool) *pebble.Options {
	p := &pebble.Options{
		Cache:                       cache,
		FS:                          o.fs,
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      pebbleLogger{o.Logger},
		Merger:                      counterMerger,
		MemTableSize:                memTableSize,
		MemTableStopWritesThreshold: memTableStopWrites,
		L0CompactionThreshold:       l0CompactionThreshold,
		L0StopWritesThreshold:       l0StopWrites,
		CompactionConcurrencyRange:  func() (int, int) { return 1, maxCompactions },
		ReadOnly:                    readOnly,
		EventListener:               ev.listener(),
	}
	for i := range p.Levels {
		p.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	if o.tune != nil && !readOnly {
		o.tune(p)
	}
	return p
}
