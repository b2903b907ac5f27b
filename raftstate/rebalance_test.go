package raftstate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// stateOf builds a state with members ids and partitions t/0.. owned as
// owners says ("" for unassigned).
func stateOf(t testing.TB, ids []string, owners ...string) *State {
	t.Helper()
	f := newLogFSM()
	for _, id := range ids {
		f.mustApply(t, addMember(id))
	}
	f.mustApply(t, setPartitions("t", len(owners)))
	var c assignCmd
	for i, o := range owners {
		if o != "" {
			c.Assign = append(c.Assign, assignment{Topic: "t", Partition: int32(i), Owner: o})
		}
	}
	return f.mustApply(t, encodeJSON(kindAssign, c))
}

// describePlan is "t/0→a t/3→b" for a plan's assignments.
func describePlan(c assignCmd) string {
	var parts []string
	for _, a := range c.Assign {
		parts = append(parts, fmt.Sprintf("%s/%d→%s", a.Topic, a.Partition, a.Owner))
	}
	for _, sc := range c.States {
		parts = append(parts, sc.ID+"="+sc.State)
	}
	return strings.Join(parts, " ")
}

func liveSet(ids ...string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func TestPlan(t *testing.T) {
	abc := []string{"a", "b", "c"}
	for _, tc := range []struct {
		name   string
		owners []string
		live   []string
		want   string
	}{
		{"unassigned", []string{"", "", "", "", "", ""}, abc,
			"t/0→a t/1→b t/2→c t/3→a t/4→b t/5→c"},
		{"balanced stays", []string{"a", "b", "c", "a", "b", "c"}, abc, ""},
		{"c lost", []string{"a", "a", "b", "b", "c", "c"}, []string{"a", "b"},
			"t/4→a t/5→b c=lost"},
		{"c back: two move", []string{"a", "a", "b", "b", "a", "b"}, abc,
			"t/4→c t/5→c"},
		{"join moves only enough", []string{"a", "a", "a", "a", "a", "a", "a"}, []string{"a", "b"},
			"t/4→b t/5→b t/6→b c=lost"},
		{"uneven keeps the larger share where it is", []string{"a", "a", "a", "b", "b", "c", "c"}, abc, ""},
		{"nobody live", []string{"a", "b"}, nil, "a=lost b=lost c=lost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stateOf(t, abc, tc.owners...)
			if got := describePlan(plan(s, liveSet(tc.live...))); got != tc.want {
				t.Errorf("plan = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPlanProperties checks, on random states, that a plan gives every
// partition to a live member, balances counts within one, moves no more
// partitions than the least any balanced assignment must (found by trying
// every choice of the members that get one more), and is stable: the state
// it produces needs no further plan.
func TestPlanProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := []string{"a", "b", "c", "d", "e"}
	for round := range 500 {
		nMembers := 1 + rng.IntN(len(ids))
		members := ids[:nMembers]
		owners := make([]string, rng.IntN(13))
		for i := range owners {
			if k := rng.IntN(nMembers + 1); k < nMembers {
				owners[i] = members[k]
			}
		}
		var live []string
		for _, id := range members {
			if rng.IntN(4) > 0 {
				live = append(live, id)
			}
		}
		if len(live) == 0 {
			live = members[:1]
		}
		name := fmt.Sprintf("round %d: owners %q, live %q", round, owners, live)

		f := newLogFSM()
		for _, id := range members {
			f.mustApply(t, addMember(id))
		}
		f.mustApply(t, setPartitions("t", len(owners)))
		var init assignCmd
		for i, o := range owners {
			if o != "" {
				init.Assign = append(init.Assign, assignment{Topic: "t", Partition: int32(i), Owner: o})
			}
		}
		s := f.mustApply(t, encodeJSON(kindAssign, init))
		c := plan(s, liveSet(live...))
		after := f.mustApply(t, encodeJSON(kindAssign, c))

		counts := map[string]int{}
		for _, ps := range after.Partitions() {
			if !slices.Contains(live, ps.Owner) {
				t.Fatalf("%s: %s owned by %q, not live", name, ps.Partition, ps.Owner)
			}
			counts[ps.Owner]++
		}
		lo, hi := len(owners), 0
		for _, id := range live {
			lo, hi = min(lo, counts[id]), max(hi, counts[id])
		}
		if len(owners) > 0 && hi-lo > 1 {
			t.Fatalf("%s: counts %v not balanced", name, counts)
		}
		if want := minMoves(owners, live); len(c.Assign) != want {
			t.Fatalf("%s: %d moves (%s), the least is %d", name, len(c.Assign), describePlan(c), want)
		}
		if again := plan(after, liveSet(live...)); len(again.Assign) != 0 {
			t.Fatalf("%s: not stable: then %s", name, describePlan(again))
		}
	}
}

// minMoves is the least number of partitions any balanced assignment of
// owners to live must move, by trying every set of members that get the
// larger share.
func minMoves(owners, live []string) int {
	owns := map[string]int{}
	for _, o := range owners {
		owns[o]++
	}
	n := len(live)
	base, extra := len(owners)/n, len(owners)%n
	best := len(owners)
	for mask := range 1 << n {
		if popcount(mask) != extra {
			continue
		}
		kept := 0
		for i, id := range live {
			share := base
			if mask&(1<<i) != 0 {
				share++
			}
			kept += min(owns[id], share)
		}
		best = min(best, len(owners)-kept)
	}
	return best
}

func popcount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}
