// Package engine runs a set of compiled patterns over one stream of events:
// it validates each event against the declared event types and the pattern
// keys, orders events by event time (eventtime.Sorter), routes each event to
// the patterns that see its type and to the state of its key, fires the
// timers of windows and absences as the watermark advances, and turns
// matches into alerts (deterministic ids, suppress, duplicates dropped).
//
// An Engine runs on one goroutine. A Parallel spreads the keys over several
// engines on their own goroutines and merges what they emit back into the
// one engine's order, so its output is the same for any number of them;
// replay (motif replay --workers) uses it. Key states live in memory, or
// with a StateStore beyond it (see persist.go), as the server's pipeline
// runs them.
package engine
