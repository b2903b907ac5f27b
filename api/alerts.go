package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/node"
	"github.com/motifcep/motif/pattern"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

type alerts struct{ s *Server }

// maxListAlerts bounds a ListAlerts page.
const maxListAlerts = 1000

func filter(f *motifv1.AlertFilter) node.Filter {
	var out node.Filter
	if f == nil {
		return out
	}
	out.Patterns = f.GetPatterns()
	if s := f.GetMinSeverity(); s != motifv1.Severity_SEVERITY_UNSPECIFIED {
		// The enums share their order: info, low, medium, high, critical.
		out.MinSeverity = pattern.Severity(s)
	}
	return out
}

func (a *alerts) SubscribeAlerts(ctx context.Context, req *connect.Request[motifv1.SubscribeAlertsRequest], stream *connect.ServerStream[motifv1.SubscribeAlertsResponse]) error {
	var cur node.Cursor
	switch c := req.Msg.GetCursor().GetPosition().(type) {
	case *motifv1.AlertCursor_AfterSeq:
		cur.After = c.AfterSeq
	case *motifv1.AlertCursor_Start:
	case *motifv1.AlertCursor_Now, nil:
		cur.Now = true
	}
	a.s.subscribers.Add(1)
	defer a.s.subscribers.Add(-1)
	w, _ := ctx.Value(batchWriterKey{}).(*batchWriter)
	err := a.s.node.Subscribe(ctx, cur, filter(req.Msg.GetFilter()), func(batch []node.Alert) error {
		// The messages of a batch leave together: one write, not one each.
		w.hold()
		for _, al := range batch {
			// The response is shared by every subscriber, and so are its
			// wire bytes (see wireCodec).
			r, err := a.s.converted.get(al)
			if err == nil {
				err = stream.Send(r.msg)
			}
			if err != nil {
				return errors.Join(err, w.release())
			}
		}
		return w.release()
	})
	if ctx.Err() != nil {
		return nil // the client went away
	}
	return rpcError(err)
}

func (a *alerts) ListAlerts(_ context.Context, req *connect.Request[motifv1.ListAlertsRequest]) (*connect.Response[motifv1.ListAlertsResponse], error) {
	limit := int(req.Msg.GetLimit())
	if limit <= 0 || limit > maxListAlerts {
		limit = maxListAlerts
	}
	list, next, err := a.s.node.Alerts(node.Cursor{After: req.Msg.GetAfterSeq()}, filter(req.Msg.GetFilter()), limit)
	if err != nil {
		return nil, rpcError(err)
	}
	res := &motifv1.ListAlertsResponse{NextAfterSeq: next, LastSeq: a.s.node.Store().LastAlertSeq()}
	for _, al := range list {
		r, err := a.s.converted.get(al)
		if err != nil {
			return nil, rpcError(err)
		}
		res.Alerts = append(res.Alerts, &motifv1.LoggedAlert{Seq: al.Seq, Alert: r.msg.GetAlert()})
	}
	return connect.NewResponse(res), nil
}

// alertCache keeps the subscribe responses of recent alerts by sequence
// number, so that many subscribers sending the same alerts convert and
// marshal each one once. A cached response is shared: it is only ever
// marshalled, never changed.
type alertCache struct {
	mu    sync.Mutex
	slots [alertCacheSize]*cachedAlert
}

type cachedAlert struct {
	seq   uint64
	ready chan struct{} // closed once msg and err are set
	msg   *motifv1.SubscribeAlertsResponse
	err   error
	once  sync.Once
	wire  []byte // msg in the protobuf binary format, made once
	wErr  error
}

const alertCacheSize = 4096

// get returns the response of al. Subscribers woken together ask for the
// same alerts at once: the first converts it, the others wait for it.
func (c *alertCache) get(al node.Alert) (*cachedAlert, error) {
	i := al.Seq % alertCacheSize
	c.mu.Lock()
	if r := c.slots[i]; r != nil && r.seq == al.Seq {
		c.mu.Unlock()
		<-r.ready
		return r, r.err
	}
	r := &cachedAlert{seq: al.Seq, ready: make(chan struct{})}
	c.slots[i] = r
	c.mu.Unlock()
	m, err := alertMsg(al.JSON)
	if err == nil {
		r.msg = &motifv1.SubscribeAlertsResponse{Seq: al.Seq, Alert: m}
	}
	r.err = err
	close(r.ready)
	return r, err
}

// wire returns the binary form of r if it is a cached response, nil if not.
func (c *alertCache) wire(r *motifv1.SubscribeAlertsResponse) ([]byte, error) {
	c.mu.Lock()
	ca := c.slots[r.GetSeq()%alertCacheSize]
	c.mu.Unlock()
	if ca == nil || ca.seq != r.GetSeq() {
		return nil, nil
	}
	select {
	case <-ca.ready:
	default:
		return nil, nil // a newer entry for the same alert, still converting
	}
	if ca.msg != r {
		return nil, nil
	}
	ca.once.Do(func() { ca.wire, ca.wErr = proto.Marshal(r) })
	return ca.wire, ca.wErr
}

// wireCodec is the protobuf binary codec, with the subscribe responses of
// the alert cache marshalled once for all the subscribers they go to.
type wireCodec struct{ cache *alertCache }

func (wireCodec) Name() string { return "proto" }

func (c wireCodec) Marshal(m any) ([]byte, error) { return c.MarshalAppend(nil, m) }

func (c wireCodec) MarshalAppend(b []byte, m any) ([]byte, error) {
	if r, ok := m.(*motifv1.SubscribeAlertsResponse); ok {
		if wire, err := c.cache.wire(r); wire != nil || err != nil {
			return append(b, wire...), err
		}
	}
	pm, ok := m.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("%T is not a protobuf message", m)
	}
	return proto.MarshalOptions{}.MarshalAppend(b, pm)
}

func (wireCodec) Unmarshal(b []byte, m any) error {
	pm, ok := m.(proto.Message)
	if !ok {
		return fmt.Errorf("%T is not a protobuf message", m)
	}
	if err := proto.Unmarshal(b, pm); err != nil {
		return fmt.Errorf("unmarshal into %T: %w", m, err)
	}
	return nil
}

var kinds = map[string]motifv1.AlertKind{
	alert.KindMatch:   motifv1.AlertKind_ALERT_KIND_MATCH,
	alert.KindTimeout: motifv1.AlertKind_ALERT_KIND_TIMEOUT,
}

// alertMsg converts an alert of the alert log (language.md §4 JSON).
func alertMsg(js []byte) (*motifv1.Alert, error) {
	var a alert.Alert
	if err := a.UnmarshalJSON(js); err != nil {
		return nil, fmt.Errorf("%w: alert log entry: %v", node.ErrInvalid, err)
	}
	var raw struct {
		Key    any            `json:"key"`
		Fields map[string]any `json:"fields"`
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, err
	}
	key, err := structpb.NewValue(raw.Key)
	if err != nil {
		return nil, err
	}
	fields, err := structpb.NewStruct(raw.Fields)
	if err != nil {
		return nil, err
	}
	sev, _ := pattern.ParseSeverity(a.Severity)
	m := &motifv1.Alert{
		Id: a.ID, Pattern: a.Pattern, Version: uint32(a.Version), Kind: kinds[a.Kind],
		Key: key, Severity: motifv1.Severity(sev), Message: a.Message, Fields: fields,
		Start: timestamppb.New(time.Unix(0, a.Start)), End: timestamppb.New(time.Unix(0, a.End)),
		Json: js,
	}
	if a.DetectedAt != 0 {
		m.DetectedAt = timestamppb.New(time.Unix(0, a.DetectedAt))
	}
	for _, se := range a.Events {
		m.Events = append(m.Events, &motifv1.StageEvents{Stage: se.Stage, EventIds: se.IDs})
	}
	return m, nil
}

// batchWriter lets a streaming handler hold back what it sends, so that
// the messages of a batch go out together: one write to the connection
// (cut into as few frames as their size needs) and one flush, instead of a
// write, a flush and the system calls on each side for every message, or
// for every 4 KiB the HTTP/2 server buffers. Only the handler's goroutine
// uses it.
type batchWriter struct {
	http.ResponseWriter
	holding bool
	held    bool    // a flush was held back
	buf     *[]byte // written while holding, from batchBufs
	err     error   // of a held write
}

// batchWriteBytes is how much a batchWriter holds back at most: then it
// writes what it has, so one batch of large alerts needs no more memory.
const batchWriteBytes = 64 << 10

// batchBufs are the buffers of the batchWriters holding a batch: only the
// subscribers sending at the moment need one.
var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, batchWriteBytes); return &b }}

type batchWriterKey struct{}

// batchFlushes gives the requests of h a batchWriter, found in their
// context under batchWriterKey.
func batchFlushes(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bw := &batchWriter{ResponseWriter: w}
		h.ServeHTTP(bw, r.WithContext(context.WithValue(r.Context(), batchWriterKey{}, bw)))
	})
}

func (w *batchWriter) Write(p []byte) (int, error) {
	if !w.holding {
		return w.ResponseWriter.Write(p)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.buf == nil {
		w.buf = batchBufs.Get().(*[]byte)
	}
	*w.buf = append(*w.buf, p...)
	if len(*w.buf) >= batchWriteBytes {
		w.writeHeld()
	}
	return len(p), w.err
}

// writeHeld writes what was held back.
func (w *batchWriter) writeHeld() {
	if w.buf == nil || len(*w.buf) == 0 {
		return
	}
	if w.err == nil {
		_, w.err = w.ResponseWriter.Write(*w.buf)
	}
	*w.buf = (*w.buf)[:0]
}

func (w *batchWriter) Flush() {
	if w.holding {
		w.held = true
		return
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap serves http.ResponseController.
func (w *batchWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// hold holds back writes and flushes until release; a nil w does nothing.
func (w *batchWriter) hold() {
	if w != nil {
		w.holding = true
	}
}

// release writes what was held back since hold, makes the flush held back,
// if any, and returns the error of a write. A nil w does nothing.
func (w *batchWriter) release() error {
	if w == nil {
		return nil
	}
	w.writeHeld()
	if w.buf != nil {
		if cap(*w.buf) <= 4*batchWriteBytes {
			batchBufs.Put(w.buf)
		}
		w.buf = nil
	}
	w.holding = false
	if w.held {
		w.held = false
		w.Flush()
	}
	err := w.err
	w.err = nil
	return err
}
