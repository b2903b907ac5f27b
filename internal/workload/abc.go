package workload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// DefaultABCKeys is the number of users of an ABC workload whose Spec gives
// no Keys.
const DefaultABCKeys = 1000

// ABCPattern is the engine-comparison pattern over ABC's events; CountABC
// counts its matches.
const ABCPattern = `pattern abc {
    key    user
    within 10m
    begin           a: A
    followed_by_any b: B
    followed_by_any c: C
}`

// abcWindow is ABCPattern's within, in nanoseconds.
const abcWindow = int64(10 * time.Minute)

// ABC writes the engine-comparison workload: s.Events events over s.Keys users
// (DefaultABCKeys if 0), each {"type","time","id","user":"u<n>","v":0-99},
// types A, B, C, D drawn 30/30/20/20%, each event 1-199 ms (uniform) after the
// one before.
func ABC(w io.Writer, s Spec) error {
	keys, err := s.keys(DefaultABCKeys)
	if err != nil {
		return err
	}
	rng := newRand(s.Seed)
	bw := bufio.NewWriterSize(w, 256<<10)
	l := newLine()
	clock := baseMillis
	for n := 1; n <= s.Events; n++ {
		clock += 1 + int64(rng.IntN(199))
		typ := "D"
		switch r := rng.IntN(10); {
		case r < 3:
			typ = "A"
		case r < 6:
			typ = "B"
		case r < 8:
			typ = "C"
		}
		l.begin(typ, clock, n)
		l.ident("user", 'u', uint64(rng.IntN(keys)), 10)
		l.int("v", int64(rng.IntN(100)))
		if _, err := bw.Write(l.end()); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ErrUnordered is returned (wrapped) by CountABC for an input whose times go
// backwards, on which the engine would drop late events.
var ErrUnordered = errors.New("workload: event times go backwards")

// CountABC counts the matches of ABCPattern over NDJSON events, independently
// of any engine: per user, the triples (a, b, c) of events of types A, B, C
// with a before b before c in input order (events of equal time count in input
// order) and time(c) - time(a) < 10 minutes. Events of other types, and events
// without a user, are ignored. Times must not decrease along the input (else
// ErrUnordered); they are RFC 3339 strings or epoch milliseconds.
//
// It runs in O(n) time: per user it keeps the A events still within 10 minutes
// with the number of B events seen before each, so a C adds, over those A
// events, the B events seen since.
func CountABC(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	users := map[string]*abcUser{}
	var total int64
	last := int64(-1 << 63)
	for lineNo := 1; sc.Scan(); lineNo++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var ev struct {
			Type string          `json:"type"`
			Time json.RawMessage `json:"time"`
			User json.RawMessage `json:"user"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			return 0, fmt.Errorf("line %d: %w", lineNo, err)
		}
		t, err := parseTime(ev.Time)
		if err != nil {
			return 0, fmt.Errorf("line %d: %w", lineNo, err)
		}
		if t < last {
			return 0, fmt.Errorf("line %d: %w", lineNo, ErrUnordered)
		}
		last = t
		if len(ev.User) == 0 || string(ev.User) == "null" {
			continue
		}
		u := users[string(ev.User)]
		if u == nil {
			u = &abcUser{}
			users[string(ev.User)] = u
		}
		switch ev.Type {
		case "A":
			u.as = append(u.as, abcA{t: t, bBefore: u.bs})
			u.sumB += u.bs
		case "B":
			u.bs++
		case "C":
			total += u.matches(t)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return total, nil
}

// abcUser is CountABC's state for one user.
type abcUser struct {
	as   []abcA // A events that may still be within the window, oldest first, from head on
	head int
	bs   int64 // B events so far
	sumB int64 // the sum of bBefore over as[head:]
}

type abcA struct {
	t       int64 // Unix ns
	bBefore int64 // B events of the user before this A
}

// matches returns the number of (a, b) pairs that a C at time t completes,
// first dropping the A events 10 minutes or more before t.
func (u *abcUser) matches(t int64) int64 {
	for u.head < len(u.as) && t-u.as[u.head].t >= abcWindow {
		u.sumB -= u.as[u.head].bBefore
		u.head++
	}
	if u.head > 32 && u.head > len(u.as)/2 {
		u.as = append(u.as[:0], u.as[u.head:]...)
		u.head = 0
	}
	return int64(len(u.as)-u.head)*u.bs - u.sumB
}

// parseTime reads an event time: an RFC 3339 string or integer epoch
// milliseconds, as Unix nanoseconds.
func parseTime(raw json.RawMessage) (int64, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, err
		}
		return t.UnixNano(), nil
	}
	ms, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("time %s: want an RFC 3339 string or epoch milliseconds", raw)
	}
	return ms * int64(time.Millisecond), nil
}
