// Package engine runs a set of compiled patterns over one stream of events:
// it validates each event against the declared event types and the pattern
// keys, orders events by event time (eventtime.Sorter), routes each event to
// the patterns that see its type and to the state of its key, fires the
// timers of windows and absences as the watermark advances, and turns
// matches into alerts (deterministic ids, suppress, duplicates dropped).
//
// State lives in memory here; the durable store and the network sources
// build on the same pipeline. Replay (motif replay) is this engine fed from
// a file.
package engine
