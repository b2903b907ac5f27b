//go:build !amd64

package prefetch

import "unsafe"

// Lines does nothing here (see the package comment).
func Lines(p unsafe.Pointer, n int) {}

// Span does nothing here (see the package comment).
func Span(p unsafe.Pointer, before, n int) {}
