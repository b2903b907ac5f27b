package api

import (
	"context"
	"errors"
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

func (in *ingest) publish(ctx context.Context, events []*motifv1.Event) (node.PublishResult, []*motifv1.EventRejection, error) {
	raw := make([][]byte, len(events))
	for i, e := range events {
		raw[i] = e.GetJson()
	}
	res, err := in.s.node.Publish(ctx, raw)
	if err != nil {
		return res, nil, rpcError(err)
	}
	rej := make([]*motifv1.EventRejection, len(res.Rejections))
	for i, r := range res.Rejections {
		rej[i] = &motifv1.EventRejection{Index: uint32(r.Index), Code: rejectionCodes[r.Code], Reason: r.Reason}
	}
	return res, rej, nil
}

func (in *ingest) Publish(ctx context.Context, req *connect.Request[motifv1.PublishRequest]) (*connect.Response[motifv1.PublishResponse], error) {
	res, rej, err := in.publish(ctx, req.Msg.GetEvents())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&motifv1.PublishResponse{
		Accepted: uint32(res.Accepted), Duplicates: uint32(res.Duplicates), Rejections: rej,
	}), nil
}

func (in *ingest) PublishStream(ctx context.Context, stream *connect.BidiStream[motifv1.PublishStreamRequest, motifv1.PublishStreamResponse]) error {
	for {
		req, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		res, rej, err := in.publish(ctx, req.GetEvents())
		if err != nil {
			return err
		}
		if err := stream.Send(&motifv1.PublishStreamResponse{
			BatchId: req.GetBatchId(), Accepted: uint32(res.Accepted), Duplicates: uint32(res.Duplicates), Rejections: rej,
		}); err != nil {
			return err
		}
	}
}
