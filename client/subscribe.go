package client

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

// Cursor says where in the alert log a subscription starts. The zero
// Cursor is FromNow.
type Cursor struct {
	kind  cursorKind
	after uint64
}

type cursorKind uint8

const (
	cursorNow cursorKind = iota
	cursorStart
	cursorAfter
)

// FromNow starts with the first alert appended after the subscription
// starts.
func FromNow() Cursor { return Cursor{kind: cursorNow} }

// FromStart starts with the oldest alert still in the log.
func FromStart() Cursor { return Cursor{kind: cursorStart} }

// After starts with the first alert whose sequence number is greater than
// seq: pass the Seq of the last alert processed to resume after it. After(0)
// is FromStart.
func After(seq uint64) Cursor {
	if seq == 0 {
		return FromStart()
	}
	return Cursor{kind: cursorAfter, after: seq}
}

// ParseCursor parses "now", "start" or a sequence number (resume after
// it), as `motif subscribe --from` takes them.
func ParseCursor(s string) (Cursor, error) {
	switch s {
	case "now":
		return FromNow(), nil
	case "start":
		return FromStart(), nil
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return Cursor{}, fmt.Errorf("cursor %q: want now, start or a sequence number", s)
	}
	return After(seq), nil
}

// String returns "now", "start" or the sequence number.
func (c Cursor) String() string {
	switch c.kind {
	case cursorStart:
		return "start"
	case cursorAfter:
		return strconv.FormatUint(c.after, 10)
	}
	return "now"
}

func (c Cursor) msg() *motifv1.AlertCursor {
	switch c.kind {
	case cursorStart:
		return &motifv1.AlertCursor{Position: &motifv1.AlertCursor_Start{Start: &emptypb.Empty{}}}
	case cursorAfter:
		return &motifv1.AlertCursor{Position: &motifv1.AlertCursor_AfterSeq{AfterSeq: c.after}}
	}
	return &motifv1.AlertCursor{Position: &motifv1.AlertCursor_Now{Now: &emptypb.Empty{}}}
}

// Filter selects alerts; the zero Filter passes every alert.
type Filter struct {
	// Only alerts of these patterns (any version); empty: every pattern.
	Patterns []string
	// Only alerts at least this severe; SEVERITY_UNSPECIFIED: every one.
	MinSeverity motifv1.Severity
}

func (f Filter) msg() *motifv1.AlertFilter {
	return &motifv1.AlertFilter{Patterns: f.Patterns, MinSeverity: f.MinSeverity}
}

// ParseSeverity parses a severity as the language names it: info, low,
// medium, high or critical.
func ParseSeverity(s string) (motifv1.Severity, error) {
	v, ok := motifv1.Severity_value["SEVERITY_"+strings.ToUpper(s)]
	if !ok || v == 0 || strings.ToLower(s) != s {
		return 0, fmt.Errorf("severity %q: want info, low, medium, high or critical", s)
	}
	return motifv1.Severity(v), nil
}

// Alert is one alert of a subscription: the alert and its sequence number
// in the alert log.
type Alert struct {
	Seq   uint64
	Alert *motifv1.Alert
}

// JSON returns the alert as `motif subscribe` prints it: the canonical
// alert object (Alert.Json) with "seq" as its first key.
func (a Alert) JSON() []byte {
	js := a.Alert.GetJson()
	b := make([]byte, 0, len(js)+24)
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, a.Seq, 10)
	if len(js) < 2 {
		return append(b, '}')
	}
	if strings.TrimSpace(string(js[1:len(js)-1])) != "" {
		b = append(b, ',')
	}
	return append(b, js[1:]...)
}

// MarshalJSON returns a.JSON().
func (a Alert) MarshalJSON() ([]byte, error) { return a.JSON(), nil }

// Subscribe delivers the alerts that pass the filter, starting at the
// cursor, then each new one as it is appended, until ctx ends. Ranging over
// the sequence subscribes (each range anew, from the cursor).
//
// When the stream fails (the server restarts, the connection breaks) the
// subscription reconnects, with backoff and for as long as ctx lasts, and
// resumes after the last alert it delivered, so that no alert is lost or
// delivered twice. FromNow is resolved to the log's last sequence number
// when the range begins, so it too resumes exactly.
//
// The sequence ends after yielding an error: ctx's, or one that
// reconnecting cannot cure (a wrong token, a cursor whose alerts retention
// removed: connect.CodeOutOfRange).
func (c *Client) Subscribe(ctx context.Context, from Cursor, f Filter) iter.Seq2[Alert, error] {
	return func(yield func(Alert, error) bool) {
		cur := from
		if cur.kind == cursorNow {
			st, err := unary(ctx, c, true, "GetStatus", &motifv1.GetStatusRequest{}, c.admin.GetStatus)
			if err != nil {
				yield(Alert{}, err)
				return
			}
			cur = Cursor{kind: cursorAfter, after: st.GetLastAlertSeq()}
		}
		for attempt := 0; ; attempt++ {
			began := time.Now()
			next, stop, err := c.subscribeOnce(ctx, cur, f, yield)
			if stop {
				return
			}
			if next != cur || time.Since(began) > c.opts.backoffMax {
				attempt = 0 // it delivered, or lived long: start the backoff afresh
			}
			cur = next
			if !reconnectable(ctx, err) {
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				yield(Alert{}, err)
				return
			}
			c.log.Warn("motif client: subscription failed; reconnecting", "after", cur.String(), "attempt", attempt+1, "err", err)
			if c.sleep(ctx, attempt) != nil {
				yield(Alert{}, ctx.Err())
				return
			}
		}
	}
}

// subscribeOnce runs one stream; it returns the cursor to resume at, whether
// the consumer stopped, and why the stream ended.
func (c *Client) subscribeOnce(ctx context.Context, cur Cursor, f Filter, yield func(Alert, error) bool) (Cursor, bool, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.alerts.SubscribeAlerts(sctx, connect.NewRequest(&motifv1.SubscribeAlertsRequest{Cursor: cur.msg(), Filter: f.msg()}))
	if err != nil {
		return cur, false, err
	}
	defer stream.Close()
	for stream.Receive() {
		m := stream.Msg()
		if cur.kind == cursorAfter && m.GetSeq() <= cur.after {
			continue // never deliver twice, whatever the server sends
		}
		cur = Cursor{kind: cursorAfter, after: m.GetSeq()}
		if !yield(Alert{Seq: m.GetSeq(), Alert: m.GetAlert()}, nil) {
			return cur, true, nil
		}
	}
	err = stream.Err()
	if err == nil {
		// The server ended the stream, which it does only when it stops.
		err = connect.NewError(connect.CodeUnavailable, fmt.Errorf("the server ended the subscription"))
	}
	return cur, false, err
}

// reconnectable reports whether a subscription should reconnect after err:
// a subscription only reads, so any failure that may pass is worth a retry.
func reconnectable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || untrusted(err) {
		return false
	}
	if notSent(err) {
		return true
	}
	switch connect.CodeOf(err) {
	case connect.CodeInvalidArgument, connect.CodeNotFound, connect.CodeAlreadyExists,
		connect.CodePermissionDenied, connect.CodeUnauthenticated, connect.CodeOutOfRange,
		connect.CodeUnimplemented, connect.CodeFailedPrecondition, connect.CodeResourceExhausted,
		connect.CodeDataLoss:
		return false
	}
	return true
}
