package prefetch

import (
	"testing"
	"unsafe"

	"github.com/motifcep/motif/internal/golden"
)

var _ = golden.Update

// TestLinesNeverFaults prefetches memory that is not there, with Lines and
// Span: a hint must not take the process down whatever address it is given.
func TestLinesNeverFaults(t *testing.T) {
	buf := make([]byte, 1000)
	Lines(unsafe.Pointer(&buf[0]), len(buf))
	Lines(nil, 4096)
	Lines(unsafe.Add(nil, 1<<40), 256) // not mapped
	Lines(unsafe.Pointer(&buf[0]), -1)
	Span(unsafe.Pointer(&buf[500]), 500, 500)
	Span(unsafe.Pointer(&buf[0]), 1<<40, 64) // before it: not mapped
	Span(nil, 64, 64)
	Span(unsafe.Pointer(&buf[0]), 0, -1)
	if buf[0] != 0 || buf[999] != 0 {
		t.Fatal("a prefetch changed memory")
	}
}
