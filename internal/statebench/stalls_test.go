package statebench

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// stallLog is a slog handler that notes Pebble's write stalls, as the
// store logs them ("checkpoint: writes stalled", "... resumed"): the
// store has no counter of them.
type stallLog struct {
	mu      sync.Mutex
	begun   time.Time
	reason  string
	stalls  []stall
	reasons map[string]int
}

type stall struct {
	start, end time.Time
	reason     string
}

func (l *stallLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *stallLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *stallLog) WithGroup(string) slog.Handler            { return l }

func (l *stallLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch r.Message {
	case "checkpoint: writes stalled":
		l.begun, l.reason = r.Time, ""
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "reason" {
				l.reason = a.Value.String()
			}
			return true
		})
	case "checkpoint: writes resumed":
		if !l.begun.IsZero() {
			l.stalls = append(l.stalls, stall{l.begun, r.Time, l.reason})
			l.begun = time.Time{}
		}
	}
	return nil
}

// in returns the stalls that overlap [from, to]: how many, the longest,
// and their reasons.
func (l *stallLog) in(from, to time.Time) (n int, longest time.Duration, reasons map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	reasons = map[string]int{}
	for _, s := range l.stalls {
		if s.end.Before(from) || s.start.After(to) {
			continue
		}
		n++
		longest = max(longest, s.end.Sub(s.start))
		reasons[s.reason]++
	}
	return n, longest, reasons
}
