package arena

import (
	"fmt"
	"strings"
	"testing"

	"github.com/motifcep/motif/internal/golden"
)

var _ = golden.Update

// TestString checks the strings the arena hands out: each is its own bytes
// however many come after it in the same chunk, short ones share chunks, and
// empty and long ones take none.
func TestString(t *testing.T) {
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "\x03\x06\x00\x00\x00c%05d", i)
	}
	got := make([]string, len(keys))
	allocs := testing.AllocsPerRun(10, func() {
		var chunk []byte
		for i, k := range keys {
			got[i] = String(&chunk, k, 256, 64)
		}
	})
	for i, s := range got {
		if s != string(keys[i]) {
			t.Fatalf("string %d is %q, want %q", i, s, keys[i])
		}
	}
	// 1000 strings of 11 bytes fill 43 chunks of 256 bytes.
	if allocs > 50 {
		t.Errorf("1000 strings took %.0f allocations", allocs)
	}
	var chunk []byte
	if long := strings.Repeat("k", 65); String(&chunk, []byte(long), 256, 64) != long || chunk != nil {
		t.Errorf("a long string went into the chunk")
	}
	if String(&chunk, nil, 256, 64) != "" || chunk != nil {
		t.Errorf("an empty string went into the chunk")
	}
}
