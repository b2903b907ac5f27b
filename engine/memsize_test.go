package engine

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/motifcep/motif/event"
)

// mapStore is a StateStore and StateWriter in a map, for tests that
// measure the engine's heap without a database's.
type mapStore struct {
	states map[string][]byte
	timers map[string]storedTimerRow
}

type storedTimerRow struct {
	at               int64
	pattern, version string
	key              string
}

func newMapStore() *mapStore {
	return &mapStore{states: map[string][]byte{}, timers: map[string]storedTimerRow{}}
}

func stateID(pattern string, version uint32, key []byte) string {
	return fmt.Sprintf("%s/%d/%s", pattern, version, key)
}

func (m *mapStore) GetState(pattern string, version uint32, key []byte) ([]byte, bool, error) {
	b, ok := m.states[stateID(pattern, version, key)]
	return b, ok, nil
}

func (m *mapStore) PutState(pattern string, version uint32, key, state []byte) {
	m.states[stateID(pattern, version, key)] = slices.Clone(state)
}

func (m *mapStore) DeleteState(pattern string, version uint32, key []byte) {
	delete(m.states, stateID(pattern, version, key))
}

func (m *mapStore) PutTimer(at int64, pattern string, version uint32, key []byte) {
	m.timers[fmt.Sprint(at, stateID(pattern, version, key))] = storedTimerRow{at, pattern, fmt.Sprint(version), string(key)}
}

func (m *mapStore) DeleteTimer(at int64, pattern string, version uint32, key []byte) {
	delete(m.timers, fmt.Sprint(at, stateID(pattern, version, key)))
}

func (m *mapStore) Timers(upTo int64, fn func(int64, string, uint32, []byte) bool) error {
	var rows []storedTimerRow
	for _, r := range m.timers {
		if r.at <= upTo {
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b storedTimerRow) int {
		return cmp.Or(cmp.Compare(a.at, b.at), strings.Compare(a.pattern, b.pattern), strings.Compare(a.version, b.version), strings.Compare(a.key, b.key))
	})
	for _, r := range rows {
		var v uint32
		fmt.Sscan(r.version, &v)
		if !fn(r.at, r.pattern, v, []byte(r.key)) {
			break
		}
	}
	return nil
}

type nullWriter struct{}

func (nullWriter) PutState(string, uint32, []byte, []byte)   {}
func (nullWriter) DeleteState(string, uint32, []byte)        {}
func (nullWriter) PutTimer(int64, string, uint32, []byte)    {}
func (nullWriter) DeleteTimer(int64, string, uint32, []byte) {}

func heapAlloc() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// The bytes the cache counts for its entries are what they take in the
// heap, within 15%, whatever the shape of the states, and whether they were
// built by events or read back from the store: the cache bound bounds
// memory.
func TestCacheBytesMatchHeap(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("measures the heap")
	}
	// probe reads a key back from the store and changes nothing.
	const probe = `
pattern probe {
    key k
    within 1h
    begin z: z where x > 100
}`
	for _, tc := range []struct {
		name, src string
		events    func(i int) []string // the events of key i
	}{
		{"one event", `pattern p {
    key k
    within 1h
    begin       a: a
    followed_by b: b
}`, func(i int) []string {
			return []string{fmt.Sprintf(`{"type":"a","time":%q,"id":"e%d","k":"user%d"}`, at(i/100), i, i)}
		}},
		{"one event with a note", `pattern p {
    key k
    within 1h
    begin       a: a
    followed_by b: b
    emit low { note: a.note }
}`, func(i int) []string {
			return []string{fmt.Sprintf(`{"type":"a","time":%q,"id":"e%d","k":"user%d","note":%q}`, at(i/100), i, i, strings.Repeat("x", 300))}
		}},
		{"several patterns and runs", `pattern p {
    key k
    within 1h
    begin       a+: a
    followed_by b:  b
}
pattern q {
    key k
    within 1h
    begin       a: a where x > 1
    followed_by c: c
    emit low { x: a.x, y: a.y }
}
pattern r {
    key k
    within 1h
    begin a{5}: a
}`, func(i int) []string {
			var out []string
			for j := range 3 {
				out = append(out, fmt.Sprintf(`{"type":"a","time":%q,"id":"e%d.%d","k":"user%d","x":%d,"y":"y%d"}`, at(i/100), i, j, i, j, i))
			}
			return out
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 20000
			s := newMapStore()
			e, _ := newEngine(t, tc.src+probe, Config{Store: s, StoreEmpty: true, CacheBytes: 1 << 40})
			// One decoder, as a pipeline has: consecutive events share
			// the chunks their strings are copied to.
			dec := event.NewDecoder(e.Schema(), event.DecoderOptions{RequireTime: true})
			var seq uint64
			var w StateWriter = s
			pushAll := func(from, to int, events func(int) []string) {
				for i := from; i < to; i++ {
					for _, js := range events(i) {
						ev := e.NewEvent()
						if err := dec.Decode([]byte(js), ev); err != nil {
							t.Fatal(err)
						}
						seq++
						ev.Seq = seq
						if err := e.Push(ev); err != nil {
							t.Fatal(err)
						}
					}
				}
				if _, err := e.Flush(w); err != nil {
					t.Fatal(err)
				}
			}
			measure := func(what string, events func(int) []string) {
				heap0, counted0 := heapAlloc(), e.persist.cached
				pushAll(100, 100+n, events)
				heap, counted := heapAlloc()-heap0, e.persist.cached-counted0
				ratio := float64(counted) / float64(heap)
				t.Logf("%s: heap %d bytes a key, counted %d: %.2f", what, heap/n, counted/n, ratio)
				if ratio < 0.85 || ratio > 1.15 {
					t.Errorf("%s: the cache counts %d bytes, the heap grew by %d", what, counted, heap)
				}
			}
			pushAll(0, 100, tc.events) // the engine's own buffers
			w = nullWriter{}           // the store's growth is not the cache's
			measure("built by events", tc.events)
			w = s

			// Into the store, out of the cache.
			for _, g := range e.groups {
				for _, en := range g.keys.all() {
					e.markDirty(en)
				}
			}
			e.persist.limit = 1
			if _, err := e.Flush(s); err != nil {
				t.Fatal(err)
			}
			if k := keys(e); k != 0 {
				t.Fatalf("%d keys cached after evicting all", k)
			}
			e.persist.limit = 1 << 40
			measure("read back", func(i int) []string {
				return []string{fmt.Sprintf(`{"type":"z","time":%q,"k":"user%d","x":0}`, at(n/100+1), i)}
			})
			runtime.KeepAlive(e)
		})
	}
}
