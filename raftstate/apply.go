package raftstate

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// apply applies one command, the log entry at index, to s. It returns the
// new state, s itself when the command changes nothing, or an error that
// rejects the command and leaves s as it was.
//
// apply is deterministic: it reads no clock, and never lets the order of a
// map's iteration decide anything (epochs are issued in partition order, or
// in the order of the command).
func apply(s *State, index uint64, cmd []byte) (*State, error) {
	if len(cmd) == 0 {
		return nil, fmt.Errorf("%w: empty command", ErrCorrupt)
	}
	k, body := kind(cmd[0]), cmd[1:]
	switch k {
	case kindCatalog:
		c, err := decodeCatalog(body)
		if err != nil {
			return nil, err
		}
		return applyCatalog(s, index, c)
	case kindCheckpoint, kindCheckpointV1:
		c, err := decodeCheckpoint(k, body)
		if err != nil {
			return nil, err
		}
		return applyCheckpoint(s, index, c)
	case kindAddMember:
		var c addMemberCmd
		if err := decodeJSON(k, body, &c); err != nil {
			return nil, err
		}
		return applyAddMember(s, index, c)
	case kindRemoveMember:
		var c removeMemberCmd
		if err := decodeJSON(k, body, &c); err != nil {
			return nil, err
		}
		return applyRemoveMember(s, index, c)
	case kindSetPartitions:
		var c setPartitionsCmd
		if err := decodeJSON(k, body, &c); err != nil {
			return nil, err
		}
		return applySetPartitions(s, index, c)
	case kindAssign:
		var c assignCmd
		if err := decodeJSON(k, body, &c); err != nil {
			return nil, err
		}
		return applyAssign(s, index, c)
	}
	return nil, fmt.Errorf("%w: unknown command kind %d", ErrCorrupt, cmd[0])
}

func applyCatalog(s *State, index uint64, c catalogCmd) (*State, error) {
	if c.From != s.catalog.Revision {
		return nil, fmt.Errorf("%w: computed from revision %d, current is %d", ErrStaleRevision, c.From, s.catalog.Revision)
	}
	n := s.next(index)
	n.catalog = Catalog{Doc: c.Doc, Revision: s.catalog.Revision + 1, Index: index}
	return n, nil
}

func applyCheckpoint(s *State, index uint64, c checkpointCmd) (*State, error) {
	i, ok := s.keys.index[c.Partition]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownPartition, c.Partition)
	}
	ps := *s.parts[i]
	if ps.Owner == "" || ps.Epoch != c.Epoch {
		return nil, fmt.Errorf("%w: %s: checkpoint under epoch %d, current epoch is %d (owner %q)",
			ErrStaleEpoch, c.Partition, c.Epoch, ps.Epoch, ps.Owner)
	}
	ps.Checkpoint = c.Meta
	ps.CheckpointEpoch = c.Epoch
	n := s.next(index)
	n.parts = slices.Clone(s.parts)
	n.parts[i] = &ps
	return n, nil
}

func applyAddMember(s *State, index uint64, c addMemberCmd) (*State, error) {
	if c.ID == "" {
		return nil, fmt.Errorf("%w: member without an id", ErrCorrupt)
	}
	m, ok := s.members[c.ID]
	if ok && m.RaftAddr == c.RaftAddr && m.APIAddr == c.APIAddr {
		return s, nil
	}
	if !ok {
		m = Member{ID: c.ID, Joined: time.Unix(0, c.Joined).UTC(), State: MemberAlive}
	}
	m.RaftAddr, m.APIAddr = c.RaftAddr, c.APIAddr
	n := s.next(index)
	n.members = maps.Clone(s.members)
	n.members[m.ID] = m
	return n, nil
}

// applyRemoveMember removes a member. The partitions it owned become
// unassigned under new epochs, which fences it at once.
func applyRemoveMember(s *State, index uint64, c removeMemberCmd) (*State, error) {
	if _, ok := s.members[c.ID]; !ok {
		return s, nil
	}
	n := s.next(index)
	n.members = maps.Clone(s.members)
	delete(n.members, c.ID)
	n.parts = slices.Clone(s.parts)
	for i, old := range s.parts { // in partition order: so are the epochs issued
		if old.Owner == c.ID {
			ps := *old
			ps.Owner = ""
			ps.Epoch = n.newEpoch()
			n.parts[i] = &ps
		}
	}
	return n, nil
}

// applySetPartitions replaces the set of known partitions. Partitions that
// stay keep their owner, epoch and checkpoint; new ones are unassigned;
// dropped ones are forgotten.
func applySetPartitions(s *State, index uint64, c setPartitionsCmd) (*State, error) {
	list := make([]Partition, 0, len(c.Partitions))
	for _, pj := range c.Partitions {
		p := Partition{Topic: pj.Topic, Partition: pj.Partition}
		if p.Topic == "" || p.Partition < 0 {
			return nil, fmt.Errorf("%w: partition %q", ErrCorrupt, p)
		}
		list = append(list, p)
	}
	slices.SortFunc(list, Partition.Compare)
	list = slices.Compact(list)
	if slices.Equal(list, s.keys.list) {
		return s, nil
	}
	n := s.next(index)
	n.keys = newPartitionKeys(list)
	n.parts = make([]*PartitionState, len(list))
	for i, p := range list {
		if j, ok := s.keys.index[p]; ok {
			n.parts[i] = s.parts[j]
		} else {
			n.parts[i] = &PartitionState{Partition: p, Checkpoint: CheckpointMeta{Lag: LagUnknown}}
		}
	}
	return n, nil
}

// applyAssign applies a rebalancer decision: all of it, or none of it if
// any assignment was computed from an epoch that has moved since, or names
// a partition or member that is gone.
func applyAssign(s *State, index uint64, c assignCmd) (*State, error) {
	seen := make(map[Partition]bool, len(c.Assign))
	for _, a := range c.Assign {
		p := Partition{Topic: a.Topic, Partition: a.Partition}
		if seen[p] {
			return nil, fmt.Errorf("%w: %s assigned twice", ErrCorrupt, p)
		}
		seen[p] = true
		i, ok := s.keys.index[p]
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrUnknownPartition, p)
		}
		if e := s.parts[i].Epoch; e != a.From {
			return nil, fmt.Errorf("%w: %s: assignment computed from epoch %d, current epoch is %d",
				ErrStaleEpoch, p, a.From, e)
		}
		if _, ok := s.members[a.Owner]; a.Owner != "" && !ok {
			return nil, fmt.Errorf("%w: %s assigned to %q", ErrUnknownMember, p, a.Owner)
		}
	}
	states := make([]MemberState, len(c.States))
	for i, sc := range c.States {
		if _, ok := s.members[sc.ID]; !ok {
			return nil, fmt.Errorf("%w: state of %q", ErrUnknownMember, sc.ID)
		}
		st, err := parseMemberState(sc.State)
		if err != nil {
			return nil, err
		}
		states[i] = st
	}

	n := s.next(index)
	partsCloned, membersCloned := false, false
	for _, a := range c.Assign { // in command order: so are the epochs issued
		i := s.keys.index[Partition{Topic: a.Topic, Partition: a.Partition}]
		if s.parts[i].Owner == a.Owner {
			continue
		}
		if !partsCloned {
			n.parts = slices.Clone(s.parts)
			partsCloned = true
		}
		ps := *s.parts[i]
		ps.Owner = a.Owner
		ps.Epoch = n.newEpoch()
		n.parts[i] = &ps
	}
	for i, sc := range c.States {
		m := n.members[sc.ID]
		if m.State == states[i] {
			continue
		}
		if !membersCloned {
			n.members = maps.Clone(s.members)
			membersCloned = true
		}
		m.State = states[i]
		n.members[sc.ID] = m
	}
	if !partsCloned && !membersCloned {
		return s, nil
	}
	return n, nil
}
