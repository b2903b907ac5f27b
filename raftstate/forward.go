package raftstate

import (
	"context"
	"errors"
	"fmt"
)

// Forwarding. A write made on a follower is sent, as its encoded command,
// to the leader's API (Config.Forward), which hands it to ApplyForwarded.
// The follower then waits until its own state has reached the index the
// leader applied it at, so that what the write changed is visible on the
// node that made it when the call returns.

// forward sends cmd to the leader and waits for this node to apply it.
func (c *Cluster) forward(ctx context.Context, cmd []byte) (*State, error) {
	_, api, err := c.WaitLeader(ctx)
	if err != nil {
		return nil, err
	}
	index, err := c.cfg.Forward(ctx, api, cmd)
	if err != nil {
		return nil, err
	}
	for {
		changed := c.fsm.Changed()
		if s := c.State(); s.Index() >= index {
			return s, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.closing:
			return nil, ErrClosed
		}
	}
}

// ApplyForwarded applies a command a follower forwarded (Config.Forward)
// and returns the raft index of the state it produced. Only the writes a
// follower may make are accepted: catalog changes, checkpoints and
// partition lists; membership changes go through AddMember and
// RemoveMember on the leader.
func (c *Cluster) ApplyForwarded(ctx context.Context, cmd []byte) (uint64, error) {
	if len(cmd) == 0 {
		return 0, fmt.Errorf("%w: empty forwarded command", ErrCorrupt)
	}
	switch k := kind(cmd[0]); k {
	case kindCatalog, kindCheckpoint, kindCheckpointV1, kindSetPartitions:
	default:
		return 0, fmt.Errorf("%w: a %s command cannot be forwarded", ErrCorrupt, k)
	}
	if err := c.checkLeader(); err != nil {
		return 0, err // one hop only: the follower retries
	}
	s, err := c.propose(ctx, cmd)
	if err != nil {
		return 0, err
	}
	return s.Index(), nil
}

// Codes of the errors a forwarded write can fail with, so that they keep
// their identity across the API (ErrorCode, CodeError).
var errorCodes = []struct {
	code string
	err  error
}{
	{"stale-revision", ErrStaleRevision},
	{"stale-epoch", ErrStaleEpoch},
	{"unknown-partition", ErrUnknownPartition},
	{"unknown-member", ErrUnknownMember},
	{"corrupt", ErrCorrupt},
	{"not-leader", ErrNotLeader},
	{"leadership-lost", ErrLeadershipLost},
	{"closed", ErrClosed},
}

// ErrorCode names the error of this package that err wraps, or "" if none.
func ErrorCode(err error) string {
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return ""
}

// CodeError returns an error wrapping the error of this package that code
// names (ErrorCode), with msg as its text; a plain error for an unknown
// code.
func CodeError(code, msg string) error {
	for _, e := range errorCodes {
		if e.code == code {
			return &codedError{msg, e.err}
		}
	}
	return errors.New(msg)
}

type codedError struct {
	msg string
	err error
}

func (e *codedError) Error() string { return e.msg }
func (e *codedError) Unwrap() error { return e.err }
