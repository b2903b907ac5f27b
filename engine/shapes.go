package engine

import (
	"fmt"
	"math"

	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/pattern"
)

// shape is a declared event type, checked against every event of that type.
type shape struct {
	name   string
	fields []shapeField
}

type shapeField struct {
	name     string
	slot     int
	typ      string
	kind     fieldKind
	optional bool
	// plain is the value kind that passes without a closer look (a string
	// for a string field, ...); noKind for the types that need one.
	plain event.Kind
}

// noKind is no event.Kind: see shapeField.plain.
const noKind = event.Kind(255)

// plainKinds are the declared types whose values pass as decoded.
var plainKinds = map[fieldKind]event.Kind{fkString: event.String, fkNumber: event.Number, fkBool: event.Bool}

// fieldKind is a declared field type, resolved once.
type fieldKind uint8

const (
	fkAny fieldKind = iota
	fkString
	fkNumber
	fkInt
	fkBool
	fkList
	fkObject
	fkTime
	fkDuration
)

var fieldKinds = map[string]fieldKind{
	"any": fkAny, "string": fkString, "number": fkNumber, "int": fkInt, "bool": fkBool,
	"list": fkList, "object": fkObject, "time": fkTime, "duration": fkDuration,
}

func compileShapes(set *pattern.Set, schema *event.Schema) map[string]*shape {
	out := map[string]*shape{}
	for _, d := range set.Events {
		sh := &shape{name: d.Name.Name}
		for _, f := range d.Fields {
			sf := shapeField{
				name:     f.Name.Name,
				slot:     schema.Slot(f.Name.Name),
				typ:      f.Type.Name,
				kind:     fieldKinds[f.Type.Name],
				optional: f.Optional,
				plain:    noKind,
			}
			if k, ok := plainKinds[sf.kind]; ok {
				sf.plain = k
			}
			sh.fields = append(sh.fields, sf)
		}
		out[sh.name] = sh
	}
	return out
}

// check validates ev against the shape, converting fields declared as time
// or duration from their JSON form (RFC 3339 or epoch milliseconds; a
// duration string such as "5m") in place.
func (sh *shape) check(ev *event.Event) error {
	for i := range sh.fields {
		f := &sh.fields[i]
		v := ev.Field(f.slot)
		if v.Kind() == f.plain {
			continue // the common case, in one comparison
		}
		if v.IsNull() {
			if f.optional {
				continue
			}
			return fmt.Errorf("%w: missing field %q of event %s", ErrInvalidEvent, f.name, sh.name)
		}
		if f.kind == fkAny {
			continue
		}
		nv, ok := conform(v, f.typ)
		if !ok {
			return fmt.Errorf("%w: field %q of event %s must be %s, got %s %s", ErrInvalidEvent, f.name, sh.name, article(f.typ), v.Kind(), truncate(string(v.AppendJSON(nil)), 40))
		}
		if f.slot < len(ev.Fields) {
			ev.Fields[f.slot] = nv
		}
	}
	return nil
}

func conform(v event.Value, typ string) (event.Value, bool) {
	switch typ {
	case "any":
		return v, true
	case "string":
		return v, v.Kind() == event.String
	case "number":
		return v, v.Kind() == event.Number
	case "int":
		return v, v.Kind() == event.Number && v.Num() == math.Trunc(v.Num())
	case "bool":
		return v, v.Kind() == event.Bool
	case "list":
		return v, v.Kind() == event.List
	case "object":
		return v, v.Kind() == event.Object
	case "time":
		switch v.Kind() {
		case event.Time:
			return v, true
		case event.String:
			t, err := event.ParseTime(v.Str())
			return event.TimeValue(t), err == nil
		case event.Number:
			if v.Num() != math.Trunc(v.Num()) {
				return v, false
			}
			return event.TimeValue(int64(v.Num()) * 1e6), true
		}
	case "duration":
		switch v.Kind() {
		case event.Duration:
			return v, true
		case event.String:
			d, err := pattern.ParseDuration(v.Str())
			return event.DurationValue(int64(d)), err == nil
		}
	}
	return v, false
}

func article(typ string) string {
	switch typ {
	case "int", "object", "any":
		return "an " + typ
	}
	return "a " + typ
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
