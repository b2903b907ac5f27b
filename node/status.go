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

// PartitionStatus is one input partition (of the embedded log or a Kafka
// topic) and how far matching has read it.
type PartitionStatus struct {
	Source    string
	Partition uint32
	Offset    uint64 // next offset matching reads
	End       uint64 // next offset ingest appends at
	Watermark int64  // event time, Unix ns (math.MinInt64 before any event)
	Idle      bool   // not holding the watermark back: nothing to read
	Paused    bool   // fetching paused: far ahead of the other partitions
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
	for _, pp := range ps.Partitions {
		p := PartitionStatus{Source: pp.Source, Partition: pp.Partition.Partition, Offset: pp.Offset,
			Watermark: pp.Watermark, Idle: pp.Idle, Paused: pp.Paused}
		switch {
		case n.cfg.Input == nil:
			p.End = n.store.LogEnd(pp.Partition.Partition)
			p.Watermark = ps.Watermark
			p.Idle = p.Lag() == 0
		case pp.Lag >= 0:
			p.End = pp.Offset + uint64(pp.Lag)
		default:
			p.End = pp.Offset // not known yet
		}
		st.Partitions = append(st.Partitions, p)
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
