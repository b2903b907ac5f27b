package raftstate

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// snapshotVersion is the version of the snapshot encoding written. Fields
// added since are optional, so that a snapshot of any version 1 reads
// everywhere: the partitions' lag came later (an older node ignores it; a
// snapshot without it reads as LagUnknown).
const snapshotVersion = 1

// snapshotJSON is a State as a snapshot holds it: one JSON object, members
// sorted by id and partitions by partition, so that equal states encode to
// equal bytes.
type snapshotJSON struct {
	Version    int                  `json:"version"`
	Index      uint64               `json:"index"`
	Catalog    catalogJSON          `json:"catalog"`
	LastEpoch  uint64               `json:"last_epoch"`
	Members    []memberJSON         `json:"members"`
	Partitions []partitionStateJSON `json:"partitions"`
}

type catalogJSON struct {
	Revision uint64 `json:"revision"`
	Index    uint64 `json:"index"`
	Doc      []byte `json:"doc"` // base64: the document is opaque
}

type memberJSON struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	APIAddr  string `json:"api_addr"`
	Joined   int64  `json:"joined"` // unix nanoseconds
	State    string `json:"state"`
}

// partitionStateJSON is one partition. Lag is always written; a snapshot
// of an older version has none (nil), which reads as LagUnknown.
type partitionStateJSON struct {
	Topic           string `json:"topic"`
	Partition       int32  `json:"partition"`
	Owner           string `json:"owner"`
	Epoch           uint64 `json:"epoch"`
	Offset          uint64 `json:"offset"`
	Watermark       int64  `json:"watermark"`
	AlertPosition   uint64 `json:"alert_position"`
	Lag             *int64 `json:"lag,omitempty"`
	CheckpointEpoch uint64 `json:"checkpoint_epoch"`
}

func writeSnapshot(w io.Writer, s *State) error {
	snap := snapshotJSON{
		Version: snapshotVersion,
		Index:   s.index,
		Catalog: catalogJSON{
			Revision: s.catalog.Revision,
			Index:    s.catalog.Index,
			Doc:      s.catalog.Doc,
		},
		LastEpoch:  s.lastEpoch,
		Members:    []memberJSON{},
		Partitions: []partitionStateJSON{},
	}
	for _, m := range s.Members() {
		snap.Members = append(snap.Members, memberJSON{
			ID:       m.ID,
			RaftAddr: m.RaftAddr,
			APIAddr:  m.APIAddr,
			Joined:   m.Joined.UnixNano(),
			State:    m.State.String(),
		})
	}
	lags := make([]int64, len(s.parts)) // one allocation for every Lag
	for i, ps := range s.parts {
		lags[i] = ps.Checkpoint.Lag
		snap.Partitions = append(snap.Partitions, partitionStateJSON{
			Topic:           ps.Partition.Topic,
			Partition:       ps.Partition.Partition,
			Owner:           ps.Owner,
			Epoch:           ps.Epoch,
			Offset:          ps.Checkpoint.Offset,
			Watermark:       ps.Checkpoint.Watermark,
			AlertPosition:   ps.Checkpoint.AlertPosition,
			Lag:             &lags[i],
			CheckpointEpoch: ps.CheckpointEpoch,
		})
	}
	if err := json.NewEncoder(w).Encode(&snap); err != nil {
		return fmt.Errorf("raftstate: writing snapshot: %w", err)
	}
	return nil
}

// readSnapshot decodes a snapshot and checks that it describes a state
// Apply could have reached.
func readSnapshot(r io.Reader) (*State, error) {
	var snap snapshotJSON
	if err := json.NewDecoder(r).Decode(&snap); err != nil {
		return nil, fmt.Errorf("%w: snapshot: %v", ErrCorrupt, err)
	}
	if snap.Version != snapshotVersion {
		return nil, fmt.Errorf("%w: snapshot version %d, want %d", ErrCorrupt, snap.Version, snapshotVersion)
	}
	s := emptyState()
	s.index = snap.Index
	s.catalog = Catalog{Doc: snap.Catalog.Doc, Revision: snap.Catalog.Revision, Index: snap.Catalog.Index}
	s.lastEpoch = snap.LastEpoch
	for _, mj := range snap.Members {
		st, err := parseMemberState(mj.State)
		if err != nil {
			return nil, err
		}
		if _, dup := s.members[mj.ID]; dup || mj.ID == "" {
			return nil, fmt.Errorf("%w: snapshot: member %q empty or repeated", ErrCorrupt, mj.ID)
		}
		s.members[mj.ID] = Member{
			ID:       mj.ID,
			RaftAddr: mj.RaftAddr,
			APIAddr:  mj.APIAddr,
			Joined:   time.Unix(0, mj.Joined).UTC(),
			State:    st,
		}
	}
	list := make([]Partition, 0, len(snap.Partitions))
	for _, pj := range snap.Partitions {
		p := Partition{Topic: pj.Topic, Partition: pj.Partition}
		if p.Topic == "" || len(list) > 0 && list[len(list)-1].Compare(p) >= 0 {
			return nil, fmt.Errorf("%w: snapshot: partition %q empty, repeated or out of order", ErrCorrupt, p)
		}
		if pj.Epoch > snap.LastEpoch || pj.CheckpointEpoch > pj.Epoch {
			return nil, fmt.Errorf("%w: snapshot: %s: epoch %d, checkpoint epoch %d, last epoch %d",
				ErrCorrupt, p, pj.Epoch, pj.CheckpointEpoch, snap.LastEpoch)
		}
		lag := LagUnknown
		if pj.Lag != nil {
			lag = max(*pj.Lag, LagUnknown)
		}
		list = append(list, p)
		s.parts = append(s.parts, &PartitionState{
			Partition: p,
			Owner:     pj.Owner,
			Epoch:     pj.Epoch,
			Checkpoint: CheckpointMeta{
				Offset:        pj.Offset,
				Watermark:     pj.Watermark,
				AlertPosition: pj.AlertPosition,
				Lag:           lag,
			},
			CheckpointEpoch: pj.CheckpointEpoch,
		})
	}
	s.keys = newPartitionKeys(list)
	return s, nil
}
