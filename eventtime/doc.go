// Package eventtime puts events into event-time order and tracks watermarks
// (language.md §3.2).
//
// A Sorter buffers the events of one stream and releases them in (Time, Seq)
// order once the watermark, max event time seen - out-of-orderness, has
// reached them; it rejects late events, those older than the watermark.
// Watermarks combines the watermarks of a source's partitions, leaving out
// idle ones.
//
// Nothing here reads the wall clock except through an injected clock, decodes
// events, or knows about keys or patterns. Neither type is safe for
// concurrent use: each belongs to the goroutine that drives its stream.
package eventtime
