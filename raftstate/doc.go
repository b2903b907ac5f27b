// Package raftstate is the replicated state of a Motif cluster, on
// hashicorp/raft: the pattern catalog, the members, which member owns which
// source partition (with an epoch that fences a stale owner), and the
// checkpoint metadata of every partition. The leader rebalances partitions
// when members join, fail, come back or leave.
//
// FSM is the raft state machine; Cluster is what a node uses: it runs raft
// for the node, proposes commands, and reads the state. Package rafttest
// starts clusters in a test process.
//
// This package does not serve the API (a write on a follower returns a
// *NotLeaderError naming the leader's API address, and the API layer
// forwards it), read any source, or store matching state: it records
// offsets, watermarks and alert positions that the node's checkpoints
// produce. The catalog document is opaque here; package node produces and
// reads it.
//
// # State
//
// A State is immutable and describes the cluster after one raft log entry:
//
//   - Catalog: the document, its revision (incremented by every accepted
//     change) and the raft index it was applied at. That index is the
//     point in the log at which every node switches to the revision.
//   - Members: id → raft address, API address, when it joined (by the
//     leader's clock) and its state, alive or lost, as the leader last
//     decided.
//   - Partitions: (topic, partition) → owner, epoch, and the last
//     checkpoint (next offset, watermark, alert position, and the lag the
//     owner measured: records between the offset and the partition's end)
//     with the epoch it was written under.
//
// FSM.State and Cluster.State return the current State without locking;
// Changed returns a channel closed at the next change, to react to (for
// example) ownership moving.
//
// # Commands
//
// A command is one byte naming its kind and a body. The frequent ones
// have a binary body: a checkpoint (epoch, offset, watermark, alert
// position, lag, partition number as big-endian integers, then the topic's
// length and the topic; later fields may follow, and are ignored by a
// version that does not know them) and a catalog change (the revision it
// was computed from, then the document as given). The first checkpoint
// encoding, without the lag, is still applied (lag unknown). The rare ones
// (add and remove a member, set the partitions, a rebalancing decision)
// have a JSON body, which can grow fields without a new kind.
//
// Apply is deterministic: times inside commands are the proposer's, epochs
// are issued in partition order or command order, never map order. A
// command Apply rejects is answered with an error and changes nothing:
//
//   - ErrStaleRevision: a catalog change computed from a revision that is
//     no longer current. Two nodes changing the catalog at once cannot
//     lose one another's change: the second is rejected, recomputed from
//     the first, and proposed again.
//   - ErrStaleEpoch: a checkpoint written under an epoch that is not the
//     partition's current one, or a rebalancing decision computed from an
//     epoch that has moved.
//   - ErrUnknownPartition, ErrUnknownMember: names that are gone.
//
// # Fencing
//
// Every change of a partition's owner (an assignment, a removal of the
// owner) issues a new epoch from one cluster-wide counter, so epochs of a
// partition strictly increase and are never reused, even when a partition
// moves back to an earlier owner or is dropped and added again. An owner
// reads a partition under the epoch it was assigned and records each
// checkpoint with it; once the partition has moved, the old owner's
// checkpoints are rejected with ErrStaleEpoch, and it must stop reading
// the partition. What it produced meanwhile is not recorded, so the new
// owner resumes from the last checkpoint the cluster accepted.
//
// # Rebalancing
//
// While a node is the leader it keeps every known partition assigned to a
// live member, the counts of live members within one of each other, moving
// as few partitions as that allows: a member keeps what it owns up to its
// share. A member is lost when the leader's heartbeats to it have failed
// for Config.FailAfter (raft's FailedHeartbeatObservation); its partitions
// move under new epochs. When its heartbeats resume it is alive again and
// gets its share back. A new leader believes a member its predecessor
// declared lost is back only after FailAfter+TransportTimeout without a
// failed heartbeat from it. Decisions are raft commands computed against
// epochs, so a decision made on a stale view is rejected and made again.
//
// # Storage
//
// Dir/raft/wal holds the raft log and the stable store (term, vote):
// hashicorp/raft-wal. It appends to segment files and deletes a whole
// segment once a snapshot covers it, so disk use follows the log kept
// rather than the most the log ever held; raft-boltdb instead keeps one
// bbolt file that never shrinks and whose freelist grows with the churn of
// a truncated log. raft-wal is maintained by HashiCorp and used by Consul.
// Its only bbolt file, wal-meta.db, holds the list of segments and the
// stable-store keys, and stays small.
//
// Dir/raft/snapshots holds the last two snapshots (raft's file snapshot
// store). Snapshots are cheap: FSM.Snapshot keeps a pointer to the current
// State, and Persist encodes it as JSON while commands go on applying.
//
// # Use by a node
//
// The first node opens with Config.Bootstrap set, which forms a cluster of
// itself if Dir holds no raft state and does nothing otherwise; it may
// stay set across restarts. Another node opens without it and asks the
// leader (through the API) to call AddMember with its addresses. A node
// restarted on the same Dir and address rejoins by itself. The leader
// records its own member record.
//
// A node then:
//
//   - calls SetPartitions (through the leader) with the partitions of its
//     sources when it learns them;
//   - watches Changed and reads State().Owned(id): it starts reading a
//     partition it now owns from its checkpoint, under the partition's
//     epoch, and stops reading one it no longer owns;
//   - records each checkpoint with Checkpoint and that epoch, and stops
//     reading the partition on ErrStaleEpoch;
//   - changes the catalog with ApplyCatalog from the revision it read,
//     retrying from the new catalog on ErrStaleRevision, and switches
//     pattern versions when its State reaches the catalog's Index;
//   - on a *NotLeaderError forwards the write to LeaderAPIAddr (WaitLeader
//     waits until one is known);
//   - calls Close to stop, which does not leave the cluster; RemoveMember
//     (on the leader) decommissions a node, which is then closed.
package raftstate
