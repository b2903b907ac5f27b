package checkpoint

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// events counts what Pebble reports through its EventListener: write
// stalls, and files it found corrupt. Pebble calls the stall callbacks with
// its own mutex held, so they only note the time.
type events struct {
	log *slog.Logger

	mu          sync.Mutex
	stalls      uint64        // stalls begun
	stalled     time.Duration // total of the stalls that ended
	stallBegan  time.Time     // of the stall under way; zero if none
	corruptions atomic.Uint64
}

func newEvents(log *slog.Logger) *events { return &events{log: log} }

// listener returns the EventListener of a database. Pebble's default for
// DataCorruption calls Logger.Fatalf, which stops the process from a
// background compaction: here it is logged and counted, and the read or
// compaction that met it returns Pebble's corruption error.
func (e *events) listener() *pebble.EventListener {
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			e.log.Error("checkpoint: pebble background error", "err", err)
		},
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			e.corruptions.Add(1)
			e.log.Error("checkpoint: corrupt file", "path", info.Path, "err", info.Details)
		},
		WriteStallBegin: e.stallBegin,
		WriteStallEnd:   e.stallEnd,
	}
}

func (e *events) stallBegin(info pebble.WriteStallBeginInfo) {
	e.mu.Lock()
	e.stalls++
	if e.stallBegan.IsZero() {
		e.stallBegan = time.Now()
	}
	e.mu.Unlock()
	e.log.Warn("checkpoint: writes stalled", "reason", info.Reason)
}

func (e *events) stallEnd() {
	e.mu.Lock()
	var d time.Duration
	if !e.stallBegan.IsZero() {
		d = time.Since(e.stallBegan)
		e.stalled += d
		e.stallBegan = time.Time{}
	}
	e.mu.Unlock()
	e.log.Info("checkpoint: writes resumed", "after", d)
}

// stallStats returns the number of stalls and their total time, the one
// under way included.
func (e *events) stallStats() (n uint64, total time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	total = e.stalled
	if !e.stallBegan.IsZero() {
		total += time.Since(e.stallBegan)
	}
	return e.stalls, total
}
