package node

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/engine"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/pattern"
)

// partition is the embedded log partition a node's ingest appends to.
const partition = 0

// Rejection is an event Publish did not accept, and why.
type Rejection struct {
	Index  int    // position in the batch
	Reason string // what is wrong with it
	Code   RejectionCode
}

// RejectionCode classifies a rejection.
type RejectionCode int

const (
	OtherFault RejectionCode = iota
	BadJSON                  // not one well-formed JSON object
	NoType                   // no type field
	BadTime                  // a time that does not parse
	BadID                    // an id that is neither a string nor an integer
	TooLarge                 // over Config.MaxEventBytes
	Invalid                  // against the declared event types or the patterns' keys
)

func rejectionCode(err error) RejectionCode {
	switch {
	case errors.Is(err, engine.ErrInvalidEvent):
		return Invalid
	case errors.Is(err, event.ErrNoType):
		return NoType
	case errors.Is(err, event.ErrBadTime):
		return BadTime
	case errors.Is(err, event.ErrBadID):
		return BadID
	case errors.Is(err, event.ErrBadJSON):
		return BadJSON
	}
	return OtherFault
}

// PublishResult is the acknowledgement of a batch: every event not
// rejected is durable in the embedded log (or was already, for a
// duplicate).
type PublishResult struct {
	Accepted   int // appended now
	Duplicates int // ids already accepted within the dedupe window: not appended again
	Rejections []Rejection
}

// validator checks events as the engine will, so that a publisher learns
// at once what is wrong with an event rather than finding it among the
// dead letters.
type validator struct {
	mu        sync.Mutex
	eng       *engine.Engine
	dec       *event.Decoder
	ev        event.Event
	timeField string
	now       int64 // the ingest time of the batch being checked
	stamped   bool  // the event had no time: it takes now
}

func newValidator(set *pattern.Set, opts event.DecoderOptions) (*validator, error) {
	eng, err := engine.New(set, engine.Config{}, nil)
	if err != nil {
		return nil, err
	}
	v := &validator{eng: eng, timeField: cmp.Or(opts.TimeField, "time")}
	opts.RequireTime = false
	opts.Now = func() int64 { v.stamped = true; return v.now }
	v.dec = event.NewDecoder(eng.Schema(), opts)
	return v, nil
}

// check decodes and validates one event; it returns its id and time, and
// the event to store: an event without a time gets the ingest time now,
// written into it, so that matching it again (after a restart, or in a
// replay of the log) gives the same result.
func (v *validator) check(b []byte, now int64) (rec []byte, id string, at int64, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.now, v.stamped = now, false
	if err := v.dec.Decode(b, &v.ev); err != nil {
		return nil, "", 0, err
	}
	if err := v.eng.Validate(&v.ev); err != nil {
		return nil, "", 0, err
	}
	if v.stamped {
		b = stampTime(b, v.timeField, now)
	}
	return b, v.ev.ID, v.ev.Time, nil
}

// stampTime adds the time field to a JSON object that has none (a decoded
// object with a type field is not empty, so a comma goes first).
func stampTime(b []byte, field string, at int64) []byte {
	i := bytes.LastIndexByte(b, '}')
	out := make([]byte, 0, len(b)+len(field)+40)
	out = append(out, b[:i]...)
	out = append(out, ',')
	out = event.AppendJSONString(out, field)
	out = append(out, ':')
	out = event.AppendJSONString(out, time.Unix(0, at).UTC().Format(time.RFC3339Nano))
	return append(out, b[i:]...)
}

// Publish validates a batch of events (JSON objects, as NDJSON lines
// carry them) and appends the valid ones to the embedded log in one synced
// write. An event whose id was accepted within the dedupe window is
// acknowledged again but not appended, so a client may retry a batch after
// a timeout or a crash without duplicating events.
func (n *Node) Publish(ctx context.Context, events [][]byte) (PublishResult, error) {
	res, err := n.PublishBatches(ctx, [][][]byte{events})
	if err != nil {
		return PublishResult{}, err
	}
	return res[0], nil
}

// MaxBatchEvents is the most events Publish takes at once.
func (n *Node) MaxBatchEvents() int { return n.cfg.MaxBatchEvents }

// PublishBatches is Publish of several batches, in order, in one synced
// write: a stream of small batches pays for one sync, not one each. The
// batches together must not exceed MaxBatchEvents.
func (n *Node) PublishBatches(ctx context.Context, batches [][][]byte) ([]PublishResult, error) {
	if n.cfg.Input != nil {
		return nil, ErrExternalInput
	}
	total := 0
	for _, b := range batches {
		total += len(b)
	}
	if total > n.cfg.MaxBatchEvents {
		return nil, fmt.Errorf("%w: a batch of %d events exceeds the limit of %d", ErrInvalid, total, n.cfg.MaxBatchEvents)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n.mu.Lock()
	val := n.val
	n.mu.Unlock()
	res := make([]PublishResult, len(batches))
	recs := make([]checkpoint.Record, 0, total)
	owner := make([]int, 0, total) // the batch of each record
	now := n.cfg.Now().UnixNano()
	for bi, events := range batches {
		for i, b := range events {
			if len(b) > n.cfg.MaxEventBytes {
				res[bi].Rejections = append(res[bi].Rejections, Rejection{i, fmt.Sprintf("event of %d bytes exceeds the limit of %d", len(b), n.cfg.MaxEventBytes), TooLarge})
				continue
			}
			rec, id, at, err := val.check(b, now)
			if err != nil {
				res[bi].Rejections = append(res[bi].Rejections, Rejection{i, err.Error(), rejectionCode(err)})
				continue
			}
			recs = append(recs, checkpoint.Record{Data: rec, ID: id, Time: at})
			owner = append(owner, bi)
		}
		n.rejected.Add(uint64(len(res[bi].Rejections)))
	}
	if len(recs) == 0 {
		return res, nil
	}
	app, err := n.store.AppendRecords(partition, recs)
	if err != nil {
		return nil, err
	}
	for i, a := range app {
		if a.Duplicate {
			res[owner[i]].Duplicates++
			n.duplicates.Add(1)
		} else {
			res[owner[i]].Accepted++
			n.published.Add(1)
		}
	}
	return res, nil
}
