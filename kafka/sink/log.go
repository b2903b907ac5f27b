package sink

import "github.com/motifcep/motif/checkpoint"

// Log is the alert log the sink relays from: alerts in ascending sequence
// number, each stored exactly once.
//
// Alerts calls fn for every alert with a sequence number >= fromSeq, in
// order, until fn returns false; payload is valid only during the call.
// Sequence numbers grow but may have gaps. Alerts must never return an
// alert later than one that it omitted and will return afterwards: a
// reader that follows the log with a cursor may not skip an alert that
// commits late (checkpoint.Store guarantees this by showing only settled
// alerts).
//
// LastAlertSeq returns the highest sequence number Alerts may return, 0 if
// none. It is read concurrently with Alerts.
type Log interface {
	Alerts(fromSeq uint64, fn func(seq uint64, payload []byte) bool) error
	LastAlertSeq() uint64
}

var _ Log = (*checkpoint.Store)(nil)
