package node

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/motifcep/motif/pattern"
)

// Cursor says where a subscription starts: after the alert numbered After,
// or, with Now, after the last alert committed when it starts. The zero
// Cursor starts at the oldest retained alert.
type Cursor struct {
	After uint64
	Now   bool
}

// Filter selects alerts: of the named patterns (all if empty), at least
// MinSeverity (all if unset).
type Filter struct {
	Patterns    []string
	MinSeverity pattern.Severity
}

// Alert is an alert of the alert log: its sequence number and its JSON
// object (language.md §4, without seq).
type Alert struct {
	Seq  uint64
	JSON []byte
}

// WithSeq returns the alert's JSON with "seq" first, as subscribers print it.
func (a Alert) WithSeq() []byte {
	b := fmt.Appendf(nil, `{"seq":%d`, a.Seq)
	if len(a.JSON) > 2 {
		b = append(b, ',')
	}
	return append(b, a.JSON[1:]...)
}

func (f *Filter) match(js []byte) bool {
	if len(f.Patterns) == 0 && f.MinSeverity == pattern.SeverityUnset {
		return true
	}
	var a struct {
		Pattern  string `json:"pattern"`
		Severity string `json:"severity"`
	}
	if json.Unmarshal(js, &a) != nil {
		return false
	}
	if len(f.Patterns) > 0 && !slices.Contains(f.Patterns, a.Pattern) {
		return false
	}
	if f.MinSeverity != pattern.SeverityUnset {
		s, ok := pattern.ParseSeverity(a.Severity)
		if !ok || s < f.MinSeverity {
			return false
		}
	}
	return true
}

// subscribeChunk bounds the alerts read from the log at a time: they are
// copied out, so a slow subscriber holds no store iterator open.
const subscribeChunk = 256

// Alerts returns up to limit alerts after the cursor that pass the filter,
// and the sequence number to continue after.
func (n *Node) Alerts(c Cursor, f Filter, limit int) ([]Alert, uint64, error) {
	after := c.After
	if c.Now {
		after = n.store.LastAlertSeq()
	} else if err := n.checkCursor(after); err != nil {
		return nil, 0, err
	}
	var out []Alert
	for len(out) < limit {
		chunk, err := n.readAlerts(after, min(subscribeChunk, 4*limit))
		if err != nil {
			return nil, 0, err
		}
		if len(chunk) == 0 {
			break
		}
		for _, a := range chunk {
			after = a.Seq
			if f.match(a.JSON) {
				out = append(out, a)
				if len(out) == limit {
					break
				}
			}
		}
	}
	return out, after, nil
}

// checkCursor fails with ErrCursorGone when alerts right after the cursor
// were removed by retention: a resuming subscriber must not skip alerts
// without knowing. A cursor of 0 means the oldest retained alert.
func (n *Node) checkCursor(after uint64) error {
	if after == 0 {
		return nil
	}
	oldest := n.store.LastAlertSeq() + 1
	if err := n.store.Alerts(0, func(seq uint64, _ []byte) bool { oldest = seq; return false }); err != nil {
		return err
	}
	if after < oldest-1 { // oldest >= 1; after+1 would wrap at the top
		return fmt.Errorf("%w: alerts %d to %d were removed by retention", ErrCursorGone, after+1, oldest-1)
	}
	return nil
}

func (n *Node) readAlerts(after uint64, max int) ([]Alert, error) {
	var out []Alert
	err := n.store.Alerts(after+1, func(seq uint64, payload []byte) bool {
		out = append(out, Alert{seq, slices.Clone(payload)})
		return len(out) < max
	})
	return out, err
}

// Subscribe calls fn with the alerts after the cursor that pass the filter,
// in sequence order, first those already in the alert log, then as they are
// committed, until ctx is done, fn returns an error, or the node stops
// (ErrNodeStopped). Each call has at most subscribeChunk alerts, never
// none: what one read of the log found, so a sender can write them out
// together. fn must not keep the slice. A slow fn delays only its own
// subscription: it reads the alert log at its own pace.
func (n *Node) Subscribe(ctx context.Context, c Cursor, f Filter, fn func([]Alert) error) error {
	after := c.After
	if c.Now {
		after = n.store.LastAlertSeq()
	} else if err := n.checkCursor(after); err != nil {
		return err
	}
	stopped := false
	for {
		// Take the signal before reading, so a commit in between is not missed.
		signal := n.commitSignal()
		chunk, err := n.readAlerts(after, subscribeChunk)
		if err != nil {
			return err
		}
		read := len(chunk)
		if read > 0 {
			after = chunk[read-1].Seq
		}
		chunk = slices.DeleteFunc(chunk, func(a Alert) bool { return !f.match(a.JSON) })
		if len(chunk) > 0 {
			if err := fn(chunk); err != nil {
				return err
			}
		}
		if read == subscribeChunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			continue
		}
		if stopped {
			return ErrNodeStopped // after delivering what the last commit wrote
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.stopped:
			stopped = true
		case <-signal:
		}
	}
}
