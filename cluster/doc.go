// Package cluster runs a Motif node as a member of a cluster over Kafka:
// raftstate replicates the pattern catalog, the members, which node owns
// which source partition (with an epoch) and each partition's checkpoint
// metadata; this package turns that state into matching.
//
// # Partitions
//
// A node matches each Kafka partition it owns with a partition worker of
// its own: a node.Node over that one partition, with its own store
// (Dir/partitions/<topic>-<partition>) and its own exactly-once alert sink,
// whose transactional id belongs to the partition, not to the node
// ("motif-sink-" + SinkPrefix + topic-partition). With one partition per
// pipeline the watermark is the partition's own, so what a partition
// alerts is a function of its records alone, whichever node matches it.
//
// Each transaction of a partition's sink commits, with the alerts, the
// sink's position (the next alert sequence number) and, as the position's
// metadata, where the input stood for the alerts below it: the source
// offset of the commit that produced the next alert and how many alerts of
// that commit are already delivered (pipeline.Config.AlertMarks), with the
// epoch of the owner that wrote it.
//
// # Takeover
//
// A node that is assigned a partition first makes its sink: Kafka fences
// the previous owner's producer (same transactional id) and aborts its open
// transaction, so from that moment the previous owner cannot deliver an
// alert, whatever it believes. It then reads the committed position and
// its metadata (offset O, n alerts after it, epoch E):
//
//   - If its own store of the partition was written under epoch E (it is
//     the owner that delivered those alerts) or nothing was ever delivered,
//     it resumes from its store, as after a restart.
//   - Otherwise it discards its store and rebuilds the partition's state by
//     replaying the partition from the first record within the longest
//     window (and suppress interval) of the catalog, plus twice the
//     out-of-orderness, before O's event time, to O, with alerts dropped
//     (pipeline.Config.QuietUntil). Its alert log continues the previous
//     owner's numbering at position-n, so the n alerts after O that were
//     already delivered are regenerated with the numbers the sink has
//     already passed, and skipped; everything after is delivered once.
//
// A pattern without a window (within none) makes the replay start at the
// partition's first retained record.
//
// # Fencing
//
// An owner stops a partition's worker as soon as its replicated state says
// the partition has another owner or epoch, and when raft rejects its
// checkpoint with ErrStaleEpoch. A node cut off from the cluster may not
// learn either in time; Kafka's fencing of its transactional producer is
// what keeps it from delivering alerts once the new owner has started.
//
// # Catalog
//
// Pattern changes made on any node are committed through raft
// (raftstate.Cluster.ApplyCatalog, forwarded to the leader) and installed
// by every node, on its front node and every partition worker, as the
// replicated state reaches them. The front node (Dir/front) serves the
// API: patterns, status, and alerts mirrored from the alert topic.
//
// # Observing
//
// Every owner records each partition's progress with raft every
// Config.ReportInterval: offset, watermark, alert position and lag, which
// any node's Status shows for every partition. Collector exports, for
// /metrics, the cluster as the node sees it and the matching of every
// partition it owns (metrics.go); CheckpointPartitions checkpoints the
// store of every partition it owns.
package cluster
