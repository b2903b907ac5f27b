// Package rafttest starts a raftstate cluster of several nodes in one
// process, for tests: real raft, real TCP on loopback addresses, one
// temporary directory per node.
//
// Node i (from 1) listens on 127.0.0.i, so that every node has its own
// address as it would on separate hosts; on Linux every 127.0.0.0/8
// address is local. Node 1 bootstraps the cluster and the others join it
// through AddMember on the leader. A node can be killed (closed without
// leaving the cluster) and restarted on the same directory and address.
//
// Every helper takes the testing.TB given to Start, fails the test on
// error, waits on conditions with a deadline (never a bare sleep) and
// cleans up what it starts with t.Cleanup. Nothing here is meant for
// production.
package rafttest
