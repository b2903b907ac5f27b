package raftstate

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/raft"
)

// monitorLeadership runs lead while this node is the leader, until Close.
func (c *Cluster) monitorLeadership() {
	stop := func() {}
	defer func() { stop() }()
	for {
		select {
		case <-c.closing:
			return
		case leader := <-c.raft.LeaderCh():
			// Two trues in a row mean leadership was lost and won again in
			// between: start over either way.
			stop()
			stop = func() {}
			if leader {
				stop = c.startLead()
			}
		}
	}
}

// startLead runs lead in a goroutine; the function it returns stops it
// and waits for it.
func (c *Cluster) startLead() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.lead(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// lead is the leader's work: keep its own member record current, remove
// the records of nodes no longer in the raft configuration, and keep every
// partition assigned to a live member, balanced. It runs until ctx is
// cancelled, when leadership is lost.
func (c *Cluster) lead(ctx context.Context) {
	c.log.Info("leading")
	defer c.log.Info("no longer leading")
	retry := c.cfg.HeartbeatTimeout
	// Decide nothing before every entry of earlier terms is applied.
	for {
		err := c.await(ctx, c.raft.Barrier(0))
		if err == nil {
			break
		}
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return
		}
		c.log.Warn("barrier failed", "err", err)
		if !sleep(ctx, retry) {
			return
		}
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		stateCh, liveCh := c.fsm.Changed(), c.live.wait()
		wait, err := c.rebalance(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			c.log.Warn("rebalancing failed", "err", err)
			wait = retry
		}
		var timerCh <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			timerCh = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-stateCh:
		case <-liveCh:
		case <-timerCh:
		}
		timer.Stop()
	}
}

// rebalance makes one change towards the state lead maintains, if one is
// due, and returns when it must look again even if nothing changes (0 for
// not until something does). A command rejected because the state moved
// is not an error: the state changed, so lead looks again at once.
func (c *Cluster) rebalance(ctx context.Context) (time.Duration, error) {
	s := c.fsm.State()
	cf := c.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return 0, err
	}
	voters := map[string]bool{}
	for _, srv := range cf.Configuration().Servers {
		if srv.Suffrage == raft.Voter {
			voters[string(srv.ID)] = true
		}
	}

	self := c.cfg.NodeID
	if m, ok := s.Member(self); voters[self] && (!ok || m.RaftAddr != c.RaftAddr() || m.APIAddr != c.cfg.APIAddr) {
		return 0, c.proposeQuiet(ctx, encodeJSON(kindAddMember, addMemberCmd{
			ID: self, RaftAddr: c.RaftAddr(), APIAddr: c.cfg.APIAddr, Joined: time.Now().UnixNano(),
		}))
	}
	for _, m := range s.Members() {
		if !voters[m.ID] {
			c.log.Info("removing the record of a node no longer in the raft configuration", "member", m.ID)
			return 0, c.proposeQuiet(ctx, encodeJSON(kindRemoveMember, removeMemberCmd{ID: m.ID}))
		}
	}

	now := time.Now()
	live := map[string]bool{}
	for _, m := range s.Members() {
		live[m.ID] = c.live.live(m.ID, m.State == MemberLost, now)
	}
	cmd := plan(s, live)
	if cmd.empty() {
		next, _ := c.live.next(now)
		return next, nil
	}
	c.log.Info("rebalancing", "moves", len(cmd.Assign), "member_states", cmd.States)
	return 0, c.proposeQuiet(ctx, encodeJSON(kindAssign, cmd))
}

// proposeQuiet proposes cmd, and counts its rejection for a state that
// moved meanwhile as success: the caller recomputes from the new state.
func (c *Cluster) proposeQuiet(ctx context.Context, cmd []byte) error {
	_, err := c.propose(ctx, cmd)
	if errors.Is(err, ErrStaleEpoch) || errors.Is(err, ErrUnknownMember) || errors.Is(err, ErrUnknownPartition) {
		return nil
	}
	return err
}

// sleep waits for d, and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
