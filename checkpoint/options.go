package checkpoint

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults that Options fields left at zero take.
const (
	DefaultCacheSize       = 64 << 20 // bytes of Pebble block cache
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
	return o
}
