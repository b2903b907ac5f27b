package cluster

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/pipeline"
)

func TestLongestWindow(t *testing.T) {
	doc := func(texts ...string) []byte {
		type version struct {
			State string `json:"state"`
			Text  string `json:"text"`
		}
		cat := map[string]any{"patterns": map[string]any{}}
		for i, text := range texts {
			cat["patterns"].(map[string]any)[string(rune('a'+i))] = map[string]any{"versions": []version{{"active", text}}}
		}
		b, err := json.Marshal(cat)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name    string
		doc     []byte
		want    time.Duration
		bounded bool
	}{
		{"empty", nil, 0, true},
		{"within", doc(`pattern p { within 10m begin a: a followed_by b: b }`), 10 * time.Minute, true},
		{"default", doc(`pattern p { begin a: a followed_by b: b }`, `pattern q { within 1m begin a: a followed_by b: b }`), time.Hour, true},
		{"suppress", doc(`pattern p { within 1m suppress 2h begin a: a followed_by b: b }`), 2 * time.Hour, true},
		{"none", doc(`pattern p { within none begin a: a followed_by b: b }`), 0, false},
	} {
		got, bounded, err := longestWindow(c.doc, time.Hour)
		if err != nil || got != c.want || bounded != c.bounded {
			t.Errorf("%s: longestWindow = %v, %v, %v; want %v, %v", c.name, got, bounded, err, c.want, c.bounded)
		}
	}
}

// The metadata a partition's sink commits says where the input stood for
// the alerts below the position: the mark of the commit that holds the
// position's alert, and how many of that commit's alerts come before it.
func TestPositionOf(t *testing.T) {
	st, err := checkpoint.Open(t.TempDir(), checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check := func(next uint64, want position) {
		t.Helper()
		js, err := positionOf(st, 7, next)
		if err != nil {
			t.Fatal(err)
		}
		var got position
		if err := json.Unmarshal([]byte(js), &got); err != nil || got != want {
			t.Errorf("positionOf(%d) = %s (%v); want %+v", next, js, err, want)
		}
	}
	// No mark: everything from the partition's start.
	check(4, position{Epoch: 7, Offset: 0, After: 3})
	for _, m := range []struct{ seq, off uint64 }{{1, 100}, {5, 250}} {
		b := st.NewBatch()
		b.PutAlertMark(m.seq, pipeline.AppendMark(nil, []uint64{m.off}))
		if err := b.Commit(true); err != nil {
			t.Fatal(err)
		}
	}
	check(1, position{Epoch: 7, Offset: 100, After: 0})
	check(3, position{Epoch: 7, Offset: 100, After: 2})
	check(5, position{Epoch: 7, Offset: 250, After: 0})
	check(9, position{Epoch: 7, Offset: 250, After: 4})
}
