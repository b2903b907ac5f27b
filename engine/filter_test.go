package engine

import (
	"fmt"
	"testing"
)

// The stored-key filter answers "maybe" for every key it was told of, in
// its group only as far as its false positives go, and "no" for almost
// every other key.
func TestStoredFilter(t *testing.T) {
	f := newStoredFilter(true)
	g0, g1 := &keyGroup{idx: 0}, &keyGroup{idx: 1}
	const n = 1_000_000
	for i := range n {
		f.add(g0, fmt.Sprint("k", i))
	}
	for i := range n {
		if !f.mayContain(g0, fmt.Sprint("k", i)) {
			t.Fatalf("key k%d, added, is not in the filter", i)
		}
	}
	falsePos := 0
	for i := range n {
		if f.mayContain(g0, fmt.Sprint("other", i)) {
			falsePos++
		}
		if f.mayContain(g1, fmt.Sprint("k", i)) {
			falsePos++
		}
	}
	// Next to none at this fill (a million keys in 16 MiB; about 0.2% at
	// ten million): 0.1% would mean the bits of keys overlap far more
	// than they should.
	if rate := float64(falsePos) / (2 * n); rate > 0.001 {
		t.Fatalf("false positive rate %.4f%%", 100*rate)
	}
	if newStoredFilter(false).mayContain(g0, "anything") != true {
		t.Fatal("an incomplete filter ruled a key out")
	}
}
