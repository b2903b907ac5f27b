package engine

import (
	"fmt"
	"slices"
	"testing"
)

// unkeyedPattern has no key: all its events share one state.
const unkeyedPattern = `pattern p {
    within 1m
    begin       a: a where v > 5
    followed_by b: b
}`

// A pattern without a key holds one entry however many events come (none
// after a b completes every partial match), and none once its window has
// passed.
func TestUnkeyedPatternHoldsOneKey(t *testing.T) {
	e, rec := newEngine(t, unkeyedPattern, Config{})
	var seq uint64
	for i := range 200 {
		typ := "a"
		if i%10 == 9 {
			typ = "b"
		}
		push(t, e, &seq, fmt.Sprintf(`{"type":%q,"time":%q,"v":9}`, typ, at(i)))
		want := 1
		if typ == "b" {
			want = 0
		}
		if n := keys(e); n != want {
			t.Fatalf("after event %d: %d keys in the table, want %d", i, n, want)
		}
	}
	if len(rec.alerts) == 0 {
		t.Fatal("no alert")
	}
	push(t, e, &seq, fmt.Sprintf(`{"type":"a","time":%q,"v":9}`, at(300)))
	push(t, e, &seq, fmt.Sprintf(`{"type":"c","time":%q}`, at(400)))
	if n := keys(e); n != 0 {
		t.Fatalf("%d keys after the window passed, want 0", n)
	}
}

// The state of a pattern without a key goes to the store and comes back
// after a restart like any key's: the same alerts as in memory.
func TestUnkeyedPatternSurvivesRestarts(t *testing.T) {
	var evs []string
	for i := range 300 {
		typ := []string{"a", "a", "b", "c"}[i%4]
		evs = append(evs, fmt.Sprintf(`{"type":%q,"time":%q,"id":"e%d","v":%d}`, typ, at(i*7), i, i%11))
	}
	want := inMemoryWith(t, unkeyedPattern, evs)
	if len(want.alerts) < 10 {
		t.Fatalf("%d alerts: the fixture matches too little", len(want.alerts))
	}
	for _, cache := range []int64{1, 1 << 30} {
		d := newDurableWith(t, cache, unkeyedPattern)
		for i, js := range evs {
			if err := push(t, d.e, &d.seq, js); err != nil {
				t.Fatal(err)
			}
			if i%5 == 4 {
				d.commit()
				d.start(false)
			}
		}
		d.e.Close()
		if got, w := alertLines(d.rec), alertLines(want); !slices.Equal(got, w) {
			t.Fatalf("cache %d: %d alerts after restarts, want %d:\n got %v\nwant %v", cache, len(got), len(w), got, w)
		}
	}
}
