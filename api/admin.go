package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/motifcep/motif/checkpoint"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
	"github.com/motifcep/motif/raftstate"
)

type admin struct{ s *Server }

func eventTime(ns int64) *timestamppb.Timestamp {
	if ns == math.MinInt64 || ns == math.MaxInt64 {
		return nil
	}
	return timestamppb.New(time.Unix(0, ns))
}

func checkpointMsg(in checkpoint.Info) *motifv1.Checkpoint {
	m := &motifv1.Checkpoint{
		Id: in.ID, SavepointName: in.Name, CreatedAt: timestamppb.New(in.Created),
		Duration: durationpb.New(in.Duration), SizeBytes: uint64(in.Size), AlertSeq: in.Meta.AlertSeq,
		Patterns: in.Meta.Patterns, Labels: in.Meta.Labels,
	}
	for src, parts := range in.Meta.Offsets {
		for part, off := range parts {
			pos := &motifv1.PartitionPosition{Source: src, Partition: part, Offset: off}
			if wm, ok := in.Meta.Watermarks[src][part]; ok {
				pos.Watermark = eventTime(wm)
			}
			m.Positions = append(m.Positions, pos)
		}
	}
	return m
}

func (a *admin) GetStatus(context.Context, *connect.Request[motifv1.GetStatusRequest]) (*connect.Response[motifv1.GetStatusResponse], error) {
	st, err := a.s.node.Status()
	if err != nil {
		return nil, rpcError(err)
	}
	c := st.Counters
	res := &motifv1.GetStatusResponse{
		NodeId: st.ID, ServerVersion: a.s.opts.Version, StartedAt: timestamppb.New(a.s.started),
		LastAlertSeq: c.LastAlertSeq, InputHeld: c.Held,
		Counters: &motifv1.Counters{
			EventsIn: c.Events, EventsLate: c.Late, EventsInvalid: c.Invalid, EventsDuplicate: c.Duplicates,
			EventsRejected: c.Rejected, EventsPublished: c.Published,
			Alerts: c.Alerts, CheckpointsTaken: c.Checkpoints, CheckpointsFailed: c.CheckpointFailures,
		},
	}
	for _, ps := range c.Patterns {
		res.Counters.AlertsSuppressed += ps.Suppressed
		res.Counters.PartialMatchesTimedOut += ps.Timeouts
	}
	now := time.Now()
	for _, p := range st.Partitions {
		m := &motifv1.PartitionStatus{Source: p.Source, Partition: p.Partition, CommittedOffset: p.Offset,
			EndOffset: p.End, Lag: p.Lag(), Watermark: eventTime(p.Watermark), Idle: p.Idle, Paused: p.Paused}
		if m.Watermark != nil {
			m.WatermarkLag = durationpb.New(now.Sub(time.Unix(0, p.Watermark)))
		}
		res.Partitions = append(res.Partitions, m)
	}
	for _, p := range st.Patterns {
		m := &motifv1.PatternStatus{Name: p.Name, Version: uint32(p.Version), State: states[p.State],
			PartialMatches: uint64(max(0, p.PartialMatches)), StateBytes: uint64(max(0, p.StateBytes))}
		for _, ps := range c.Patterns {
			if ps.Name == p.Name && ps.Version == p.Version {
				m.Alerts, m.AlertsSuppressed = ps.Alerts, ps.Suppressed
			}
		}
		res.Patterns = append(res.Patterns, m)
	}
	if st.LastCheckpoint != nil {
		res.LastCheckpoint = checkpointMsg(*st.LastCheckpoint)
	}
	if f := a.s.lastFailure.Load(); f != nil {
		res.LastCheckpointFailure = &motifv1.CheckpointFailure{FailedAt: timestamppb.New(f.at), SavepointName: f.name, Error: f.err}
	}
	if cl := a.s.opts.Cluster; cl != nil {
		// The node's own partition list is its front node's, which reads
		// nothing: the cluster's partitions say who reads what.
		res.Partitions = nil
		res.Cluster = cl.Status()
	}
	return connect.NewResponse(res), nil
}

// CreateCheckpoint checkpoints the node's store; on a cluster member, then
// the store of every partition it owns too.
func (a *admin) CreateCheckpoint(ctx context.Context, req *connect.Request[motifv1.CreateCheckpointRequest]) (*connect.Response[motifv1.CreateCheckpointResponse], error) {
	name := req.Msg.GetSavepointName()
	info, err := a.s.node.Checkpoint(ctx, name)
	if err != nil {
		a.checkpointFailed(ctx, name, err)
		return nil, rpcError(err)
	}
	res := &motifv1.CreateCheckpointResponse{Checkpoint: checkpointMsg(info)}
	if cl := a.s.opts.Cluster; cl != nil {
		for _, pc := range cl.CheckpointPartitions(ctx, name) {
			m := &motifv1.ClusterPartitionCheckpoint{Topic: pc.Partition.Topic, Partition: uint32(pc.Partition.Partition),
				Epoch: pc.Epoch}
			if pc.Err != nil {
				m.Error = pc.Err.Error()
				a.checkpointFailed(ctx, name, fmt.Errorf("partition %s: %w", pc.Partition, pc.Err))
			} else {
				m.Checkpoint = checkpointMsg(pc.Info)
			}
			res.Partitions = append(res.Partitions, m)
		}
	}
	return connect.NewResponse(res), nil
}

// checkpointFailed records a failed checkpoint as the node's last failure,
// unless the request was refused (a name taken or not allowed) or gone.
func (a *admin) checkpointFailed(ctx context.Context, name string, err error) {
	if errors.Is(err, checkpoint.ErrExists) || errors.Is(err, checkpoint.ErrInvalid) || ctx.Err() != nil {
		return
	}
	a.s.lastFailure.Store(&checkpointFailure{at: time.Now(), name: name, err: err.Error()})
}

func (a *admin) ListCheckpoints(context.Context, *connect.Request[motifv1.ListCheckpointsRequest]) (*connect.Response[motifv1.ListCheckpointsResponse], error) {
	cps, sps, err := a.s.node.Checkpoints()
	if err != nil {
		return nil, rpcError(err)
	}
	res := &motifv1.ListCheckpointsResponse{}
	for _, in := range append(cps, sps...) {
		res.Checkpoints = append(res.Checkpoints, checkpointMsg(in))
	}
	return connect.NewResponse(res), nil
}

func (a *admin) DeleteSavepoint(_ context.Context, req *connect.Request[motifv1.DeleteSavepointRequest]) (*connect.Response[motifv1.DeleteSavepointResponse], error) {
	if err := a.s.node.DeleteSavepoint(req.Msg.GetName()); err != nil {
		return nil, rpcError(err)
	}
	return connect.NewResponse(&motifv1.DeleteSavepointResponse{}), nil
}

// errNotClustered refuses the cluster calls on a node that runs alone.
var errNotClustered = connect.NewError(connect.CodeFailedPrecondition, errors.New("this node does not run as part of a cluster"))

func (a *admin) JoinCluster(ctx context.Context, req *connect.Request[motifv1.JoinClusterRequest]) (*connect.Response[motifv1.JoinClusterResponse], error) {
	cl := a.s.opts.Cluster
	if cl == nil {
		return nil, errNotClustered
	}
	m := req.Msg
	if m.GetNodeId() == "" || m.GetRaftAddr() == "" || m.GetApiAddr() == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("node_id, raft_addr and api_addr are required"))
	}
	leader, err := cl.Join(ctx, m.GetNodeId(), m.GetRaftAddr(), m.GetApiAddr())
	if err != nil {
		return nil, clusterError(err)
	}
	return connect.NewResponse(&motifv1.JoinClusterResponse{LeaderId: leader}), nil
}

func (a *admin) RemoveClusterMember(ctx context.Context, req *connect.Request[motifv1.RemoveClusterMemberRequest]) (*connect.Response[motifv1.RemoveClusterMemberResponse], error) {
	cl := a.s.opts.Cluster
	if cl == nil {
		return nil, errNotClustered
	}
	if req.Msg.GetNodeId() == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("node_id is required"))
	}
	if err := cl.Remove(ctx, req.Msg.GetNodeId()); err != nil {
		return nil, clusterError(err)
	}
	return connect.NewResponse(&motifv1.RemoveClusterMemberResponse{}), nil
}

func (a *admin) ForwardClusterWrite(ctx context.Context, req *connect.Request[motifv1.ForwardClusterWriteRequest]) (*connect.Response[motifv1.ForwardClusterWriteResponse], error) {
	cl := a.s.opts.Cluster
	if cl == nil {
		return nil, errNotClustered
	}
	index, err := cl.ApplyForwarded(ctx, req.Msg.GetCommand())
	if err != nil {
		if code := raftstate.ErrorCode(err); code != "" {
			return connect.NewResponse(&motifv1.ForwardClusterWriteResponse{ErrorCode: code, Error: err.Error()}), nil
		}
		return nil, clusterError(err)
	}
	return connect.NewResponse(&motifv1.ForwardClusterWriteResponse{Index: index}), nil
}

// clusterError gives a cluster call's error its code: no leader known is
// UNAVAILABLE (try again), the rest as rpcError.
func clusterError(err error) error {
	if errors.Is(err, raftstate.ErrNotLeader) || errors.Is(err, raftstate.ErrLeadershipLost) {
		return connect.NewError(connect.CodeUnavailable, err)
	}
	return rpcError(err)
}
