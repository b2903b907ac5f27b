package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"connectrpc.com/connect"

	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

// Ack acknowledges one batch a Publisher sent.
type Ack struct {
	BatchID uint64 // as Send returned it
	Events  int    // the number of events of the batch
	PublishResult
	// Err is set when the batch could not be published: the server refused
	// it as a whole (an InvalidArgument error; nothing of it was appended),
	// or the stream failed and retries did not overcome it, or the
	// publisher's context ended (then the batch may or may not have been
	// appended).
	Err error
}

// Publisher publishes batches of events on one stream, the fast way: Send
// returns as soon as the batch is on its way, and the acknowledgements
// come back, in the order of the batches, to the function given to
// NewPublisher. When the stream fails in a way that may pass, the
// Publisher opens a new one (with backoff, at most WithRetry attempts in a
// row without an acknowledgement) and sends the unacknowledged batches
// again, which the server's deduplication by event id makes safe (see
// Publish about events without ids).
//
// Send may be called from several goroutines; Close flushes.
type Publisher struct {
	c       *Client
	onAck   func(Ack)
	ctx     context.Context
	cancel  context.CancelFunc
	slots   chan struct{} // one per batch sent and not acknowledged
	in      chan *pubBatch
	closing chan struct{} // closed by Close
	done    chan struct{} // closed when run returns

	mu     sync.Mutex
	nextID uint64
	closed bool
	err    error // why the publisher failed
}

type pubBatch struct {
	id     uint64
	events []*motifv1.Event
}

// errProtocol is a stream that broke the protocol: not worth a retry.
var errProtocol = errors.New("client: publish stream: acknowledgement out of order")

// NewPublisher starts a publisher. onAck (which may be nil) is called once
// for every batch Send accepted, in the order of the batches, on the
// publisher's goroutine: it must not call Send or Close, and while it runs
// no acknowledgement is read. The publisher stops when ctx ends; the
// batches not acknowledged by then are acknowledged with an error.
func (c *Client) NewPublisher(ctx context.Context, onAck func(Ack)) *Publisher {
	ctx, cancel := context.WithCancel(ctx)
	if onAck == nil {
		onAck = func(Ack) {}
	}
	p := &Publisher{
		c: c, onAck: onAck, ctx: ctx, cancel: cancel,
		slots:   make(chan struct{}, c.opts.maxInFlight),
		in:      make(chan *pubBatch, c.opts.maxInFlight),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go p.run()
	return p
}

// Send sends a batch of events (JSON objects) without waiting for its
// acknowledgement, and returns its id: 1 for the first batch, then 2, 3,
// ... in the order Send returns them. It blocks while WithMaxInFlight
// batches are unacknowledged. It fails with ErrClosed after Close, and with
// the publisher's error after it failed.
func (p *Publisher) Send(ctx context.Context, events ...[]byte) (uint64, error) {
	if err := p.state(); err != nil {
		return 0, err
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-p.done:
		return 0, p.state()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.stateLocked(); err != nil {
		<-p.slots
		return 0, err
	}
	p.nextID++
	b := &pubBatch{id: p.nextID, events: eventMsgs(events)}
	p.in <- b // never blocks: every batch in p.in holds a slot
	return b.id, nil
}

func (p *Publisher) state() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stateLocked()
}

func (p *Publisher) stateLocked() error {
	if p.err != nil {
		return p.err
	}
	if p.closed {
		return ErrClosed
	}
	return nil
}

// Close sends what remains, waits for every acknowledgement and closes the
// stream. It returns the error that made batches fail, if any. When ctx
// ends first, the publisher stops at once, the unacknowledged batches are
// acknowledged with an error, and Close returns ctx's error.
func (p *Publisher) Close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.closing)
	}
	p.mu.Unlock()
	select {
	case <-p.done:
	case <-ctx.Done():
		p.cancel()
		<-p.done
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// run owns the stream: it opens one, and another after a failure, until
// Close has been acknowledged or the publisher fails.
func (p *Publisher) run() {
	defer close(p.done)
	defer p.cancel()
	var pending []*pubBatch // sent and not acknowledged, in order
	attempt := 0
	for {
		err := p.session(&pending, &attempt)
		if err == nil {
			return
		}
		retry := !errors.Is(err, errProtocol) && (notSent(err) || transient(p.ctx, err))
		if !retry || attempt+1 >= p.c.opts.attempts {
			p.fail(pending, err)
			return
		}
		p.c.log.Warn("motif client: publish stream failed; reconnecting", "pending", len(pending), "attempt", attempt+2, "err", err)
		if p.c.sleep(p.ctx, attempt) != nil {
			p.fail(pending, err)
			return
		}
		attempt++
	}
}

// fail acknowledges every batch not yet acknowledged with err.
func (p *Publisher) fail(pending []*pubBatch, err error) {
	if ctxErr := p.ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		err = fmt.Errorf("%w (%v)", ctxErr, err)
	}
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	ack := func(b *pubBatch) {
		<-p.slots
		p.onAck(Ack{BatchID: b.id, Events: len(b.events), Err: err})
	}
	for _, b := range pending {
		ack(b)
	}
	for {
		select {
		case b := <-p.in:
			ack(b)
		default:
			return
		}
	}
}

// session runs one stream: it sends the pending batches again, then new
// ones, and hands out the acknowledgements. It returns nil when the
// publisher was closed and everything acknowledged.
func (p *Publisher) session(pending *[]*pubBatch, attempt *int) error {
	ctx, cancel := context.WithCancel(p.ctx)
	stream := p.c.ingest.PublishStream(ctx)
	acks := make(chan *motifv1.PublishStreamResponse)
	recvErr := make(chan error, 1)
	var wg sync.WaitGroup
	started, broken, halfClosed := false, false, false
	defer func() {
		cancel()
		wg.Wait()
		if started {
			_ = stream.CloseResponse()
		}
	}()
	send := func(b *pubBatch) {
		if broken {
			return
		}
		if err := stream.Send(&motifv1.PublishStreamRequest{BatchId: b.id, Events: b.events}); err != nil {
			broken = true // Receive returns the reason
		}
		if !started {
			started = true
			wg.Go(func() { receive(ctx, stream, acks, recvErr) })
		}
	}
	for _, b := range *pending {
		send(b)
	}
	for {
		in, closing := p.in, p.closing
		if broken || halfClosed {
			in, closing = nil, nil
		}
		select {
		case b := <-in:
			*pending = append(*pending, b)
			send(b)
		case <-closing:
			if err := ctx.Err(); err != nil {
				return err // ended, not closed
			}
			p.drain(pending, send)
			if !started {
				return nil // nothing was ever sent
			}
			if !broken && stream.CloseRequest() != nil {
				broken = true
			}
			halfClosed = true
		case m := <-acks:
			if len(*pending) == 0 || m.GetBatchId() != (*pending)[0].id {
				return fmt.Errorf("%w: got batch %d", errProtocol, m.GetBatchId())
			}
			b := (*pending)[0]
			*pending = (*pending)[1:]
			<-p.slots
			*attempt = 0
			ack := Ack{BatchID: b.id, Events: len(b.events),
				PublishResult: publishResult(m.GetAccepted(), m.GetDuplicates(), m.GetRejections())}
			if r := m.GetRefused(); r != "" {
				ack.Err = connect.NewError(connect.CodeInvalidArgument, errors.New(r))
			}
			p.onAck(ack)
		case <-ctx.Done():
			return ctx.Err()
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				if halfClosed && len(*pending) == 0 {
					return nil
				}
				err = connect.NewError(connect.CodeUnavailable, errors.New("the server ended the publish stream early"))
			}
			return err
		}
	}
}

// drain takes the batches Send queued before Close.
func (p *Publisher) drain(pending *[]*pubBatch, send func(*pubBatch)) {
	for {
		select {
		case b := <-p.in:
			*pending = append(*pending, b)
			send(b)
		default:
			return
		}
	}
}

func receive(ctx context.Context, stream *connect.BidiStreamForClient[motifv1.PublishStreamRequest, motifv1.PublishStreamResponse],
	acks chan<- *motifv1.PublishStreamResponse, errs chan<- error) {
	for {
		m, err := stream.Receive()
		if err != nil {
			errs <- err
			return
		}
		select {
		case acks <- m:
		case <-ctx.Done():
			return
		}
	}
}
