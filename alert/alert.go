package alert

import (
	"strconv"
	"time"

	"github.com/motifcep/motif/event"
)

// Kinds of alert.
const (
	KindMatch   = "match"
	KindTimeout = "timeout"
)

// StageEvents lists the ids of the events a stage took, in event-time order.
type StageEvents struct {
	Stage string
	IDs   []string
}

// Field is one named value of an alert's emit clause.
type Field struct {
	Name  string
	Value event.Value
}

// Alert is one alert of language.md §4.
type Alert struct {
	ID                string
	Pattern           string
	Version           int
	Kind              string   // "match" or "timeout"
	Key               []string // nil → JSON null; one part → JSON string; several → JSON list
	Severity, Message string
	Fields            []Field       // in emit order
	Events            []StageEvents // stages in pattern order, only those that took events
	Start, End        int64         // Unix ns of the earliest and latest event
	DetectedAt        int64         // Unix ns; 0 → omitted
	Seq               uint64        // delivery sequence (subscribe); 0 → omitted
}

// AppendJSON appends the alert as one JSON object with keys in exactly this order:
// seq (only if non-zero), id, pattern, version, kind, key, severity, message, fields, events, start, end, detected_at (only if non-zero).
// fields is {} when empty; times RFC 3339 UTC with trailing zeros trimmed (time.RFC3339Nano).
// An empty, non-nil Key is null as well. It allocates nothing when b has room.
func (a *Alert) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	if a.Seq != 0 {
		b = append(b, `"seq":`...)
		b = strconv.AppendUint(b, a.Seq, 10)
		b = append(b, ',')
	}
	b = append(b, `"id":`...)
	b = event.AppendJSONString(b, a.ID)
	b = append(b, `,"pattern":`...)
	b = event.AppendJSONString(b, a.Pattern)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(a.Version), 10)
	b = append(b, `,"kind":`...)
	b = event.AppendJSONString(b, a.Kind)
	b = append(b, `,"key":`...)
	switch len(a.Key) {
	case 0:
		b = append(b, "null"...)
	case 1:
		b = event.AppendJSONString(b, a.Key[0])
	default:
		b = appendStrings(b, a.Key)
	}
	b = append(b, `,"severity":`...)
	b = event.AppendJSONString(b, a.Severity)
	b = append(b, `,"message":`...)
	b = event.AppendJSONString(b, a.Message)
	b = append(b, `,"fields":{`...)
	for i, f := range a.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, f.Name)
		b = append(b, ':')
		b = f.Value.AppendJSON(b)
	}
	b = append(b, `},"events":{`...)
	for i, se := range a.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, se.Stage)
		b = append(b, ':')
		b = appendStrings(b, se.IDs)
	}
	b = append(b, `},"start":`...)
	b = appendTime(b, a.Start)
	b = append(b, `,"end":`...)
	b = appendTime(b, a.End)
	if a.DetectedAt != 0 {
		b = append(b, `,"detected_at":`...)
		b = appendTime(b, a.DetectedAt)
	}
	return append(b, '}')
}

// MarshalJSON is AppendJSON for encoding/json.
func (a *Alert) MarshalJSON() ([]byte, error) { return a.AppendJSON(nil), nil }

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, s)
	}
	return append(b, ']')
}

func appendTime(b []byte, ns int64) []byte {
	b = append(b, '"')
	b = time.Unix(0, ns).UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
