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
// object (language.md §4, without seq). JSON may be shared with other
// readers of the alert: it must not be modified.
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

// all reports whether f passes every alert.
func (f *Filter) all() bool {
	return len(f.Patterns) == 0 && f.MinSeverity == pattern.SeverityUnset
}

func (f *Filter) match(js []byte) bool {
	if f.all() {
		return true
	}
	m := parseMeta(js)
	return f.matchMeta(&m)
}

func (f *Filter) matchMeta(m *alertMeta) bool {
	if !m.valid {
		return false
	}
	if len(f.Patterns) > 0 && !slices.Contains(f.Patterns, m.pattern) {
		return false
	}
	if f.MinSeverity != pattern.SeverityUnset && (!m.severityOK || m.severity < f.MinSeverity) {
		return false
	}
	return true
}

// alertMeta is what filters look at in an alert.
type alertMeta struct {
	valid      bool // its JSON parsed
	pattern    string
	severity   pattern.Severity
	severityOK bool // a known severity
}

func parseMeta(js []byte) alertMeta {
	var a struct {
		Pattern  string `json:"pattern"`
		Severity string `json:"severity"`
	}
	if json.Unmarshal(js, &a) != nil {
		return alertMeta{}
	}
	m := alertMeta{valid: true, pattern: a.Pattern}
	m.severity, m.severityOK = pattern.ParseSeverity(a.Severity)
	return m
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
		var read int
		var err error
		out, after, read, err = n.read(after, &f, min(subscribeChunk, 4*limit), limit-len(out), out)
		if err != nil {
			return nil, 0, err
		}
		if read == 0 {
			break
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

// read appends to buf the alerts after the cursor that pass f, looking at
// up to max alerts of the log and stopping once want of them passed. It
// returns buf, the sequence number of the last alert it looked at (after
// if none) and how many it looked at. Caught-up readers find the alerts in
// the tail, shared. Others, and those past the tail (alerts committed, not
// yet added to it), read the store and copy the alerts out, so that a slow
// reader holds no store iterator open.
func (n *Node) read(after uint64, f *Filter, max, want int, buf []Alert) ([]Alert, uint64, int, error) {
	end := len(buf) + want
	buf, last, read, ok := n.tail.read(after, f, max, want, buf)
	if ok && (read == max || len(buf) == end || n.store.LastAlertSeq() <= last) {
		return buf, last, read, nil
	}
	all := f.all()
	err := n.store.Alerts(last+1, func(seq uint64, payload []byte) bool {
		last, read = seq, read+1
		if all || f.match(payload) {
			buf = append(buf, Alert{seq, slices.Clone(payload)})
		}
		return read < max && len(buf) < end
	})
	return buf, last, read, err
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
	var buf []Alert // reused: fn must not keep the slice
	stopped := false
	for {
		// Take the signal before reading, so a commit in between is not missed.
		signal := n.commitSignal()
		var read int
		var err error
		buf, after, read, err = n.read(after, &f, subscribeChunk, subscribeChunk, buf[:0])
		if err != nil {
			return err
		}
		if len(buf) > 0 {
			if err := fn(buf); err != nil {
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
