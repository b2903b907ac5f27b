// Package prefetch asks the processor to bring memory into the cache ahead
// of its use, without waiting for it. A loop that knows which cold memory
// it will touch a few iterations on (an event decoded on another core, or
// an object recycled after an hour) can overlap those misses with its work
// instead of stalling on each in turn. It is a hint: it never faults, and
// on architectures without an implementation it does nothing.
package prefetch
