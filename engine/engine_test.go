package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/internal/golden"
)

var _ = golden.Update

type recorder struct {
	alerts []*alert.Alert
	late   []string
}

func (r *recorder) Alert(a *alert.Alert)                 { r.alerts = append(r.alerts, a) }
func (r *recorder) Late(e *event.Event, watermark int64) { r.late = append(r.late, e.ID) }

func newEngine(t *testing.T, src string, cfg Config) (*Engine, *recorder) {
	t.Helper()
	rec := &recorder{}
	e, err := New(checkSet(t, src), cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	return e, rec
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// push decodes a JSON event and pushes it; seq counts pushes.
func push(t *testing.T, e *Engine, seq *uint64, js string) error {
	t.Helper()
	dec := event.NewDecoder(e.Schema(), event.DecoderOptions{RequireTime: true})
	ev := e.NewEvent()
	if err := dec.Decode([]byte(js), ev); err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	*seq++
	ev.Seq = *seq
	return e.Push(ev)
}

func at(sec int) string { return t0.Add(time.Duration(sec) * time.Second).Format(time.RFC3339) }

func TestIdleKeysHoldNoState(t *testing.T) {
	e, rec := newEngine(t, `pattern p {
    key k
    within 10s
    begin a: a where v > 5
    followed_by b: b
}`, Config{})
	var seq uint64
	// 1000 keys whose events start nothing, then 1000 keys with a partial
	// match that times out.
	for i := 0; i < 1000; i++ {
		push(t, e, &seq, fmt.Sprintf(`{"type":"a","time":%q,"k":"x%d","v":1}`, at(i/100), i))
	}
	if n := keys(e); n != 0 {
		t.Fatalf("%d keys hold state after events that started nothing", n)
	}
	for i := 0; i < 1000; i++ {
		push(t, e, &seq, fmt.Sprintf(`{"type":"a","time":%q,"k":"y%d","v":9}`, at(20), i))
	}
	if n := keys(e); n != 1000 {
		t.Fatalf("%d keys hold state, want 1000", n)
	}
	push(t, e, &seq, fmt.Sprintf(`{"type":"b","time":%q,"k":"y0"}`, at(25)))
	if len(rec.alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(rec.alerts))
	}
	// The windows close when the watermark passes them.
	push(t, e, &seq, fmt.Sprintf(`{"type":"b","time":%q,"k":"z"}`, at(31)))
	if n := keys(e); n != 0 {
		t.Fatalf("%d keys still hold state after their windows closed", n)
	}
	if e.PartialMatches() != 0 {
		t.Fatalf("%d partial matches left", e.PartialMatches())
	}
}

func keys(e *Engine) int {
	n := 0
	for _, g := range e.groups {
		n += g.keys.len()
	}
	return n
}

func TestSuppressExpires(t *testing.T) {
	e, rec := newEngine(t, `pattern p {
    key k
    within 1m
    suppress 10s
    begin a: a
}`, Config{})
	var seq uint64
	for _, s := range []int{0, 5, 9, 10, 15, 30} {
		push(t, e, &seq, fmt.Sprintf(`{"type":"a","time":%q,"k":"x","id":"a%d"}`, at(s), s))
	}
	e.Close()
	var got []string
	for _, a := range rec.alerts {
		got = append(got, a.Events[0].IDs[0])
	}
	// a0 alerts; a5, a9 are within 10s of it; a10 is not (t+D is the first
	// allowed time); a15 within 10s of a10; a30 allowed.
	if strings.Join(got, " ") != "a0 a10 a30" {
		t.Fatalf("alerts for %v, want a0 a10 a30", got)
	}
	if e.Stats.Suppressed != 3 {
		t.Fatalf("suppressed = %d, want 3", e.Stats.Suppressed)
	}
	if keys(e) != 0 {
		t.Fatalf("suppression state kept after it expired: %d keys", keys(e))
	}
}

func TestTimersFireInTimeOrderAcrossKeys(t *testing.T) {
	e, rec := newEngine(t, `pattern p {
    key k
    within 10s
    begin a: a
    not_followed_by n: b
}`, Config{})
	var seq uint64
	for i, k := range []string{"k1", "k2", "k3"} {
		push(t, e, &seq, fmt.Sprintf(`{"type":"a","time":%q,"k":%q,"id":%q}`, at(i), k, k))
	}
	push(t, e, &seq, fmt.Sprintf(`{"type":"b","time":%q,"k":"k2"}`, at(5)))
	if len(rec.alerts) != 0 {
		t.Fatalf("alert before any deadline passed")
	}
	push(t, e, &seq, fmt.Sprintf(`{"type":"x","time":%q,"k":"zz"}`, at(10)))
	if len(rec.alerts) != 1 || rec.alerts[0].Key[0] != "k1" {
		t.Fatalf("at 10s want only k1's absence alert, got %d alerts", len(rec.alerts))
	}
	e.Close()
	if len(rec.alerts) != 2 || rec.alerts[1].Key[0] != "k3" {
		t.Fatalf("want k1 then k3 (k2 saw its b), got %d alerts", len(rec.alerts))
	}
}

func TestValidation(t *testing.T) {
	e, _ := newEngine(t, `event auth { card: string, amount: number, at: time, tags: list? }
pattern p {
    key card
    begin a: auth where amount > 5 and at > timestamp("2025-01-01T00:00:00Z")
}`, Config{})
	var seq uint64
	cases := []struct{ js, want string }{
		{`{"type":"auth","time":"2026-01-01T00:00:00Z","card":"c","amount":"x","at":0}`, `field "amount" of event auth must be a number, got string "x"`},
		{`{"type":"auth","time":"2026-01-01T00:00:00Z","amount":1,"at":0}`, `missing field "card" of event auth`},
		{`{"type":"auth","time":"2026-01-01T00:00:00Z","card":"c","amount":1,"at":"yesterday"}`, `field "at" of event auth must be a time`},
		{`{"type":"auth","time":"2026-01-01T00:00:00Z","card":"c","amount":1,"at":0,"tags":5}`, `field "tags" of event auth must be a list`},
	}
	for _, c := range cases {
		err := push(t, e, &seq, c.js)
		if !errors.Is(err, ErrInvalidEvent) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.js, err, c.want)
		}
	}
	if e.Stats.Invalid != uint64(len(cases)) {
		t.Fatalf("invalid = %d, want %d", e.Stats.Invalid, len(cases))
	}
	// A declared time field arrives as epoch milliseconds or RFC 3339.
	if err := push(t, e, &seq, `{"type":"auth","time":"2026-01-01T00:00:00Z","card":"c","amount":9,"at":1767225600000}`); err != nil {
		t.Fatal(err)
	}
}

func TestMissingKeyIsInvalid(t *testing.T) {
	e, _ := newEngine(t, `pattern p {
    key card
    begin a: auth
}`, Config{})
	var seq uint64
	err := push(t, e, &seq, `{"type":"auth","time":"2026-01-01T00:00:00Z"}`)
	if err == nil || !strings.Contains(err.Error(), `missing key field "card" (pattern p)`) {
		t.Fatalf("error %v", err)
	}
	// Events of types no pattern sees need no key.
	if err := push(t, e, &seq, `{"type":"other","time":"2026-01-01T00:00:00Z"}`); err != nil {
		t.Fatal(err)
	}
}

// TestMissingKeyOfDeclaredType: a key field the event's declaration
// requires is reported as a missing field of the event; one it declares
// optional, or does not declare, still as a missing key; a pattern over
// any type asks its key of events of every type.
func TestMissingKeyOfDeclaredType(t *testing.T) {
	e, _ := newEngine(t, `event auth { card: string, user: string? }
pattern by_card {
    key card
    begin a: auth
}
pattern by_user {
    key user
    begin a: auth
}
pattern by_device {
    key device
    begin a: any
}`, Config{})
	var seq uint64
	for _, c := range []struct{ js, want string }{
		{`{"type":"auth","time":"2026-01-01T00:00:00Z","user":"u","device":"d"}`, `missing field "card" of event auth`},
		{`{"type":"auth","time":"2026-01-01T00:00:00Z","card":"c","device":"d"}`, `missing key field "user" (pattern by_user)`},
		{`{"type":"auth","time":"2026-01-01T00:00:00Z","card":"c","user":"u"}`, `missing key field "device" (pattern by_device)`},
		{`{"type":"login","time":"2026-01-01T00:00:00Z"}`, `missing key field "device" (pattern by_device)`},
	} {
		err := push(t, e, &seq, c.js)
		if !errors.Is(err, ErrInvalidEvent) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.js, err, c.want)
		}
	}
	if err := push(t, e, &seq, `{"type":"auth","time":"2026-01-01T00:00:00Z","card":"c","user":"u","device":"d"}`); err != nil {
		t.Fatal(err)
	}
	if err := push(t, e, &seq, `{"type":"login","time":"2026-01-01T00:00:00Z","device":"d"}`); err != nil {
		t.Fatal(err)
	}
}

func TestLateEventsReported(t *testing.T) {
	e, rec := newEngine(t, `pattern p {
    begin a: a
}`, Config{OutOfOrderness: 5 * time.Second})
	var seq uint64
	push(t, e, &seq, fmt.Sprintf(`{"type":"a","time":%q,"id":"e1"}`, at(10)))
	push(t, e, &seq, fmt.Sprintf(`{"type":"a","time":%q,"id":"e2"}`, at(6))) // within 5s: sorted in
	push(t, e, &seq, fmt.Sprintf(`{"type":"a","time":%q,"id":"e3"}`, at(4))) // older than 10-5: late
	push(t, e, &seq, fmt.Sprintf(`{"type":"a","time":%q,"id":"e4"}`, at(5))) // exactly the watermark: on time
	e.Close()
	if strings.Join(rec.late, " ") != "e3" || e.Stats.Late != 1 {
		t.Fatalf("late = %v (%d), want [e3]", rec.late, e.Stats.Late)
	}
	var got []string
	for _, a := range rec.alerts {
		got = append(got, a.Events[0].IDs[0])
	}
	if strings.Join(got, " ") != "e4 e2 e1" {
		t.Fatalf("alerts in order %v, want event-time order e4 e2 e1", got)
	}
}

// Absences complete in deadline order across keys, ties in key order,
// whatever else the keys hold and whenever their timers were set.
func TestTimersFireInDeadlineOrder(t *testing.T) {
	e, rec := newEngine(t, `pattern noise {
    key k
    within 5s
    begin       n: n
    followed_by m: m
}
pattern quiet {
    key k
    within 20s
    begin           a: a
    not_followed_by x: x
}`, Config{})
	var seq uint64
	for _, js := range []string{
		`{"type":"n","time":%q,"k":"a"}`, // a silent deadline before everything
		`{"type":"a","time":%q,"k":"z"}`,
		`{"type":"n","time":%q,"k":"m"}`,
		`{"type":"a","time":%q,"k":"m"}`,
		`{"type":"a","time":%q,"k":"a"}`,
	} {
		sec := []int{0, 1, 2, 3, 3}[seq]
		if err := push(t, e, &seq, fmt.Sprintf(js, at(sec))); err != nil {
			t.Fatal(err)
		}
	}
	push(t, e, &seq, fmt.Sprintf(`{"type":"n","time":%q,"k":"q"}`, at(60)))
	var got []string
	for _, a := range rec.alerts {
		got = append(got, fmt.Sprintf("%s@%s", a.Key[0], time.Unix(0, a.End).UTC().Format("05")))
	}
	if want := []string{"z@01", "a@03", "m@03"}; !slices.Equal(got, want) {
		t.Fatalf("alerts %v, want %v", got, want)
	}
	if n := keys(e); n != 1 {
		t.Fatalf("%d keys hold state, want 1 (q)", n)
	}
}

// TestTypeOfAgreesWithTheMaps: an event's route and shape are found by a
// scan when the engine knows few types and by the maps when it knows many;
// both must give what the maps hold, the route of all other types for an
// unknown type, and a declared type's shape.
func TestTypeOfAgreesWithTheMaps(t *testing.T) {
	for _, n := range []int{1, maxTypeScan, maxTypeScan + 1} {
		var src strings.Builder
		for i := range n {
			fmt.Fprintf(&src, "event t%d { k: string, v: number }\n", i)
		}
		src.WriteString("event only_declared { k: string }\n")
		for i := range n {
			fmt.Fprintf(&src, "pattern p%d {\n    key k\n    within 10s\n    begin a: t%d where v > %d\n}\n", i, i, i)
		}
		src.WriteString("pattern any {\n    key k\n    within 10s\n    begin a: any where v > 100\n}\n")
		e, _ := newEngine(t, src.String(), Config{})
		if len(e.typeMap) != n+1 { // a scan up to maxTypeScan, the map above
			t.Fatalf("%d types known, want %d", len(e.typeMap), n+1)
		}
		types := []string{"only_declared", "unknown", ""}
		for i := range n {
			types = append(types, fmt.Sprintf("t%d", i))
		}
		for _, typ := range types {
			te := e.typeOf(string([]byte(typ))) // not the engine's copy of the name
			r, sh := te.r, te.sh
			want, ok := e.byType[typ]
			if !ok {
				want = e.anyType
			}
			if r != want || sh != e.shapes[typ] {
				t.Errorf("%d types: typeOf(%q) = %p, %p; want %p, %p", n+1, typ, r, sh, want, e.shapes[typ])
			}
			if typ == "only_declared" && sh == nil || typ == "unknown" && r != e.anyType {
				t.Errorf("%d types: typeOf(%q) = %p, %p", n+1, typ, r, sh)
			}
		}
	}
}
