package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/motifcep/motif/internal/wait"
)

// TestMaxPartialMatches runs a node whose cap on partial matches is 2: a
// key that starts four partial matches of a followed_by_any pattern keeps
// the two oldest, and the node counts the two it dropped, so the closing
// event completes two matches, not four. A key under the cap is untouched.
func TestMaxPartialMatches(t *testing.T) {
	n, err := Open(Config{Dir: t.TempDir(), CommitInterval: time.Millisecond, CheckpointInterval: -1, MaxPartialMatches: 2})
	if err != nil {
		t.Fatal(err)
	}
	running(t, n)
	ctx := context.Background()

	src := `pattern fan {
    key    user
    within 1h
    begin           a: login
    followed_by_any b: payment
}`
	if _, diags, err := n.Apply(ctx, []File{{"fan.motif", []byte(src)}}); err != nil || diags.HasErrors() {
		t.Fatal(err, diags)
	}
	all := subscribe(t, n, Cursor{}, Filter{})
	ev := func(id, typ, user string, sec int) []byte {
		return fmt.Appendf(nil, `{"type":%q,"id":%q,"user":%q,"time":"2026-01-01T00:00:%02dZ"}`, typ, id, user, sec)
	}
	batch := [][]byte{
		ev("l1", "login", "u1", 1), ev("l2", "login", "u1", 2), ev("l3", "login", "u1", 3), ev("l4", "login", "u1", 4),
		ev("m1", "login", "u2", 5),
		ev("p1", "payment", "u1", 10), ev("p2", "payment", "u2", 11),
	}
	if res, err := n.Publish(ctx, batch); err != nil || res.Accepted != len(batch) {
		t.Fatalf("publish: %+v %v", res, err)
	}
	// The last payment's own time is the watermark: p2 matches once the
	// pipeline has read it, and then p1 has been matched too.
	wait.For(t, "u2's alert", func() bool {
		for _, a := range all.alerts() {
			if a.Key == "u2" {
				return true
			}
		}
		return false
	})
	byKey := map[string]int{}
	for _, a := range all.alerts() {
		byKey[a.Key]++
	}
	if byKey["u1"] != 2 || byKey["u2"] != 1 {
		t.Errorf("alerts per key %v, want u1 2 (the cap), u2 1", byKey)
	}
	dropped := uint64(0)
	for _, p := range n.pipe.Stats().Patterns {
		dropped += p.CapDropped
	}
	if dropped != 2 {
		t.Errorf("%d partial matches dropped by the cap, want 2", dropped)
	}
}
