package raftstate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// Cluster is one node's view of the cluster: its raft instance, the FSM it
// drives, and, while the node is the leader, the rebalancer.
//
// Reads (State, Changed, Leader) are local and never block. Writes are
// raft commands: they succeed only on the leader and return a
// *NotLeaderError elsewhere. A write that returns ErrLeadershipLost, or
// the error of its context, may still be applied; every write is safe to
// retry.
type Cluster struct {
	cfg    Config
	log    *slog.Logger
	raft   *raft.Raft
	fsm    *FSM
	trans  *raft.NetworkTransport
	wal    *wal.WAL
	metaDB *metadb.BoltMetaDB

	live     *liveness
	leaderCh signal // notified when the leader changes
	observer *raft.Observer

	mu       sync.RWMutex // guards closed, and waiters.Go against waiters.Wait
	closed   bool
	closing  chan struct{}  // closed by Close: stops the goroutines below
	loops    sync.WaitGroup // the observer and leadership goroutines
	waiters  sync.WaitGroup // goroutines waiting on raft futures
	done     chan struct{}  // closed when Close has finished
	closeErr error
}

// Open starts the node described by cfg: it opens (or creates) its raft
// state in cfg.Dir, starts the transport, and bootstraps a new cluster if
// cfg.Bootstrap is set and there is no state yet. A node restarted with
// the same Dir rejoins the cluster it was part of.
func Open(cfg Config) (*Cluster, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Cluster{
		cfg:     cfg,
		log:     cfg.Logger,
		fsm:     NewFSM(),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "raftstate", "node", cfg.NodeID)
	if err := c.open(); err != nil {
		c.release()
		return nil, err
	}
	c.live = newLiveness(cfg.NodeID, cfg.FailAfter, cfg.FailAfter+cfg.TransportTimeout, time.Now())
	obsCh := make(chan raft.Observation, 1024)
	c.observer = raft.NewObserver(obsCh, false, nil)
	c.raft.RegisterObserver(c.observer)
	c.loops.Go(func() { c.observe(obsCh) })
	c.loops.Go(c.monitorLeadership)
	return c, nil
}

// open opens the stores and the transport and starts raft. On error, what
// it opened is left in c for release to close.
func (c *Cluster) open() error {
	cfg := c.cfg
	hl := newHCLogger(cfg.Logger, "raft")
	raftDir := filepath.Join(cfg.Dir, "raft")
	walDir := filepath.Join(raftDir, "wal")
	if err := os.MkdirAll(walDir, 0o755); err != nil {
		return fmt.Errorf("raftstate: %w", err)
	}

	// raft-wal does not close a meta store it opened itself; give it one
	// to close, or a node reopened in the same process would wait forever
	// on the bbolt file lock.
	c.metaDB = &metadb.BoltMetaDB{}
	w, err := wal.Open(walDir,
		wal.WithMetaStore(c.metaDB),
		wal.WithSegmentSize(cfg.WALSegmentSize),
		wal.WithLogger(hl.Named("wal")))
	if err != nil {
		return fmt.Errorf("raftstate: opening the log in %s: %w", walDir, err)
	}
	c.wal = w
	snaps, err := raft.NewFileSnapshotStoreWithLogger(raftDir, cfg.SnapshotRetain, hl.Named("snapshots"))
	if err != nil {
		return fmt.Errorf("raftstate: opening snapshots in %s: %w", raftDir, err)
	}

	var advertise net.Addr
	if cfg.AdvertiseAddr != "" {
		if advertise, err = net.ResolveTCPAddr("tcp", cfg.AdvertiseAddr); err != nil {
			return fmt.Errorf("raftstate: AdvertiseAddr: %w", err)
		}
	}
	c.trans, err = raft.NewTCPTransportWithLogger(cfg.RaftAddr, advertise, 3, cfg.TransportTimeout, hl.Named("transport"))
	if err != nil {
		return fmt.Errorf("raftstate: raft transport on %s: %w", cfg.RaftAddr, err)
	}

	existing, err := raft.HasExistingState(w, w, snaps)
	if err != nil {
		return fmt.Errorf("raftstate: reading raft state: %w", err)
	}
	c.raft, err = raft.NewRaft(c.raftConfig(hl), c.fsm, w, w, snaps, c.trans)
	if err != nil {
		return fmt.Errorf("raftstate: starting raft: %w", err)
	}
	if cfg.Bootstrap && !existing {
		boot := raft.Configuration{Servers: []raft.Server{{
			Suffrage: raft.Voter,
			ID:       raft.ServerID(cfg.NodeID),
			Address:  c.trans.LocalAddr(),
		}}}
		if err := c.raft.BootstrapCluster(boot).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("raftstate: bootstrapping: %w", err)
		}
		c.log.Info("bootstrapped a new cluster", "raft_addr", c.trans.LocalAddr())
	}
	return nil
}

func (c *Cluster) raftConfig(hl hclog.Logger) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.cfg.NodeID)
	rc.HeartbeatTimeout = c.cfg.HeartbeatTimeout
	rc.ElectionTimeout = c.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = c.cfg.LeaderLeaseTimeout
	rc.CommitTimeout = c.cfg.CommitTimeout
	rc.SnapshotInterval = c.cfg.SnapshotInterval
	rc.SnapshotThreshold = c.cfg.SnapshotThreshold
	rc.TrailingLogs = c.cfg.TrailingLogs
	rc.Logger = hl
	return rc
}

// release shuts down whatever open opened: raft (which closes the
// transport), the transport again in case raft never started and its
// connections to peers, the log and its meta store.
func (c *Cluster) release() error {
	var errs []error
	if c.raft != nil {
		if c.observer != nil {
			c.raft.DeregisterObserver(c.observer)
		}
		if err := c.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raftstate: raft shutdown: %w", err))
		}
	}
	if c.trans != nil {
		if err := c.trans.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raftstate: closing the transport: %w", err))
		}
		// Close does not close the pooled connections to peers, whose
		// handlers would wait on them for as long as the peers run.
		c.trans.CloseStreams()
	}
	if c.wal != nil {
		if err := c.wal.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raftstate: closing the log: %w", err))
		}
	}
	if c.metaDB != nil {
		if err := c.metaDB.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raftstate: closing the log's meta store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Close stops the node without leaving the cluster: it stops the
// rebalancer, shuts raft down, closes the transport and the log. The node
// stays a member; Open with the same Config brings it back. Close returns
// when everything it started has stopped. Calls after the first return
// the first's result.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.done
		return c.closeErr
	}
	c.closed = true
	close(c.closing)
	c.mu.Unlock()

	c.loops.Wait()
	c.closeErr = c.release()
	c.waiters.Wait()
	close(c.done)
	return c.closeErr
}

// NodeID is this node's id.
func (c *Cluster) NodeID() string { return c.cfg.NodeID }

// RaftAddr is the address the raft transport listens on, with the port it
// was given when Config.RaftAddr asked for port 0.
func (c *Cluster) RaftAddr() string { return string(c.trans.LocalAddr()) }

// State returns the replicated state as this node has applied it. It is
// immutable; see FSM.State.
func (c *Cluster) State() *State { return c.fsm.State() }

// Changed returns a channel closed at the next change of State; see
// FSM.Changed.
func (c *Cluster) Changed() <-chan struct{} { return c.fsm.Changed() }

// Leader returns the id and API address of the leader as this node knows
// it; both are empty while no leader is known, and apiAddr is empty until
// the leader's member record has reached this node.
func (c *Cluster) Leader() (id, apiAddr string) {
	_, lid := c.raft.LeaderWithID()
	if lid == "" {
		return "", ""
	}
	m, _ := c.State().Member(string(lid))
	return string(lid), m.APIAddr
}

// IsLeader reports whether this node is the leader.
func (c *Cluster) IsLeader() bool { return c.raft.State() == raft.Leader }

// WaitLeader waits until a leader is known and its API address is too, and
// returns them.
func (c *Cluster) WaitLeader(ctx context.Context) (id, apiAddr string, err error) {
	for {
		leaderCh, stateCh := c.leaderCh.wait(), c.fsm.Changed()
		if id, apiAddr = c.Leader(); id != "" && apiAddr != "" {
			return id, apiAddr, nil
		}
		select {
		case <-ctx.Done():
			return "", "", ctx.Err()
		case <-c.closing:
			return "", "", ErrClosed
		case <-leaderCh:
		case <-stateCh:
		}
	}
}

// Status is this node's raft status, for status pages and tests.
type Status struct {
	NodeID   string
	State    string // Follower, Candidate, Leader or Shutdown
	Term     uint64
	LeaderID string
	// LastIndex is the last index in the log, CommitIndex the last known
	// to be committed, AppliedIndex the last applied to the FSM and
	// LastSnapshotIndex the last one a snapshot covers.
	LastIndex, CommitIndex, AppliedIndex, LastSnapshotIndex uint64
	// Voters are the ids of the voters in the latest raft configuration
	// this node knows, sorted.
	Voters []string
}

// Status returns this node's raft status.
func (c *Cluster) Status() Status {
	_, lid := c.raft.LeaderWithID()
	st := Status{
		NodeID:       c.cfg.NodeID,
		State:        c.raft.State().String(),
		Term:         c.raft.CurrentTerm(),
		LeaderID:     string(lid),
		LastIndex:    c.raft.LastIndex(),
		CommitIndex:  c.raft.CommitIndex(),
		AppliedIndex: c.raft.AppliedIndex(),
	}
	st.LastSnapshotIndex, _ = strconv.ParseUint(c.raft.Stats()["last_snapshot_index"], 10, 64)
	if cf := c.raft.GetConfiguration(); cf.Error() == nil {
		for _, srv := range cf.Configuration().Servers {
			if srv.Suffrage == raft.Voter {
				st.Voters = append(st.Voters, string(srv.ID))
			}
		}
		slices.Sort(st.Voters)
	}
	return st
}
