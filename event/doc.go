// Package event holds what flows through Motif: Value, the dynamically typed
// value of a field or expression; Event, one decoded input event whose
// attributes sit in slots assigned by a Schema; and the decoder that turns an
// NDJSON line into an Event without building maps.
//
// It knows nothing of patterns or matching.
package event
