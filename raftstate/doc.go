// Package raftstate is the replicated state of a Motif cluster: the pattern
// catalog, partition ownership with fencing epochs, checkpoint metadata and
// membership, as a hashicorp/raft FSM.
//
// Not yet implemented: Motif runs as a single node.
package raftstate
