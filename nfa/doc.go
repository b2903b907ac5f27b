// Package nfa compiles a checked pattern into an immutable automaton
// (Program) and runs it over the events of one key at a time (State).
//
// The automaton is built as FlinkCEP's NFACompiler builds its NFA: states
// with take, ignore and proceed edges, stop states for negated stages and a
// pending state for a trailing not_followed_by, so that every operator,
// quantifier, modifier and skip strategy behaves as it does in Flink.
// Matching follows FlinkCEP's NFA: each partial match (a run) steps on every
// event; completed matches are emitted ordered by their first event, and
// the after-match skip strategy prunes runs that started too early.
//
// Per-key state is a separate, serialisable value: the runs plus a shared
// buffer in which each event is stored once and each run holds a chain of
// reference-counted nodes (State.MarshalBinary). Expressions are compiled
// once into closures over schema slots (event.Schema).
//
// The package does not read input, order events by time, or store state:
// the engine does that.
package nfa
