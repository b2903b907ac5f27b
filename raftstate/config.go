package raftstate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	wal "github.com/hashicorp/raft-wal"
)

// Config configures one node of a cluster. NodeID, Dir, RaftAddr and
// APIAddr are required; every duration and size has a default, applied by
// Open to fields left zero.
type Config struct {
	// NodeID names the node in the cluster; it must never change for a
	// given Dir.
	NodeID string
	// Dir holds the node's raft state: Dir/raft/wal (the log and stable
	// store) and Dir/raft/snapshots.
	Dir string
	// RaftAddr is the host:port the raft transport listens on. Port 0 picks
	// a free port (see Cluster.RaftAddr); a node restarted with the same
	// Dir must listen on the address the cluster knows it by.
	RaftAddr string
	// AdvertiseAddr is the host:port other nodes reach the transport at.
	// Empty means the address RaftAddr is bound to, which must then not be
	// an unspecified address such as 0.0.0.0.
	AdvertiseAddr string
	// APIAddr is the host:port of the node's gRPC API, recorded in its
	// member record so that followers can send writes to the leader.
	APIAddr string
	// Bootstrap makes this node form a new cluster of itself if it has no
	// raft state yet. On a node that has state it does nothing, so it is
	// safe to leave set on the first node across restarts. Other nodes
	// join through AddMember on the leader.
	Bootstrap bool

	// HeartbeatTimeout is how long a follower waits without hearing from
	// the leader before it stands for election. Default 1s.
	HeartbeatTimeout time.Duration
	// ElectionTimeout is how long a candidate waits for votes. Default
	// HeartbeatTimeout; it may not be smaller.
	ElectionTimeout time.Duration
	// LeaderLeaseTimeout is how long a leader stays leader without hearing
	// from a quorum. Default HeartbeatTimeout/2; it may not be larger than
	// HeartbeatTimeout.
	LeaderLeaseTimeout time.Duration
	// CommitTimeout is the longest a follower waits to learn of a commit
	// when nothing else is sent. Default 50ms.
	CommitTimeout time.Duration
	// TransportTimeout bounds dialing a peer and each raft RPC (scaled up
	// for snapshot installs). Default 10s.
	TransportTimeout time.Duration
	// FailAfter is how long the leader's heartbeats to a member must fail
	// before it declares the member lost and moves its partitions. Default
	// 2s. A member whose host refuses connections is noticed at once; one
	// whose host does not answer at all is noticed when a heartbeat times
	// out, after TransportTimeout, so lower that too to notice it sooner.
	FailAfter time.Duration

	// SnapshotInterval is how often raft checks whether SnapshotThreshold
	// log entries have accumulated since the last snapshot. Default 2m.
	SnapshotInterval time.Duration
	// SnapshotThreshold is how many log entries trigger a snapshot.
	// Default 8192.
	SnapshotThreshold uint64
	// TrailingLogs is how many log entries a snapshot leaves in the log, so
	// that a follower a little behind catches up without a snapshot.
	// Default 10240.
	TrailingLogs uint64
	// SnapshotRetain is how many snapshots are kept on disk. Default 2.
	SnapshotRetain int
	// WALSegmentSize is the size of a log segment file, which is allocated
	// up front and deleted whole once a snapshot covers it. Default 64 MiB
	// (raft-wal's default).
	WALSegmentSize int

	// Forward, if set, sends the writes made on a follower (catalog
	// changes, checkpoints, partitions) to the leader at leaderAPIAddr,
	// which applies them with ApplyForwarded; it returns the raft index of
	// the state the command produced, or the leader's error (see
	// ErrorCode). Without it such writes fail with a *NotLeaderError.
	Forward func(ctx context.Context, leaderAPIAddr string, cmd []byte) (index uint64, err error)

	// Logger receives raft's and this package's logs; nil discards them.
	Logger *slog.Logger
}

const (
	defaultHeartbeatTimeout  = time.Second
	defaultCommitTimeout     = 50 * time.Millisecond
	defaultTransportTimeout  = 10 * time.Second
	defaultFailAfter         = 2 * time.Second
	defaultSnapshotInterval  = 2 * time.Minute
	defaultSnapshotThreshold = 8192
	defaultTrailingLogs      = 10240
	defaultSnapshotRetain    = 2
)

// withDefaults returns c with every zero duration and size set to its
// default.
func (c Config) withDefaults() Config {
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = defaultHeartbeatTimeout
	}
	if c.ElectionTimeout == 0 {
		c.ElectionTimeout = c.HeartbeatTimeout
	}
	if c.LeaderLeaseTimeout == 0 {
		c.LeaderLeaseTimeout = c.HeartbeatTimeout / 2
	}
	if c.CommitTimeout == 0 {
		c.CommitTimeout = defaultCommitTimeout
	}
	if c.TransportTimeout == 0 {
		c.TransportTimeout = defaultTransportTimeout
	}
	if c.FailAfter == 0 {
		c.FailAfter = defaultFailAfter
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = defaultSnapshotInterval
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = defaultSnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = defaultTrailingLogs
	}
	if c.SnapshotRetain == 0 {
		c.SnapshotRetain = defaultSnapshotRetain
	}
	if c.WALSegmentSize == 0 {
		c.WALSegmentSize = wal.DefaultSegmentSize
	}
	return c
}

// Validate reports every problem of c at once. Open validates c after
// applying the defaults, so zero durations and sizes pass.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("raftstate: config: "+format, args...))
	}
	if c.NodeID == "" {
		bad("NodeID is empty")
	}
	if c.Dir == "" {
		bad("Dir is empty")
	}
	if _, _, err := net.SplitHostPort(c.RaftAddr); err != nil {
		bad("RaftAddr %q: %v", c.RaftAddr, err)
	}
	if c.AdvertiseAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdvertiseAddr); err != nil {
			bad("AdvertiseAddr %q: %v", c.AdvertiseAddr, err)
		}
	}
	if _, _, err := net.SplitHostPort(c.APIAddr); err != nil {
		bad("APIAddr %q: %v", c.APIAddr, err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"HeartbeatTimeout", c.HeartbeatTimeout},
		{"ElectionTimeout", c.ElectionTimeout},
		{"LeaderLeaseTimeout", c.LeaderLeaseTimeout},
		{"CommitTimeout", c.CommitTimeout},
		{"TransportTimeout", c.TransportTimeout},
		{"FailAfter", c.FailAfter},
		{"SnapshotInterval", c.SnapshotInterval},
	} {
		if d.v < 0 || (d.v > 0 && d.v < 5*time.Millisecond) {
			bad("%s %v: want at least 5ms", d.name, d.v)
		}
	}
	if c.ElectionTimeout != 0 && c.ElectionTimeout < c.HeartbeatTimeout {
		bad("ElectionTimeout %v is smaller than HeartbeatTimeout %v", c.ElectionTimeout, c.HeartbeatTimeout)
	}
	if c.LeaderLeaseTimeout > c.HeartbeatTimeout && c.HeartbeatTimeout != 0 {
		bad("LeaderLeaseTimeout %v is larger than HeartbeatTimeout %v", c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	}
	if c.SnapshotRetain < 0 {
		bad("SnapshotRetain %d is negative", c.SnapshotRetain)
	}
	if c.WALSegmentSize < 0 {
		bad("WALSegmentSize %d is negative", c.WALSegmentSize)
	}
	return errors.Join(errs...)
}
