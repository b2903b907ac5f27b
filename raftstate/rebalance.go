package raftstate

import (
	"cmp"
	"slices"
)

// plan decides what the rebalancer proposes for state s when the members
// in live are the live ones: the member states that change, and new owners
// for the partitions that must move. An empty command means nothing to do.
//
// Every known partition goes to a live member, and the counts of live
// members differ by at most one. Within that, as few partitions as
// possible move: the members that own the most keep the larger share
// (when the partitions do not divide evenly), every member keeps what it
// owns up to its share, and only the rest moves, each partition to the
// member furthest below its share. Ties go to the smaller id and
// partitions are taken in order, so the plan is a function of s and live.
//
// With no live member, partitions stay where they are.
func plan(s *State, live map[string]bool) assignCmd {
	var cmd assignCmd
	var alive []string
	for _, m := range s.Members() {
		want := MemberLost
		if live[m.ID] {
			want = MemberAlive
			alive = append(alive, m.ID)
		}
		if m.State != want {
			cmd.States = append(cmd.States, stateChange{ID: m.ID, State: want.String()})
		}
	}
	parts := s.Partitions()
	if len(alive) == 0 || len(parts) == 0 {
		return cmd
	}

	owns := make(map[string]int, len(alive))
	for _, ps := range parts {
		if live[ps.Owner] {
			owns[ps.Owner]++
		}
	}
	// Shares: len(parts)/len(alive) each, one more for the first
	// len(parts)%len(alive) members by what they own, most first.
	byOwned := slices.Clone(alive)
	slices.SortStableFunc(byOwned, func(a, b string) int { return cmp.Compare(owns[b], owns[a]) })
	share := make(map[string]int, len(alive))
	for i, id := range byOwned {
		share[id] = len(parts) / len(alive)
		if i < len(parts)%len(alive) {
			share[id]++
		}
	}

	kept := make(map[string]int, len(alive))
	var moving []PartitionState
	for _, ps := range parts {
		if live[ps.Owner] && kept[ps.Owner] < share[ps.Owner] {
			kept[ps.Owner]++
			continue
		}
		moving = append(moving, ps)
	}
	for _, ps := range moving {
		to := ""
		for _, id := range alive { // sorted by id
			if to == "" || share[id]-kept[id] > share[to]-kept[to] {
				to = id
			}
		}
		kept[to]++
		cmd.Assign = append(cmd.Assign, assignment{
			Topic:     ps.Partition.Topic,
			Partition: ps.Partition.Partition,
			From:      ps.Epoch,
			Owner:     to,
		})
	}
	return cmd
}

func (c assignCmd) empty() bool { return len(c.Assign) == 0 && len(c.States) == 0 }
