package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/motifcep/motif/api"
	"github.com/motifcep/motif/node"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
	"github.com/motifcep/motif/proto/gen/motif/v1/motifv1connect"
	"github.com/motifcep/motif/raftstate"
)

// What the API (api.Cluster) asks of a cluster node.

var _ api.Cluster = (*Node)(nil)

// Join adds a node to the cluster: on the leader directly, otherwise
// through the leader's API.
func (c *Node) Join(ctx context.Context, id, raftAddr, apiAddr string) (string, error) {
	for {
		err := c.raft.AddMember(ctx, id, raftAddr, apiAddr)
		var nl *raftstate.NotLeaderError
		if !errors.As(err, &nl) {
			if err != nil {
				return "", err
			}
			return c.cfg.NodeID, nil
		}
		if nl.LeaderAPIAddr != "" {
			res, err := AdminClient(nl.LeaderAPIAddr, c.cfg.Token).JoinCluster(ctx, connect.NewRequest(&motifv1.JoinClusterRequest{
				NodeId: id, RaftAddr: raftAddr, ApiAddr: apiAddr}))
			if err != nil {
				return "", err
			}
			return res.Msg.GetLeaderId(), nil
		}
		if _, _, err := c.raft.WaitLeader(ctx); err != nil {
			return "", err
		}
	}
}

// Remove decommissions node id, through the leader.
func (c *Node) Remove(ctx context.Context, id string) error {
	err := c.raft.RemoveMember(ctx, id)
	var nl *raftstate.NotLeaderError
	if errors.As(err, &nl) && nl.LeaderAPIAddr != "" {
		_, err = AdminClient(nl.LeaderAPIAddr, c.cfg.Token).RemoveClusterMember(ctx,
			connect.NewRequest(&motifv1.RemoveClusterMemberRequest{NodeId: id}))
	}
	return err
}

// ApplyForwarded applies a follower's write (see raftstate).
func (c *Node) ApplyForwarded(ctx context.Context, cmd []byte) (uint64, error) {
	return c.raft.ApplyForwarded(ctx, cmd)
}

// Status is the cluster as this node knows it: the replicated state, with
// the lag and catalog revision of the partitions this node reads as it
// last measured them, and the lag of the others as their owners last
// recorded it.
func (c *Node) Status() *motifv1.ClusterStatus {
	st := c.raft.State()
	rs := c.raft.Status()
	out := &motifv1.ClusterStatus{LeaderId: rs.LeaderID, RaftState: rs.State, CatalogRevision: st.Catalog().Revision}
	for _, m := range st.Members() {
		out.Members = append(out.Members, &motifv1.ClusterMember{NodeId: m.ID, RaftAddr: m.RaftAddr, ApiAddr: m.APIAddr,
			Alive: m.State == raftstate.MemberAlive})
	}
	slices.SortFunc(out.Members, func(a, b *motifv1.ClusterMember) int { return cmp.Compare(a.NodeId, b.NodeId) })
	c.mu.Lock()
	mine := map[raftstate.Partition]*worker{}
	for p, w := range c.workers {
		mine[p] = w
	}
	c.mu.Unlock()
	for _, ps := range st.Partitions() {
		m := &motifv1.ClusterPartition{Topic: ps.Partition.Topic, Partition: uint32(ps.Partition.Partition), Owner: ps.Owner,
			Epoch: ps.Epoch, CommittedOffset: ps.Checkpoint.Offset, Lag: raftstate.LagUnknown}
		if ps.CheckpointEpoch != 0 {
			if wm := ps.Checkpoint.Watermark; wm != 0 && wm != math.MinInt64 {
				m.Watermark = timestamppb.New(time.Unix(0, wm))
			}
			m.Lag = max(ps.Checkpoint.Lag, raftstate.LagUnknown)
		}
		if w, ok := mine[ps.Partition]; ok {
			if lag := w.lag.Load(); lag >= 0 {
				m.Lag = lag
			}
			m.CatalogRevision = w.rev.Load()
		}
		out.Partitions = append(out.Partitions, m)
	}
	return out
}

// CheckpointPartitions takes a checkpoint, or a savepoint named name, of
// the store of every partition the node owns, all at once, and returns
// each one's outcome, sorted by partition. A partition whose worker is not
// running (it starts, or waits for Kafka to take the partition over) has
// node.ErrNotRunning as its error.
func (c *Node) CheckpointPartitions(ctx context.Context, name string) []api.PartitionCheckpoint {
	owned := c.raft.State().Owned(c.cfg.NodeID)
	workers := make([]*worker, len(owned))
	c.mu.Lock()
	for i, ps := range owned {
		if w, ok := c.workers[ps.Partition]; ok && w.epoch == ps.Epoch {
			workers[i] = w
		}
	}
	c.mu.Unlock()
	out := make([]api.PartitionCheckpoint, len(owned))
	var wg sync.WaitGroup
	for i, ps := range owned {
		out[i] = api.PartitionCheckpoint{Partition: ps.Partition, Epoch: ps.Epoch}
		if workers[i] == nil {
			out[i].Err = fmt.Errorf("its matching has not started yet: %w", node.ErrNotRunning)
			continue
		}
		wg.Go(func() { out[i].Info, out[i].Err = workers[i].checkpoint(ctx, name) })
	}
	wg.Wait()
	return out
}

// AdminClient is a client of the admin service at addr (host:port) that
// presents token, if any.
func AdminClient(addr, token string) motifv1connect.AdminServiceClient {
	var opts []connect.ClientOption
	if token != "" {
		opts = append(opts, connect.WithInterceptors(bearer(token)))
	}
	return motifv1connect.NewAdminServiceClient(http.DefaultClient, "http://"+addr, opts...)
}

func bearer(token string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, req)
		}
	}
}

// Forwarder returns a Config.Forward that sends writes to the leader's
// ForwardClusterWrite.
func Forwarder(token string) func(ctx context.Context, leaderAPIAddr string, cmd []byte) (uint64, error) {
	return func(ctx context.Context, leaderAPIAddr string, cmd []byte) (uint64, error) {
		res, err := AdminClient(leaderAPIAddr, token).ForwardClusterWrite(ctx,
			connect.NewRequest(&motifv1.ForwardClusterWriteRequest{Command: cmd}))
		if err != nil {
			return 0, err
		}
		if code := res.Msg.GetErrorCode(); code != "" {
			return 0, raftstate.CodeError(code, res.Msg.GetError())
		}
		return res.Msg.GetIndex(), nil
	}
}
