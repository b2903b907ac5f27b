package checkpoint

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// Names inside a Store directory.
const (
	dbDir          = "db"
	checkpointsDir = "checkpoints"
	savepointsDir  = "savepoints"
)

// LogSource is the source name under which the engine commits its offsets
// in the embedded log (Batch.PutOffset(LogSource, partition, next)).
// LogRetention never removes a record at or above that offset.
const LogSource = "log"

// Store is the durable storage of a node: one Pebble database under
// <dir>/db, its checkpoints under <dir>/checkpoints and savepoints under
// <dir>/savepoints. All methods are safe for concurrent use; a Batch is
// not.
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger
	db   *pebble.DB

	// closeMu guards closed: every method holds it for reading while it
	// uses db, Close for writing.
	closeMu sync.RWMutex
	closed  bool

	alerts   alertLog
	logs     embeddedLog
	ckpts    checkpoints
	timers   timerHint
	retainMu sync.Mutex // one EnforceRetention or TrimLog at a time

	stats struct {
		checkpoints, checkpointsFailed atomic.Uint64
		lastCkptNanos, lastCkptBytes   atomic.Int64
		appends, appendRecords, groups atomic.Uint64
		duplicates                     atomic.Uint64
	}
}

// Open opens (creating if needed) the Store in dir. A restore that was
// interrupted is finished first (see Restore).
func Open(dir string, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint: open %s: %w", dir, err)
	}
	if err := finishRestore(dir); err != nil {
		return nil, err
	}
	if err := removeTemporaries(dir); err != nil {
		return nil, err
	}
	cache := pebble.NewCache(opts.CacheSize)
	defer cache.Unref()
	db, err := pebble.Open(filepath.Join(dir, dbDir), pebbleOptions(cache, opts.Logger, false))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: open %s: %w", dir, err)
	}
	s := &Store{dir: dir, opts: opts, log: opts.Logger, db: db}
	s.timers.init()
	if err := s.load(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	s.logs.start(s)
	return s, nil
}

// load checks the layout version and reads what the store keeps in memory.
func (s *Store) load() error {
	if err := checkFormat(s.db); err != nil {
		return err
	}
	if err := s.alerts.load(s.db); err != nil {
		return err
	}
	if err := s.logs.load(s.db); err != nil {
		return err
	}
	if err := s.logs.ids.load(s.db, s.opts.DedupeWindow); err != nil {
		return err
	}
	return s.ckpts.load(s.dir)
}

// checkFormat writes the layout version into a new database and refuses a
// database of another version.
func checkFormat(db *pebble.DB) error {
	v, closer, err := db.Get(metaFormatKey)
	if errors.Is(err, pebble.ErrNotFound) {
		if !isEmpty(db) {
			return corrupt(metaFormatKey, "missing in a database that holds data")
		}
		return db.Set(metaFormatKey, binary.BigEndian.AppendUint32(nil, formatVersion), pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("checkpoint: read %s: %w", keyString(metaFormatKey), err)
	}
	defer closer.Close()
	if len(v) != 4 {
		return corrupt(metaFormatKey, "value of %d bytes, want 4", len(v))
	}
	if got := binary.BigEndian.Uint32(v); got != formatVersion {
		return fmt.Errorf("checkpoint: layout version %d, this build reads %d", got, formatVersion)
	}
	return nil
}

func isEmpty(db *pebble.DB) bool {
	it, err := db.NewIter(nil)
	if err != nil {
		return false
	}
	defer it.Close()
	return !it.First()
}

// pebbleOptions are the Pebble settings of every database this package
// opens: the counter merge operator, bloom filters for point reads (states,
// alert ids), and Pebble's defaults for the rest.
func pebbleOptions(cache *pebble.Cache, log *slog.Logger, readOnly bool) *pebble.Options {
	o := &pebble.Options{
		Cache:              cache,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             pebbleLogger{log},
		Merger:             counterMerger,
		MemTableSize:       16 << 20,
		ReadOnly:           readOnly,
		EventListener: &pebble.EventListener{
			BackgroundError: func(err error) {
				log.Error("checkpoint: pebble background error", "err", err)
			},
			WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
				log.Warn("checkpoint: writes stalled", "reason", info.Reason)
			},
			WriteStallEnd: func() { log.Info("checkpoint: writes resumed") },
		},
	}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	return o
}

// pebbleLogger sends Pebble's messages to slog. Pebble calls Fatalf only
// when it cannot go on safely, and expects it not to return.
type pebbleLogger struct{ l *slog.Logger }

// Infof logs at debug level: Pebble's informational messages (WAL replay,
// compactions) are routine and would drown a server's log.
func (p pebbleLogger) Infof(format string, args ...any) {
	if p.l.Enabled(context.Background(), slog.LevelDebug) {
		p.l.Debug("pebble", "msg", fmt.Sprintf(format, args...))
	}
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("pebble", "msg", fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error("pebble: fatal", "msg", msg)
	panic("pebble: " + msg)
}

var _ pebble.Logger = pebbleLogger{}

// enter marks the start of a call that uses db; leave must follow when it
// returns nil.
func (s *Store) enter() error {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.closeMu.RUnlock() }

// Close waits for pending appends to commit, then closes the database.
// Calls made after Close return ErrClosed. Close is idempotent.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	s.logs.stop()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("checkpoint: close: %w", err)
	}
	return nil
}

// Dir returns the directory the store was opened in.
func (s *Store) Dir() string { return s.dir }

// Stats are the store's counters since Open, and the sizes of its logs.
type Stats struct {
	CheckpointsTaken       uint64        // automatic checkpoints and savepoints written
	CheckpointsFailed      uint64        // attempts that returned an error
	LastCheckpointDuration time.Duration // of the last successful one
	LastCheckpointBytes    int64         // its size on disk, shared files included

	LogAppends      uint64 // acknowledged Append and AppendRecords calls
	LogRecords      uint64 // records they appended
	LogDuplicates   uint64 // records AppendRecords acknowledged as duplicates
	LogGroupCommits uint64 // synced Pebble commits that carried them
	LogBytes        int64  // key and value bytes in the embedded log now

	AlertLogLength int64 // alerts in the alert log now
	AlertLogBytes  int64 // their key and value bytes
}

// Stats returns the current counters.
func (s *Store) Stats() Stats {
	st := Stats{
		CheckpointsTaken:       s.stats.checkpoints.Load(),
		CheckpointsFailed:      s.stats.checkpointsFailed.Load(),
		LastCheckpointDuration: time.Duration(s.stats.lastCkptNanos.Load()),
		LastCheckpointBytes:    s.stats.lastCkptBytes.Load(),
		LogAppends:             s.stats.appends.Load(),
		LogRecords:             s.stats.appendRecords.Load(),
		LogDuplicates:          s.stats.duplicates.Load(),
		LogGroupCommits:        s.stats.groups.Load(),
		AlertLogLength:         s.alerts.count.Load(),
		AlertLogBytes:          s.alerts.bytes.Load(),
	}
	for _, p := range s.logs.all() {
		st.LogBytes += p.bytes.Load()
	}
	return st
}
