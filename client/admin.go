package client

import (
	"context"

	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

// Status returns the state of the node that serves the call: partitions
// and their watermarks, checkpoints, running pattern versions, counters.
func (c *Client) Status(ctx context.Context) (*motifv1.GetStatusResponse, error) {
	return unary(ctx, c, true, "GetStatus", &motifv1.GetStatusRequest{}, c.admin.GetStatus)
}

// Checkpoint takes a checkpoint now, or a savepoint named savepoint (kept
// until deleted) when it is not empty, and returns it once it is complete
// and durable. The error has code AlreadyExists when a savepoint of that name
// exists and InvalidArgument when the name is not allowed (1 to 128
// letters, digits, '.', '_' or '-', not starting with '.').
//
// Checkpoint is attempted again only when the server was not reached.
func (c *Client) Checkpoint(ctx context.Context, savepoint string) (*motifv1.Checkpoint, error) {
	res, err := unary(ctx, c, false, "CreateCheckpoint",
		&motifv1.CreateCheckpointRequest{SavepointName: savepoint}, c.admin.CreateCheckpoint)
	if err != nil {
		return nil, err
	}
	return res.GetCheckpoint(), nil
}

// ListCheckpoints returns the checkpoints and savepoints the node keeps.
func (c *Client) ListCheckpoints(ctx context.Context) ([]*motifv1.Checkpoint, error) {
	res, err := unary(ctx, c, true, "ListCheckpoints", &motifv1.ListCheckpointsRequest{}, c.admin.ListCheckpoints)
	if err != nil {
		return nil, err
	}
	return res.GetCheckpoints(), nil
}

// DeleteSavepoint deletes a savepoint. The error has code NotFound when
// there is no savepoint of that name.
//
// DeleteSavepoint is attempted again only when the server was not reached
// (a repeated deletion would fail with NotFound).
func (c *Client) DeleteSavepoint(ctx context.Context, name string) error {
	_, err := unary(ctx, c, false, "DeleteSavepoint", &motifv1.DeleteSavepointRequest{Name: name}, c.admin.DeleteSavepoint)
	return err
}
