package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/motifcep/motif/event"
)

// csvDecoder reads "type,time,user" records: an encoding other than JSON,
// as a protobuf or Avro decoder would be.
type csvDecoder struct {
	user  int // slot
	slots int
}

func (d csvDecoder) Decode(value []byte, ev *event.Event) error {
	f := strings.Split(string(value), ",")
	if len(f) != 3 {
		return errors.New("want type,time,user")
	}
	t, err := time.Parse(time.RFC3339, f[1])
	if err != nil {
		return fmt.Errorf("bad time: %v", err)
	}
	ev.Type, ev.Time, ev.ID = f[0], t.UnixNano(), ""
	ev.Fields = make([]event.Value, d.slots)
	if d.user >= 0 {
		ev.Fields[d.user] = event.StringValue(f[2])
	}
	return nil
}

// Config.NewDecoder replaces the JSON decoder: records of another encoding
// match as their JSON equivalent does, and one it refuses is a dead letter
// with its reason.
func TestPluggableDecoder(t *testing.T) {
	set := mustSet(t, `pattern p { key user  begin a: a  followed_by b: b  within 1m }`)
	var jsonLines, csvLines [][]byte
	for i := range 40 {
		typ, user, sec := []string{"a", "b"}[i%2], fmt.Sprintf("u%d", i/2%7), i
		jsonLines = append(jsonLines, ev(typ, user, sec))
		csvLines = append(csvLines, fmt.Appendf(nil, "%s,2026-01-01T00:00:%02dZ,%s", typ, sec, user))
	}
	want := reference(t, set, jsonLines)
	if len(want) == 0 {
		t.Fatal("the fixture has no alerts")
	}
	s := openStore(t, t.TempDir())
	defer s.Close()
	appendLog(t, s, append(csvLines, []byte("not,csv")))
	p, err := New(Config{Set: set, Store: s, StopAtEnd: true,
		NewDecoder: func(schema *event.Schema, _ event.DecoderOptions) Decoder {
			slot, ok := schema.Lookup("user")
			if !ok {
				slot = -1
			}
			return csvDecoder{user: slot, slots: schema.Len()}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	diffAlerts(t, logged(t, s), want)
	if st := p.Stats(); st.Invalid != 1 {
		t.Errorf("%d invalid records, want 1", st.Invalid)
	}
	var reasons [][]byte
	if err := s.DeadLetters(Source, 0, func(_ uint64, reason string, _ []byte) bool {
		reasons = append(reasons, []byte(reason))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(reasons) != 1 || !bytes.Contains(reasons[0], []byte("want type,time,user")) {
		t.Errorf("dead letters %q, want the decoder's reason", reasons)
	}
}
