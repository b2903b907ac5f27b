package engine

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestKeyTableAgreesWithMap puts and deletes keys at random, with hashes
// drawn from a small range so that probe runs collide and wrap, and checks
// after every step that the table finds exactly what a map holds. Some keys
// are longer than an entry's copy (entry.short), and agree with others in
// all of it.
func TestKeyTableAgreesWithMap(t *testing.T) {
	for _, hashes := range []uint64{1, 7, 64, 1 << 40} {
		t.Run(fmt.Sprint(hashes), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, hashes))
			var tab keyTable
			want := map[string]*entry{}
			hashOf := func(k string) uint64 { return uint64(len(k)*7919+int(k[len(k)-1])) % hashes }
			steps := 20000
			if hashes == 1 { // every key in one probe run, checked at every step
				steps = 2000
			}
			for step := range steps {
				k := fmt.Sprint("k", r.IntN(600))
				if len(k)%2 == 0 {
					k = strings.Repeat("-", 24) + k
				}
				if en := want[k]; en != nil && r.IntN(3) > 0 {
					tab.del(en)
					delete(want, k)
				} else if en == nil {
					en = &entry{}
					en.setKey(k, hashOf(k))
					tab.put(en)
					want[k] = en
				}
				if tab.len() != len(want) {
					t.Fatalf("step %d: len %d, want %d", step, tab.len(), len(want))
				}
				if step%97 == 0 || hashes == 1 {
					for k, en := range want {
						if got := tab.get(en.hash, []byte(k)); got != en {
							t.Fatalf("step %d: get(%q) = %v, want its entry", step, k, got)
						}
					}
					if got := tab.get(hashOf("absent"), []byte("absent")); got != nil {
						t.Fatalf("step %d: found a key never put", step)
					}
					n := 0
					for id, en := range tab.all() {
						if want[id] != en {
							t.Fatalf("step %d: all yields %q, which is not in", step, id)
						}
						n++
					}
					if n != len(want) {
						t.Fatalf("step %d: all yields %d keys, want %d", step, n, len(want))
					}
				}
			}
			for _, en := range want {
				tab.del(en)
			}
			if tab.len() != 0 || len(tab.slots) != minKeySlots {
				t.Fatalf("emptied: len %d over %d slots, want 0 over %d", tab.len(), len(tab.slots), minKeySlots)
			}
		})
	}
}

// TestKeyTableSampleVisitsEveryKey: evict's samples go round the table.
func TestKeyTableSampleVisitsEveryKey(t *testing.T) {
	var tab keyTable
	for i := range 100 {
		k := fmt.Sprint(i)
		en := &entry{}
		en.setKey(k, uint64(i)*0x9e3779b97f4a7c15)
		tab.put(en)
	}
	seen := map[string]bool{}
	for range 13 {
		n := 0
		for en := range tab.sample(8) {
			seen[en.id] = true
			n++
		}
		if n != 8 {
			t.Fatalf("a sample of 8 gave %d", n)
		}
	}
	if len(seen) != 100 {
		t.Fatalf("13 samples of 8 saw %d of 100 keys", len(seen))
	}
}
