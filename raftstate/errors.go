package raftstate

import (
	"errors"
	"fmt"
)

var (
	// ErrStaleRevision is the response to a catalog change computed from a
	// revision that is no longer the current one: another change was
	// applied first. The caller reads the new catalog, recomputes its
	// change and proposes it again.
	ErrStaleRevision = errors.New("raftstate: stale catalog revision")

	// ErrStaleEpoch is the response to a checkpoint written under an epoch
	// that is not the partition's current one (its writer is no longer the
	// owner), and to an assignment computed from an epoch that has since
	// moved.
	ErrStaleEpoch = errors.New("raftstate: stale partition epoch")

	// ErrUnknownPartition is the response to a checkpoint or an assignment
	// of a partition the cluster does not know (see Cluster.SetPartitions).
	ErrUnknownPartition = errors.New("raftstate: unknown partition")

	// ErrUnknownMember is the response to an assignment to, or a state
	// change of, a node that is not a member.
	ErrUnknownMember = errors.New("raftstate: unknown member")

	// ErrCorrupt is wrapped by errors about a command or a snapshot that
	// cannot be decoded.
	ErrCorrupt = errors.New("raftstate: corrupt command or snapshot")

	// ErrNotLeader is wrapped by every *NotLeaderError.
	ErrNotLeader = errors.New("raftstate: not the leader")

	// ErrLeadershipLost is returned by a write whose node lost leadership
	// before the command was known to be committed. The command may or may
	// not have been applied; every write of this package is safe to retry
	// (catalog changes are guarded by their revision, checkpoints by their
	// epoch, membership changes are idempotent).
	ErrLeadershipLost = errors.New("raftstate: leadership lost while committing; the outcome is unknown")

	// ErrClosed is returned by every method of a Cluster called after
	// Close.
	ErrClosed = errors.New("raftstate: cluster is closed")
)

// NotLeaderError is returned by a write on a node that is not the leader.
// It names the leader as far as this node knows it, so that the API layer
// can forward the request; both fields are empty while no leader is known.
type NotLeaderError struct {
	LeaderID      string
	LeaderAPIAddr string
}

func (e *NotLeaderError) Error() string {
	switch {
	case e.LeaderID == "":
		return "raftstate: not the leader, and no leader is known"
	case e.LeaderAPIAddr == "":
		return fmt.Sprintf("raftstate: not the leader; the leader is %s (API address not yet known)", e.LeaderID)
	}
	return fmt.Sprintf("raftstate: not the leader; the leader is %s (API %s)", e.LeaderID, e.LeaderAPIAddr)
}

// Unwrap returns ErrNotLeader.
func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }
