package raftstate

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

// Partition names one source partition: a topic and a partition number, as
// Kafka numbers them.
type Partition struct {
	Topic     string
	Partition int32
}

func (p Partition) String() string {
	return p.Topic + "/" + strconv.FormatInt(int64(p.Partition), 10)
}

// Compare orders partitions by topic, then by number.
func (p Partition) Compare(q Partition) int {
	if c := cmp.Compare(p.Topic, q.Topic); c != 0 {
		return c
	}
	return cmp.Compare(p.Partition, q.Partition)
}

// Catalog is the pattern catalog as the cluster agreed on it: an opaque
// document (the node package's JSON) and its revision.
type Catalog struct {
	// Doc is the document; nil before the first change. It is shared by
	// every holder of the State: never modify it.
	Doc []byte
	// Revision counts accepted changes: 0 before the first, then 1, 2, ...
	Revision uint64
	// Index is the raft index at which this revision was applied: the point
	// in the log at which every node switches to it.
	Index uint64
}

// MemberState is what the leader last decided about a member's liveness.
type MemberState uint8

const (
	// MemberAlive is a member the leader hears from; it may own partitions.
	MemberAlive MemberState = 1
	// MemberLost is a member the leader has not heard from for longer than
	// Config.FailAfter; its partitions were moved to live members.
	MemberLost MemberState = 2
)

func (s MemberState) String() string {
	switch s {
	case MemberAlive:
		return "alive"
	case MemberLost:
		return "lost"
	}
	return "MemberState(" + strconv.Itoa(int(s)) + ")"
}

func parseMemberState(s string) (MemberState, error) {
	switch s {
	case "alive":
		return MemberAlive, nil
	case "lost":
		return MemberLost, nil
	}
	return 0, fmt.Errorf("%w: member state %q", ErrCorrupt, s)
}

// Member is one node of the cluster.
type Member struct {
	ID       string
	RaftAddr string    // host:port of its raft transport
	APIAddr  string    // host:port of its gRPC API
	Joined   time.Time // when it was first added, by the leader's clock
	State    MemberState
}

// CheckpointMeta is the progress an owner records for a partition: what a
// node that takes the partition over resumes from, and how far behind the
// partition's end the owner was.
type CheckpointMeta struct {
	Offset        uint64 // next offset to read
	Watermark     int64  // event-time watermark, unix nanoseconds
	AlertPosition uint64 // position in the alert log reached
	// Lag is how many records the partition's end (its high watermark) was
	// past Offset when the owner last measured it; LagUnknown when it had
	// not measured it, when nothing was recorded, or when the record comes
	// from a version that did not carry it (an old command or snapshot).
	Lag int64
}

// LagUnknown is CheckpointMeta.Lag when the lag is not known. Any negative
// Lag means the same.
const LagUnknown int64 = -1

// PartitionState is the replicated state of one source partition.
type PartitionState struct {
	Partition Partition
	// Owner is the member that reads the partition; "" while unassigned.
	Owner string
	// Epoch is the epoch of the current assignment, 0 before the first. It
	// changes on every change of owner and is never issued twice.
	Epoch uint64
	// Checkpoint is the last checkpoint recorded, and CheckpointEpoch the
	// epoch it was written under (0 if none was; then Checkpoint is zero
	// but for its Lag, LagUnknown).
	Checkpoint      CheckpointMeta
	CheckpointEpoch uint64
}

// State is the replicated state after one raft log entry. A State is
// immutable: the FSM replaces it on every change and shares what did not
// change, so readers hold no lock and see one consistent point of the log.
type State struct {
	index     uint64
	catalog   Catalog
	lastEpoch uint64
	members   map[string]Member
	// keys are the known partitions, sorted, shared until the set
	// changes; parts[i] is the state of keys.list[i]. A change copies the
	// slice of pointers (not the states) and points the changed entries at
	// new states, so a checkpoint costs a copy of n pointers.
	keys  *partitionKeys
	parts []*PartitionState
}

// partitionKeys is a sorted set of partitions with the position of each.
type partitionKeys struct {
	list  []Partition
	index map[Partition]int
}

func newPartitionKeys(sorted []Partition) *partitionKeys {
	k := &partitionKeys{list: sorted, index: make(map[Partition]int, len(sorted))}
	for i, p := range sorted {
		k.index[p] = i
	}
	return k
}

func emptyState() *State {
	return &State{
		members: map[string]Member{},
		keys:    newPartitionKeys(nil),
	}
}

// Index is the raft index of the last command that changed the state; 0
// for the empty state.
func (s *State) Index() uint64 { return s.index }

// Catalog is the pattern catalog.
func (s *State) Catalog() Catalog { return s.catalog }

// LastEpoch is the last epoch issued. Epochs come from this one counter,
// so an epoch is never issued twice, not even to a partition that was
// dropped and added again.
func (s *State) LastEpoch() uint64 { return s.lastEpoch }

// Member returns the member with the given id.
func (s *State) Member(id string) (Member, bool) {
	m, ok := s.members[id]
	return m, ok
}

// Members returns every member, sorted by id.
func (s *State) Members() []Member {
	return slices.SortedFunc(maps.Values(s.members), func(a, b Member) int {
		return cmp.Compare(a.ID, b.ID)
	})
}

// Partition returns the state of partition p.
func (s *State) Partition(p Partition) (PartitionState, bool) {
	i, ok := s.keys.index[p]
	if !ok {
		return PartitionState{}, false
	}
	return *s.parts[i], true
}

// Partitions returns the state of every known partition, sorted by
// partition.
func (s *State) Partitions() []PartitionState {
	out := make([]PartitionState, len(s.parts))
	for i, ps := range s.parts {
		out[i] = *ps
	}
	return out
}

// Owned returns the partitions owned by member id, sorted by partition.
func (s *State) Owned(id string) []PartitionState {
	var out []PartitionState
	for _, ps := range s.parts {
		if ps.Owner == id {
			out = append(out, *ps)
		}
	}
	return out
}

// next returns a shallow copy of s to be changed by the command at index.
// Its members map and partition slices are still shared with s: a command
// clones them before it writes to them.
func (s *State) next(index uint64) *State {
	n := *s
	n.index = index
	return &n
}

// newEpoch issues the next epoch.
func (s *State) newEpoch() uint64 {
	s.lastEpoch++
	return s.lastEpoch
}
