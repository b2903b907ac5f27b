package prefetch

import "unsafe"

// Lines starts loading the cache lines of the n bytes from p into every
// cache level. The memory need not be valid: a prefetch never faults.
//
//go:noescape
func Lines(p unsafe.Pointer, n int)
