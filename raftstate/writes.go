package raftstate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"time"

	"github.com/hashicorp/raft"
)

// ApplyCatalog replaces the catalog document with doc if the catalog is
// still at revision fromRevision, and returns the new catalog: revision
// fromRevision+1, applied at the index it names. If another change came
// first it returns ErrStaleRevision; the caller reads State().Catalog(),
// recomputes doc and tries again.
func (c *Cluster) ApplyCatalog(ctx context.Context, fromRevision uint64, doc []byte) (Catalog, error) {
	s, err := c.propose(ctx, encodeCatalog(catalogCmd{From: fromRevision, Doc: doc}))
	if err != nil {
		return Catalog{}, err
	}
	return s.Catalog(), nil
}

// Checkpoint records meta as partition p's checkpoint, written by the
// owner of epoch (with meta.Lag LagUnknown if it has not measured the
// lag). If epoch is not p's current epoch (the writer is no
// longer the owner) it returns ErrStaleEpoch and records nothing; an owner
// that gets it must stop reading p.
func (c *Cluster) Checkpoint(ctx context.Context, p Partition, epoch uint64, meta CheckpointMeta) error {
	if err := validPartition(p); err != nil {
		return err
	}
	_, err := c.propose(ctx, encodeCheckpoint(checkpointCmd{Partition: p, Epoch: epoch, Meta: meta}))
	return err
}

// SetPartitions sets the source partitions the cluster reads: those not
// known yet are added unassigned (the leader assigns them), those known
// keep their owner, epoch and checkpoint, and those not in parts are
// forgotten, checkpoint included. Order and repeats in parts do not
// matter.
func (c *Cluster) SetPartitions(ctx context.Context, parts []Partition) error {
	parts = slices.Clone(parts)
	slices.SortFunc(parts, Partition.Compare)
	parts = slices.Compact(parts)
	cmd := setPartitionsCmd{Partitions: make([]partitionJSON, 0, len(parts))}
	for _, p := range parts {
		if err := validPartition(p); err != nil {
			return err
		}
		cmd.Partitions = append(cmd.Partitions, partitionJSON{Topic: p.Topic, Partition: p.Partition})
	}
	_, err := c.propose(ctx, encodeJSON(kindSetPartitions, cmd))
	return err
}

func validPartition(p Partition) error {
	if p.Topic == "" || len(p.Topic) > math.MaxUint16 || p.Partition < 0 {
		return fmt.Errorf("raftstate: invalid partition %q", p)
	}
	return nil
}

// AddMember makes node id, whose raft transport is at raftAddr and API at
// apiAddr, a voter and records it as a member. It must be called on the
// leader, after the node has started (Open without Bootstrap): the change
// commits only once the new node answers, when the cluster needs it for a
// quorum. Adding a member again with the same addresses changes nothing;
// with new addresses it updates them.
func (c *Cluster) AddMember(ctx context.Context, id, raftAddr, apiAddr string) error {
	if id == "" {
		return errors.New("raftstate: AddMember: empty id")
	}
	for _, a := range []string{raftAddr, apiAddr} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("raftstate: AddMember %s: address %q: %w", id, a, err)
		}
	}
	if err := c.checkLeader(); err != nil {
		return err
	}
	srv, ok, err := c.server(id)
	if err != nil {
		return err
	}
	if !ok || srv.Suffrage != raft.Voter || string(srv.Address) != raftAddr {
		f := c.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(raftAddr), 0, enqueueTimeout(ctx))
		if err := c.await(ctx, f); err != nil {
			return c.raftErr(err)
		}
	}
	_, err = c.propose(ctx, encodeJSON(kindAddMember, addMemberCmd{
		ID: id, RaftAddr: raftAddr, APIAddr: apiAddr, Joined: time.Now().UnixNano(),
	}))
	return err
}

// RemoveMember removes node id from the raft configuration and from the
// members. The partitions it owned are unassigned under new epochs, which
// fences it, and the leader assigns them to live members. Removing a node
// that is not a member changes nothing.
//
// A removed follower is no longer replicated to and its votes are ignored,
// but its raft keeps running until it is closed: whoever removes a node
// also stops it. A leader that removes itself shuts its raft down before
// it can remove its member record; the next leader removes the record.
func (c *Cluster) RemoveMember(ctx context.Context, id string) error {
	if err := c.checkLeader(); err != nil {
		return err
	}
	if _, ok, err := c.server(id); err != nil {
		return err
	} else if ok {
		if err := c.await(ctx, c.raft.RemoveServer(raft.ServerID(id), 0, enqueueTimeout(ctx))); err != nil {
			return c.raftErr(err)
		}
		if id == c.cfg.NodeID {
			return nil
		}
	}
	_, err := c.propose(ctx, encodeJSON(kindRemoveMember, removeMemberCmd{ID: id}))
	return err
}

// server returns the raft configuration's entry for id.
func (c *Cluster) server(id string) (raft.Server, bool, error) {
	cf := c.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return raft.Server{}, false, c.raftErr(err)
	}
	for _, srv := range cf.Configuration().Servers {
		if string(srv.ID) == id {
			return srv, true, nil
		}
	}
	return raft.Server{}, false, nil
}

// propose applies cmd through raft and returns the state the command
// produced, or the error the FSM rejected it with.
func (c *Cluster) propose(ctx context.Context, cmd []byte) (*State, error) {
	if err := c.checkLeader(); err != nil {
		var nl *NotLeaderError
		if errors.As(err, &nl) && c.cfg.Forward != nil {
			return c.forward(ctx, cmd)
		}
		return nil, err
	}
	f := c.raft.Apply(cmd, enqueueTimeout(ctx))
	if err := c.await(ctx, f); err != nil {
		return nil, c.raftErr(err)
	}
	switch r := f.Response().(type) {
	case *State:
		return r, nil
	case error:
		return nil, r
	default:
		return nil, fmt.Errorf("raftstate: unexpected FSM response %T", r)
	}
}

// checkLeader returns ErrClosed after Close, a *NotLeaderError on a
// follower, and nil on the leader.
func (c *Cluster) checkLeader() error {
	c.mu.RLock()
	closed := c.closed
	c.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if !c.IsLeader() {
		return c.notLeader()
	}
	return nil
}

func (c *Cluster) notLeader() error {
	id, api := c.Leader()
	return &NotLeaderError{LeaderID: id, LeaderAPIAddr: api}
}

// raftErr translates the errors of raft futures into this package's.
func (c *Cluster) raftErr(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return c.notLeader()
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrAbortedByRestore):
		return fmt.Errorf("%w (%v)", ErrLeadershipLost, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrClosed
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("raftstate: %w: %v", context.DeadlineExceeded, err)
	}
	return err
}

// await waits for f, or until ctx ends. A future whose wait is abandoned
// still completes (raft completes every future, at the latest when it
// shuts down); Close waits for it.
func (c *Cluster) await(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return ErrClosed
	}
	c.waiters.Go(func() { done <- f.Error() })
	c.mu.RUnlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueueTimeout is how long raft may take to accept a command: until
// ctx's deadline, or without limit.
func enqueueTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return 0
}
