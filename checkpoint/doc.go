// Package checkpoint is the durable state of a node: per-key matching state,
// timers, the embedded event log, the alert log and source offsets in
// Pebble, committed together, with checkpoints for restore.
//
// It stores nfa.State as bytes (nfa.State.MarshalBinary) and knows nothing of
// matching. Not yet implemented: the engine keeps its state in memory.
package checkpoint
