package client

import (
	"context"

	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

// Rejection says why one event of a batch was not appended.
type Rejection struct {
	Index  int // the event's position in its batch, from 0
	Code   motifv1.EventRejectionCode
	Reason string // meant for a person: `missing "type" field`
}

// PublishResult acknowledges a batch: every event of it is counted once,
// in Accepted, in Duplicates or among the Rejections.
type PublishResult struct {
	// Events appended by the call; they are durable.
	Accepted int
	// Events whose id the server had already accepted within its dedupe
	// window: durable already and not appended again. After a retry this
	// includes the events the lost attempt appended.
	Duplicates int
	// The events not appended, by index, each with its reason.
	Rejections []Rejection
}

func publishResult(accepted, duplicates uint32, rej []*motifv1.EventRejection) PublishResult {
	res := PublishResult{Accepted: int(accepted), Duplicates: int(duplicates)}
	for _, r := range rej {
		res.Rejections = append(res.Rejections, Rejection{Index: int(r.GetIndex()), Code: r.GetCode(), Reason: r.GetReason()})
	}
	return res
}

func eventMsgs(batch [][]byte) []*motifv1.Event {
	out := make([]*motifv1.Event, len(batch))
	for i, b := range batch {
		out[i] = &motifv1.Event{Json: b}
	}
	return out
}

// Publish appends one batch of events (each one JSON object, as a line of
// NDJSON carries it) to the server's embedded log and returns when the
// accepted ones are durable. Events the server cannot use are rejected
// one by one, not the batch: see the result's Rejections.
//
// Publish retries, with backoff, when the call fails in a way that may pass
// (the server is unavailable or restarting, the connection broke). That is
// safe because the server deduplicates events by their id: an event of a
// lost attempt is acknowledged by the retry as a duplicate, not appended
// twice. An event without an id cannot be recognised, so a retry after a
// lost response may append it twice. The server bounds a batch
// (10000 events and 64 MiB by default).
func (c *Client) Publish(ctx context.Context, events ...[]byte) (PublishResult, error) {
	res, err := unary(ctx, c, true, "Publish", &motifv1.PublishRequest{Events: eventMsgs(events)}, c.ingest.Publish)
	if err != nil {
		return PublishResult{}, err
	}
	return publishResult(res.GetAccepted(), res.GetDuplicates(), res.GetRejections()), nil
}
