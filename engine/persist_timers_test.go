package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/motifcep/motif/checkpoint"
)

// timerPatterns have deadlines of every kind, in two key groups: silent
// ones (noise), absences (quiet), timeouts with output (reported) and a
// suppression (loud), so that keys of one group wait on several deadlines.
const timerPatterns = `pattern noise {
    key k
    within 5s
    begin       n: n
    followed_by m: m
}
pattern quiet {
    key k
    within 20s
    begin           a: a
    not_followed_by x: x
}
pattern reported {
    key k
    within 12s
    begin       a: a
    followed_by n: n
    followed_by m: m
    on_timeout emit low
}
pattern loud {
    key j
    within 30s
    suppress 15s
    begin a: a
}`

// inMemory runs the in-memory engine over the events of timerPatterns to
// their end and returns what it emitted.
func inMemory(t *testing.T, evs []string) *recorder { return inMemoryWith(t, timerPatterns, evs) }

// inMemoryWith is inMemory with the patterns of src.
func inMemoryWith(t *testing.T, src string, evs []string) *recorder {
	t.Helper()
	e, rec := newEngine(t, src, Config{})
	var seq uint64
	for _, js := range evs {
		if err := push(t, e, &seq, js); err != nil {
			t.Fatal(err)
		}
	}
	e.Close()
	return rec
}

// timerEvents returns n events over keys keys, a few per second.
func timerEvents(n, keys int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	types := []string{"n", "m", "a", "x"}
	var out []string
	ms := 0
	for i := range n {
		ms += rng.IntN(700)
		ts := t0.Add(time.Duration(ms) * time.Millisecond).Format(time.RFC3339Nano)
		out = append(out, fmt.Sprintf(`{"type":%q,"time":%q,"id":"e%d","k":"k%d","j":"j%d"}`,
			types[rng.IntN(len(types))], ts, i, rng.IntN(keys), rng.IntN(keys/3+1)))
	}
	return out
}

func alertLines(rec *recorder) []string {
	var out []string
	for _, a := range rec.alerts {
		out = append(out, fmt.Sprintf("%s %s %v %v %d", a.ID, a.Kind, a.Key, a.Events, a.End))
	}
	return out
}

// durable is an engine over a store whose owner commits a Flush every few
// events, and may restart the engine from the last commit.
type durable struct {
	t     *testing.T
	s     *checkpoint.Store
	e     *Engine
	rec   *recorder
	cache int64
	seq   uint64
	pend  []byte // the sorter's events at the last commit
	max   int64
	src   string // the patterns
	// counted: a restart gives the engine the totals of the last commit,
	// stored states counted (StateTotals.States).
	counted bool
	totals  []StateTotals
}

func newDurable(t *testing.T, cache int64) *durable { return newDurableWith(t, cache, timerPatterns) }

func newDurableWith(t *testing.T, cache int64, src string) *durable {
	s, err := checkpoint.Open(t.TempDir(), checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d := &durable{t: t, s: s, rec: &recorder{}, cache: cache, max: math.MinInt64, src: src}
	d.start(true)
	return d
}

// start makes a new engine on the store, as a restarted owner does: the
// sorter's events and the largest time seen come back; nothing else does.
func (d *durable) start(empty bool) {
	var schema []string
	if d.e != nil {
		schema = d.e.Schema().Paths()
	}
	rec := d.rec
	var totals []StateTotals
	if d.counted {
		totals = d.totals
	}
	d.e, _ = newEngine(d.t, d.src, Config{Store: d.s, CacheBytes: d.cache, StoreEmpty: empty, Schema: schema, Totals: totals})
	d.e.sink = rec
	if d.pend != nil {
		if err := d.e.RestorePending(d.pend, d.max); err != nil {
			d.t.Fatal(err)
		}
	}
}

func (d *durable) commit() {
	d.t.Helper()
	b := d.s.NewBatch()
	defer b.Close()
	if _, err := d.e.Flush(b); err != nil {
		d.t.Fatal(err)
	}
	if err := b.Commit(false); err != nil {
		d.t.Fatal(err)
	}
	d.pend, d.max = d.e.AppendPending(nil), d.e.MaxEventTime()
	d.totals = d.e.StateTotals()
	cached := 0
	for _, g := range d.e.groups {
		cached += g.keys.len()
	}
	if d.e.timers.len() > cached {
		d.t.Fatalf("%d timers in memory for %d cached keys", d.e.timers.len(), cached)
	}
}

// Keys evicted from the cache and keys of an engine restarted on the store
// are woken by the store's timer index exactly as the in-memory engine
// wakes them: the same alerts in the same order, while the heap holds
// timers of cached keys only.
func TestStoredTimersWakeEvictedKeys(t *testing.T) {
	evs := timerEvents(3000, 120)
	want := inMemory(t, evs)
	if len(want.alerts) < 100 {
		t.Fatalf("%d alerts: the fixture does not exercise timers", len(want.alerts))
	}
	kinds := map[string]int{}
	for _, a := range want.alerts {
		kinds[a.Pattern+"/"+a.Kind]++
	}
	for _, k := range []string{"quiet/match", "reported/timeout", "loud/match"} {
		if kinds[k] == 0 {
			t.Fatalf("no %s alert in the fixture: %v", k, kinds)
		}
	}

	for _, tc := range []struct {
		name    string
		cache   int64
		every   int  // events per commit
		restart int  // commits per restart (0: none)
		counted bool // restarts know how many states are stored
	}{
		{"no cache", 1, 7, 0, false},
		{"small cache", 8 << 10, 13, 0, false},
		{"restarts", 1, 11, 5, false},
		{"restarts with cache", 8 << 10, 29, 3, false},
		{"restarts with counts", 1, 11, 5, true},
		{"restarts with cache and counts", 8 << 10, 29, 3, true},
		{"restarts with a large cache and counts", 1 << 30, 29, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDurable(t, tc.cache)
			d.counted = tc.counted
			commits := 0
			for i, js := range evs {
				if err := push(t, d.e, &d.seq, js); err != nil {
					t.Fatal(err)
				}
				if i%tc.every != tc.every-1 {
					continue
				}
				d.commit()
				if commits++; tc.restart > 0 && commits%tc.restart == 0 {
					d.start(false)
				}
			}
			d.e.Close()
			got := alertLines(d.rec)
			if w := alertLines(want); !slices.Equal(got, w) {
				for i := range min(len(got), len(w)) {
					if got[i] != w[i] {
						t.Fatalf("%d alerts, want %d; first difference at %d:\n got %s\nwant %s", len(got), len(w), i, got[i], w[i])
					}
				}
				t.Fatalf("%d alerts, want %d", len(got), len(w))
			}
			if _, _, evictions := d.e.CacheStats(); evictions == 0 && tc.restart == 0 && tc.cache < 1<<30 {
				t.Fatal("nothing was evicted")
			}
		})
	}
}

// Stored timers of a pattern version the engine does not run, and timers
// no stored state accounts for, are deleted once the watermark passes them.
func TestStaleStoredTimersDeleted(t *testing.T) {
	d := newDurable(t, 1)
	b := d.s.NewBatch()
	at0 := t0.Add(time.Second).UnixNano()
	b.PutTimer(at0, "gone", 1, []byte("x"))
	b.PutTimer(at0+1, "quiet", 1, []byte("\x03\x02\x00\x00\x00k9")) // no state
	b.PutTimer(at0+2, "quiet", 7, []byte("y"))                      // another version
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	d.start(false)
	if err := push(t, d.e, &d.seq, fmt.Sprintf(`{"type":"n","time":%q,"k":"k1"}`, at(60))); err != nil {
		t.Fatal(err)
	}
	d.commit()
	var left []string
	if err := d.s.Timers(math.MaxInt64, func(at int64, pattern string, version uint32, key []byte) bool {
		left = append(left, fmt.Sprintf("%s/%d/%q", pattern, version, key))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{`noise/1/"\x03\x02\x00\x00\x00k1"`} // k1's state
	if !slices.Equal(left, want) {
		t.Fatalf("stored timers %v, want %v", left, want)
	}
}

// Partial matches of keys never seen again leave the store once their
// window and suppression have passed, whether their key stays cached, is
// evicted, or is cached with a stored timer (the partial match's deadline)
// earlier than its wake in the cache (the end of the suppression).
func TestExpiredStatesLeaveTheStore(t *testing.T) {
	const src = `pattern sup {
    key k
    within 5s
    suppress 40s
    begin       a: a
    followed_by b: b
}`
	for _, cache := range []int64{1, 8 << 10, 64 << 20} {
		t.Run(fmt.Sprint(cache), func(t *testing.T) {
			d := newDurableWith(t, cache, src)
			at := func(ms int) string { return t0.Add(time.Duration(ms) * time.Millisecond).Format(time.RFC3339Nano) }
			i := 0
			pushJS := func(typ, key string, ms int) {
				t.Helper()
				if err := push(t, d.e, &d.seq, fmt.Sprintf(`{"type":%q,"time":%q,"k":%q}`, typ, at(ms), key)); err != nil {
					t.Fatal(err)
				}
				if i++; i%5 == 0 {
					d.commit()
				}
			}
			// Each key alerts (suppressed for 40s from then), then starts
			// another match, whose window ends long before the suppression.
			for k := range 100 {
				key := fmt.Sprint("k", k)
				pushJS("a", key, 10*k)
				pushJS("b", key, 10*k+1)
				pushJS("a", key, 10*k+2)
			}
			d.commit()
			if len(d.rec.alerts) != 100 {
				t.Fatalf("%d alerts, want one per key", len(d.rec.alerts))
			}
			stored := func() int {
				n := 0
				if err := d.s.AllStates(func(_ string, _ uint32, key, _ []byte) bool {
					if !strings.Contains(string(key), "z") {
						n++
					}
					return true
				}); err != nil {
					t.Fatal(err)
				}
				return n
			}
			if stored() == 0 {
				t.Fatal("nothing stored: the test proves nothing")
			}
			// Only key z from here on, well past every suppression.
			for s := 2; s <= 90; s++ {
				pushJS("c", "z", 1000*s)
			}
			d.commit()
			if n := stored(); n != 0 {
				t.Fatalf("%d states of keys whose windows and suppressions passed are still stored", n)
			}
		})
	}
}

// countingStore counts the engine's reads of a store.
type countingStore struct {
	StateStore
	gets, timers int
}

func (c *countingStore) GetState(pattern string, version uint32, key []byte) ([]byte, bool, error) {
	c.gets++
	return c.StateStore.GetState(pattern, version, key)
}

func (c *countingStore) Timers(upTo int64, fn func(at int64, pattern string, version uint32, key []byte) bool) error {
	c.timers++
	return c.StateStore.Timers(upTo, fn)
}

// While the cache holds every stored state, a key that is not cached has
// none and no stored timer wakes anything the cache does not: the engine
// reads neither states nor timers. Once states are evicted, or after a
// restart, it reads both again, and finds what it needs.
func TestNoStoreReadsWhileAllCached(t *testing.T) {
	evs := timerEvents(2000, 120)
	want := inMemory(t, evs)

	for _, tc := range []struct {
		name      string
		cache     int64
		restartAt int // event index of a restart (0: none)
		reads     bool
	}{
		{"everything cached", 1 << 30, 0, false},
		{"evictions", 4 << 10, 0, true},
		{"restart", 1 << 30, 1000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDurable(t, tc.cache)
			d.counted = true
			cs := &countingStore{StateStore: d.s}
			d.e.persist.store = cs
			for i, js := range evs {
				if i == tc.restartAt && i > 0 {
					d.commit()
					d.start(false)
					d.e.persist.store = cs
				}
				if err := push(t, d.e, &d.seq, js); err != nil {
					t.Fatal(err)
				}
				if i%50 == 49 {
					d.commit()
				}
			}
			d.e.Close()
			if got, w := alertLines(d.rec), alertLines(want); !slices.Equal(got, w) {
				t.Fatalf("%d alerts, want %d", len(got), len(w))
			}
			if read := cs.gets+cs.timers > 0; read != tc.reads {
				t.Fatalf("%d state reads, %d timer reads; want reads: %v", cs.gets, cs.timers, tc.reads)
			}
		})
	}
}
