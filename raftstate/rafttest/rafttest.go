package rafttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/raftstate"
)

// Timeout bounds every wait of the helpers; a helper that waits longer
// fails the test.
const Timeout = 20 * time.Second

// Option changes the Config of node i (from 1) before it first starts.
type Option func(i int, cfg *raftstate.Config)

// Cluster is a cluster of nodes running in this process.
type Cluster struct {
	t     testing.TB
	Nodes []*Node // Nodes[i] is node i+1
}

// Node is one node of a Cluster: its configuration, kept across restarts,
// and its raftstate.Cluster while it runs.
type Node struct {
	t   testing.TB
	cfg raftstate.Config

	mu sync.Mutex
	c  *raftstate.Cluster // nil while killed
}

// Start starts an n-node cluster and returns once every node is a member
// and knows every other member. Node i has id "node-i", raft on
// 127.0.0.i (a free port), API address 127.0.0.i:7000 (recorded, never
// dialled) and timeouts scaled for tests: a heartbeat timeout of 250ms,
// FailAfter of 750ms and a transport timeout of 2s. Raft logs nothing.
// Options change any of that.
func Start(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	if n < 1 || n > 254 {
		t.Fatalf("rafttest: %d nodes; want 1 to 254 (one loopback address each)", n)
	}
	c := &Cluster{t: t}
	// The directories first: cleanups run last-registered first, and the
	// nodes must be closed before their directories are removed.
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = t.TempDir()
	}
	t.Cleanup(c.closeAll)
	for i := 1; i <= n; i++ {
		cfg := raftstate.Config{
			NodeID:             fmt.Sprintf("node-%d", i),
			Dir:                dirs[i-1],
			RaftAddr:           fmt.Sprintf("127.0.0.%d:0", i),
			APIAddr:            fmt.Sprintf("127.0.0.%d:7000", i),
			Bootstrap:          i == 1,
			HeartbeatTimeout:   250 * time.Millisecond,
			ElectionTimeout:    250 * time.Millisecond,
			LeaderLeaseTimeout: 125 * time.Millisecond,
			CommitTimeout:      10 * time.Millisecond,
			TransportTimeout:   2 * time.Second,
			FailAfter:          750 * time.Millisecond,
			WALSegmentSize:     1 << 20,
		}
		for _, o := range opts {
			o(i, &cfg)
		}
		node := &Node{t: t, cfg: cfg}
		joined := c.Nodes
		c.Nodes = append(c.Nodes, node)
		node.open()
		if i == 1 {
			c.Leader()
			continue
		}
		c.join(joined, node)
	}
	c.WaitFor("every node to know every member", func() bool {
		for _, node := range c.Nodes {
			if len(node.Cluster().State().Members()) != n {
				return false
			}
		}
		return true
	})
	return c
}

// join adds node to the cluster of the joined nodes through its leader,
// following the leader if it changes meanwhile.
func (c *Cluster) join(joined []*Node, node *Node) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	for {
		err := c.leaderAmong(joined).Cluster().AddMember(ctx, node.ID(), node.RaftAddr(), node.APIAddr())
		if err == nil {
			return
		}
		if !errors.Is(err, raftstate.ErrNotLeader) && !errors.Is(err, raftstate.ErrLeadershipLost) || ctx.Err() != nil {
			c.t.Fatalf("rafttest: adding %s: %v", node.ID(), err)
		}
	}
}

// closeAll closes every running node.
func (c *Cluster) closeAll() {
	for _, node := range c.Nodes {
		node.close()
	}
}

// Node returns the node with the given id, failing the test if there is
// none.
func (c *Cluster) Node(id string) *Node {
	c.t.Helper()
	for _, node := range c.Nodes {
		if node.ID() == id {
			return node
		}
	}
	c.t.Fatalf("rafttest: no node %q", id)
	return nil
}

// Running returns the nodes that are not killed.
func (c *Cluster) Running() []*Node {
	var out []*Node
	for _, node := range c.Nodes {
		if node.Running() {
			out = append(out, node)
		}
	}
	return out
}

// Leader waits until a running node is the leader and every running node
// knows it (and its API address), and returns it.
func (c *Cluster) Leader() *Node {
	c.t.Helper()
	return c.leaderAmong(c.Running())
}

func (c *Cluster) leaderAmong(nodes []*Node) *Node {
	c.t.Helper()
	var leader *Node
	c.WaitFor("a leader known to every running node", func() bool {
		leader = nil
		for _, node := range nodes {
			if node.Cluster().IsLeader() {
				leader = node
			}
		}
		if leader == nil {
			return false
		}
		for _, node := range nodes {
			if id, api := node.Cluster().Leader(); id != leader.ID() || api != leader.APIAddr() {
				return false
			}
		}
		return true
	})
	return leader
}

// OnLeader calls fn with the leader's Cluster, and again with the next
// leader while fn fails because leadership moved (ErrNotLeader,
// ErrLeadershipLost), for up to Timeout. It returns fn's last error. After
// ErrLeadershipLost the command may have been applied: fn should compute
// what it proposes from the leader's state, as a node would.
func (c *Cluster) OnLeader(fn func(leader *raftstate.Cluster) error) error {
	c.t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		err := fn(c.Leader().Cluster())
		if !errors.Is(err, raftstate.ErrNotLeader) && !errors.Is(err, raftstate.ErrLeadershipLost) || time.Now().After(deadline) {
			return err
		}
	}
}

// Followers returns the running nodes that are not the leader, after
// waiting for a leader.
func (c *Cluster) Followers() []*Node {
	c.t.Helper()
	leader := c.Leader()
	var out []*Node
	for _, node := range c.Running() {
		if node != leader {
			out = append(out, node)
		}
	}
	return out
}

// WaitFor polls cond until it holds, failing the test after Timeout.
func (c *Cluster) WaitFor(what string, cond func() bool) {
	c.t.Helper()
	c.WaitWithin(Timeout, what, cond)
}

// WaitWithin polls cond until it holds, failing the test after d.
func (c *Cluster) WaitWithin(d time.Duration, what string, cond func() bool) {
	c.t.Helper()
	wait.Within(c.t, d, what, cond)
}

// ID is the node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// Dir is the node's data directory.
func (n *Node) Dir() string { return n.cfg.Dir }

// RaftAddr is the address of the node's raft transport; it stays the same
// across restarts.
func (n *Node) RaftAddr() string { return n.cfg.RaftAddr }

// APIAddr is the API address the node records in its member record.
func (n *Node) APIAddr() string { return n.cfg.APIAddr }

// Config is the node's configuration, with the port its transport got.
func (n *Node) Config() raftstate.Config { return n.cfg }

// Running reports whether the node runs (was not killed, or was restarted).
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.c != nil
}

// Cluster is the node's running raftstate.Cluster; it fails the test if
// the node is killed.
func (n *Node) Cluster() *raftstate.Cluster {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.c == nil {
		n.t.Fatalf("rafttest: %s is not running", n.ID())
	}
	return n.c
}

// Kill closes the node without it leaving the cluster, as a crash would
// stop it (its directory is kept).
func (n *Node) Kill() {
	n.t.Helper()
	if !n.Running() {
		n.t.Fatalf("rafttest: killing %s, which is not running", n.ID())
	}
	n.close()
}

// Restart starts a killed node again on its directory and address.
func (n *Node) Restart() {
	n.t.Helper()
	if n.Running() {
		n.t.Fatalf("rafttest: restarting %s, which is running", n.ID())
	}
	n.open()
}

func (n *Node) open() {
	n.t.Helper()
	c, err := raftstate.Open(n.cfg)
	if err != nil {
		n.t.Fatalf("rafttest: starting %s: %v", n.ID(), err)
	}
	// Keep the port the transport got: a restart must listen there again.
	if _, port, err := net.SplitHostPort(n.cfg.RaftAddr); err == nil && port == "0" {
		n.cfg.RaftAddr = c.RaftAddr()
	}
	n.mu.Lock()
	n.c = c
	n.mu.Unlock()
}

func (n *Node) close() {
	n.mu.Lock()
	c := n.c
	n.c = nil
	n.mu.Unlock()
	if c == nil {
		return
	}
	if err := c.Close(); err != nil {
		n.t.Errorf("rafttest: closing %s: %v", n.ID(), err)
	}
}
