package prefetch

import "unsafe"

// Lines starts loading the cache lines of the n bytes from p into every
// cache level. The memory need not be valid: a prefetch never faults.
//
//go:noescape
func Lines(p unsafe.Pointer, n int)

// Span is Lines of the bytes from before bytes ahead of p to n bytes after
// it: memory around an object, which the object's own pointer may not
// reach in Go (checkptr forbids arithmetic out of an allocation).
//
//go:noescape
func Span(p unsafe.Pointer, before, n int)
