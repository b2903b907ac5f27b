package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/motifcep/motif/event"
)

// UnmarshalJSON reads what AppendJSON writes. Unknown keys are ignored.
// Field values become event.Values: numbers, strings, bools, null, lists and
// objects (keys in input order); a time or duration, written as a string,
// comes back as a string.
func (a *Alert) UnmarshalJSON(b []byte) error {
	if err := a.unmarshal(b); err != nil {
		return fmt.Errorf("alert: %w", err)
	}
	return nil
}

func (a *Alert) unmarshal(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	*a = Alert{}
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if err := a.member(dec, key); err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the alert object")
	}
	return nil
}

func (a *Alert) member(dec *json.Decoder, key string) error {
	switch key {
	case "seq":
		return dec.Decode(&a.Seq)
	case "id":
		return dec.Decode(&a.ID)
	case "pattern":
		return dec.Decode(&a.Pattern)
	case "version":
		return dec.Decode(&a.Version)
	case "kind":
		return dec.Decode(&a.Kind)
	case "severity":
		return dec.Decode(&a.Severity)
	case "message":
		return dec.Decode(&a.Message)
	case "key":
		return a.decodeKey(dec)
	case "fields":
		return a.decodeFields(dec)
	case "events":
		return a.decodeEvents(dec)
	case "start":
		return decodeTime(dec, &a.Start)
	case "end":
		return decodeTime(dec, &a.End)
	case "detected_at":
		return decodeTime(dec, &a.DetectedAt)
	}
	var skip json.RawMessage
	return dec.Decode(&skip)
}

func (a *Alert) decodeKey(dec *json.Decoder) error {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	switch raw[0] {
	case 'n':
		a.Key = nil
		return nil
	case '"':
		a.Key = []string{""}
		return json.Unmarshal(raw, &a.Key[0])
	}
	return json.Unmarshal(raw, &a.Key)
}

func (a *Alert) decodeFields(dec *json.Decoder) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		v, err := readValue(dec)
		if err != nil {
			return err
		}
		a.Fields = append(a.Fields, Field{Name: name, Value: v})
	}
	return expectDelim(dec, '}')
}

func (a *Alert) decodeEvents(dec *json.Decoder) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		se := StageEvents{Stage: tok.(string)}
		if err := dec.Decode(&se.IDs); err != nil {
			return err
		}
		a.Events = append(a.Events, se)
	}
	return expectDelim(dec, '}')
}

func decodeTime(dec *json.Decoder, ns *int64) error {
	var s string
	if err := dec.Decode(&s); err != nil {
		return err
	}
	t, err := event.ParseTime(s)
	*ns = t
	return err
}

// readValue reads one JSON value as an event.Value.
func readValue(dec *json.Decoder) (event.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return event.Value{}, err
	}
	switch t := tok.(type) {
	case nil:
		return event.NullValue(), nil
	case bool:
		return event.BoolValue(t), nil
	case string:
		return event.StringValue(t), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		return event.NumberValue(f), err
	case json.Delim:
		if t == '[' {
			l := []event.Value{}
			for dec.More() {
				v, err := readValue(dec)
				if err != nil {
					return event.Value{}, err
				}
				l = append(l, v)
			}
			_, err := dec.Token()
			return event.ListValue(l), err
		}
		o := &event.Obj{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return event.Value{}, err
			}
			v, err := readValue(dec)
			if err != nil {
				return event.Value{}, err
			}
			o.Keys = append(o.Keys, k.(string))
			o.Vals = append(o.Vals, v)
		}
		_, err := dec.Token()
		return event.ObjectValue(o), err
	}
	return event.Value{}, fmt.Errorf("unexpected token %v", tok)
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", rune(want), tok)
	}
	return nil
}
