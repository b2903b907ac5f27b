package node

import (
	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/pipeline"
)

// Status is a node at a glance.
type Status struct {
	ID         string
	Running    bool
	Partitions []PartitionStatus
	Patterns   []PatternStatus
	// The newest checkpoint or savepoint, if any, and the savepoints.
	LastCheckpoint *checkpoint.Info
	Savepoints     []checkpoint.Info
	Counters       Counters
	Store          checkpoint.Stats
}

// PartitionStatus is one partition of the embedded log and how far
// matching has read it.
type PartitionStatus struct {
	Source    string
	Partition uint32
	Offset    uint64 // next offset matching reads
	End       uint64 // next offset ingest appends at
	Watermark int64  // event time, Unix ns (math.MinInt64 before any event)
}

// Lag is how many records matching is behind ingest.
func (p PartitionStatus) Lag() uint64 { return p.End - min(p.Offset, p.End) }

// PatternStatus is one live or retiring pattern version.
type PatternStatus struct {
	Name    string
	Version int
	State   string
	// Its open partial matches over all keys and their stored bytes, as of
	// the last commit.
	PartialMatches, StateBytes int64
}

// Counters are what the node did since it started (matching counters
// since its last restart too: they are not stored).
type Counters struct {
	pipeline.Stats
	Published, Rejected, Duplicates uint64 // ingest
	RetentionFailures               uint64
	LastAlertSeq                    uint64
}

// Status reports the node's state.
func (n *Node) Status() (Status, error) {
	ps := n.pipe.Stats()
	st := Status{
		ID:      n.cfg.ID,
		Running: n.running.Load(),
		Partitions: []PartitionStatus{{
			Source: pipeline.Source, Partition: partition,
			Offset: ps.Offset, End: n.store.LogEnd(partition), Watermark: ps.Watermark,
		}},
		Counters: Counters{
			Stats:             ps,
			Published:         n.published.Load(),
			Rejected:          n.rejected.Load(),
			Duplicates:        n.duplicates.Load(),
			RetentionFailures: n.retentionFailures.Load(),
			LastAlertSeq:      n.store.LastAlertSeq(),
		},
		Store: n.store.Stats(),
	}
	for _, p := range n.Patterns(false) {
		for _, v := range p.Versions {
			if v.State != StateRetired {
				pst := PatternStatus{Name: p.Name, Version: v.Version, State: v.State}
				for _, c := range ps.Patterns {
					if c.Name == p.Name && c.Version == v.Version {
						pst.PartialMatches, pst.StateBytes = c.PartialMatches, c.StateBytes
					}
				}
				st.Patterns = append(st.Patterns, pst)
			}
		}
	}
	cps, sps, err := n.Checkpoints()
	if err != nil {
		return st, err
	}
	// The newest of both kinds: ids increase across them.
	for _, list := range [][]checkpoint.Info{cps, sps} {
		if k := len(list); k > 0 && (st.LastCheckpoint == nil || list[k-1].ID > st.LastCheckpoint.ID) {
			st.LastCheckpoint = &list[k-1]
		}
	}
	st.Savepoints = sps
	return st, nil
}
