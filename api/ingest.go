package api

import (
	"context"
	"errors"
	"fmt"
	"io"

	"connectrpc.com/connect"

	"github.com/motifcep/motif/node"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

type ingest struct{ s *Server }

var rejectionCodes = map[node.RejectionCode]motifv1.EventRejectionCode{
	node.BadJSON:  motifv1.EventRejectionCode_EVENT_REJECTION_CODE_BAD_JSON,
	node.NoType:   motifv1.EventRejectionCode_EVENT_REJECTION_CODE_NO_TYPE,
	node.BadTime:  motifv1.EventRejectionCode_EVENT_REJECTION_CODE_BAD_TIME,
	node.BadID:    motifv1.EventRejectionCode_EVENT_REJECTION_CODE_BAD_ID,
	node.TooLarge: motifv1.EventRejectionCode_EVENT_REJECTION_CODE_TOO_LARGE,
	node.Invalid:  motifv1.EventRejectionCode_EVENT_REJECTION_CODE_INVALID,
}

func rejections(res node.PublishResult) []*motifv1.EventRejection {
	rej := make([]*motifv1.EventRejection, len(res.Rejections))
	for i, r := range res.Rejections {
		rej[i] = &motifv1.EventRejection{Index: uint32(r.Index), Code: rejectionCodes[r.Code], Reason: r.Reason}
	}
	return rej
}

func rawEvents(events []*motifv1.Event) [][]byte {
	raw := make([][]byte, len(events))
	for i, e := range events {
		raw[i] = e.GetJson()
	}
	return raw
}

func (in *ingest) Publish(ctx context.Context, req *connect.Request[motifv1.PublishRequest]) (*connect.Response[motifv1.PublishResponse], error) {
	res, err := in.s.node.Publish(ctx, rawEvents(req.Msg.GetEvents()))
	if err != nil {
		return nil, rpcError(err)
	}
	return connect.NewResponse(&motifv1.PublishResponse{
		Accepted: uint32(res.Accepted), Duplicates: uint32(res.Duplicates), Rejections: rejections(res),
	}), nil
}

// PublishStream appends the batches of a stream in the order they come.
// While one write is being synced, the batches that arrive meanwhile wait,
// and go together in the next write (up to the node's batch limit): a
// client that keeps many batches in flight pays one sync for many of them.
// Each batch still gets its own acknowledgement, in order.
func (in *ingest) PublishStream(ctx context.Context, stream *connect.BidiStream[motifv1.PublishStreamRequest, motifv1.PublishStreamResponse]) error {
	reqs := make(chan *motifv1.PublishStreamRequest, 64)
	var recvErr error
	go func() {
		defer close(reqs)
		for {
			req, err := stream.Receive()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					recvErr = err
				}
				return
			}
			select {
			case reqs <- req:
			case <-ctx.Done():
				return
			}
		}
	}()
	limit := in.s.node.MaxBatchEvents()
	var carry *motifv1.PublishStreamRequest
	for {
		first := carry
		carry = nil
		if first == nil {
			var ok bool
			if first, ok = <-reqs; !ok {
				return recvErr // read after close(reqs): no race
			}
		}
		if n := len(first.GetEvents()); n > limit {
			// Refuse this batch alone; the stream goes on.
			if err := stream.Send(&motifv1.PublishStreamResponse{BatchId: first.GetBatchId(),
				Refused: fmt.Sprintf("a batch of %d events exceeds the limit of %d", n, limit)}); err != nil {
				return err
			}
			continue
		}
		group := []*motifv1.PublishStreamRequest{first}
		n := len(first.GetEvents())
	gather:
		for n < limit {
			select {
			case req, ok := <-reqs:
				if !ok {
					break gather
				}
				if n+len(req.GetEvents()) > limit {
					carry = req
					break gather
				}
				group = append(group, req)
				n += len(req.GetEvents())
			default:
				break gather
			}
		}
		batches := make([][][]byte, len(group))
		for i, req := range group {
			batches[i] = rawEvents(req.GetEvents())
		}
		results, err := in.s.node.PublishBatches(ctx, batches)
		if err != nil {
			return rpcError(err)
		}
		for i, res := range results {
			if err := stream.Send(&motifv1.PublishStreamResponse{
				BatchId: group[i].GetBatchId(), Accepted: uint32(res.Accepted), Duplicates: uint32(res.Duplicates), Rejections: rejections(res),
			}); err != nil {
				return err
			}
		}
	}
}
