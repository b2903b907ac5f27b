package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/event"
)

func TestScanAlert(t *testing.T) {
	for _, tc := range []struct {
		name, json                string
		id, pattern, version, key string
		nilKey                    bool
		err                       string
	}{
		{name: "null key", json: `{"id":"a1","pattern":"p","version":2,"kind":"match","key":null,"fields":{}}`,
			id: "a1", pattern: "p", version: "2", nilKey: true},
		{name: "string key", json: `{"seq":9,"id":"a1","pattern":"p","version":12,"key":"k"}`,
			id: "a1", pattern: "p", version: "12", key: "k"},
		{name: "list of one", json: `{"id":"a1","pattern":"p","version":1,"key":["k\"1"]}`,
			id: "a1", pattern: "p", version: "1", key: `k"1`},
		{name: "list of two", json: `{"id":"a1","pattern":"p","version":1,"key":["a", "b\u0026"]}`,
			id: "a1", pattern: "p", version: "1", key: `["a", "b\u0026"]`},
		{name: "empty list", json: `{"id":"a1","pattern":"p","version":1,"key":[]}`,
			id: "a1", pattern: "p", version: "1", nilKey: true},
		{name: "other order, white space, nested values skipped",
			json: ` { "fields" : {"x":[1,{"y":"}]"}]}, "key":"k" , "version" : 3,"pattern":"p\u00e9","id":"\ud83d\ude00"}`,
			id:   "\U0001F600", pattern: "pé", version: "3", key: "k"},
		{name: "escapes", json: `{"id":"a\\b\/c\n","pattern":"\u003cp\u003e","version":1,"key":"\t"}`,
			id: "a\\b/c\n", pattern: "<p>", version: "1", key: "\t"},
		{name: "missing key", json: `{"id":"a1","pattern":"p","version":1}`, err: "lacks"},
		{name: "empty id", json: `{"id":"","pattern":"p","version":1,"key":null}`, err: "empty"},
		{name: "truncated", json: `{"id":"a1","pattern":"p`, err: "end"},
		{name: "not an object", json: `["id"]`, err: "expected '{'"},
		{name: "bad version", json: `{"id":"a","pattern":"p","version":"1","key":null}`, err: "integer"},
		{name: "bad key", json: `{"id":"a","pattern":"p","version":1,"key":7}`, err: "null, a string or a list"},
		{name: "bad escape", json: `{"id":"a\x","pattern":"p","version":1,"key":null}`, err: "escape"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _, err := scanAlert([]byte(tc.json), nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("scanAlert: %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("scanAlert: %v", err)
			}
			if string(f.id) != tc.id || string(f.pattern) != tc.pattern || string(f.version) != tc.version ||
				string(f.key) != tc.key || (f.key == nil) != tc.nilKey {
				t.Errorf("scanAlert = id %q pattern %q version %q key %q (nil %v)", f.id, f.pattern, f.version, f.key, f.key == nil)
			}
		})
	}
}

// TestScanAlertAgreesWithUnmarshal checks scanAlert against
// alert.Alert.UnmarshalJSON on random alerts with awkward strings.
func TestScanAlertAgreesWithUnmarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "Z", "é", "😀", `"`, `\`, "/", "<", ">", "&", "\n", "\t", "\x01", "\u2028", "\x7f", " "}
	str := func() string {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	for i := range 2000 {
		a := alert.Alert{ID: "x" + str(), Pattern: str(), Version: rng.IntN(1000), Kind: alert.KindMatch,
			Fields: []alert.Field{{Name: str(), Value: event.StringValue(str())}}, Seq: uint64(rng.IntN(3))}
		for range rng.IntN(4) {
			a.Key = append(a.Key, str())
		}
		js := a.AppendJSON(nil)
		var back alert.Alert
		if err := back.UnmarshalJSON(js); err != nil {
			t.Fatalf("UnmarshalJSON(%s): %v", js, err)
		}
		f, _, err := scanAlert(js, nil)
		if err != nil {
			t.Fatalf("scanAlert(%s): %v", js, err)
		}
		if string(f.id) != back.ID || string(f.pattern) != back.Pattern || string(f.version) != fmt.Sprint(back.Version) {
			t.Fatalf("alert %d: scanAlert = %q %q %q, UnmarshalJSON = %q %q %d", i, f.id, f.pattern, f.version, back.ID, back.Pattern, back.Version)
		}
		switch len(back.Key) {
		case 0:
			if f.key != nil {
				t.Fatalf("alert %d: key %q, want nil", i, f.key)
			}
		case 1:
			if string(f.key) != back.Key[0] {
				t.Fatalf("alert %d: key %q, want %q", i, f.key, back.Key[0])
			}
		default:
			var parts []string
			if err := json.Unmarshal(f.key, &parts); err != nil || fmt.Sprint(parts) != fmt.Sprint(back.Key) {
				t.Fatalf("alert %d: key %s decodes to %q (%v), want %q", i, f.key, parts, err, back.Key)
			}
		}
	}
}

func TestScanAlertAllocs(t *testing.T) {
	a := testAlert(4)
	a.Fields = []alert.Field{{Name: "amount", Value: event.NumberValue(12)}}
	js := a.AppendJSON(nil)
	b := newBatch(1)
	allocs := testing.AllocsPerRun(100, func() {
		b.reset()
		if err := b.add(topic, 7, js); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("batch.add allocates %v times per alert, want 0", allocs)
	}
}

// FuzzScanAlert: scanAlert never panics, and on an alert's JSON as
// AppendJSON writes it (what UnmarshalJSON reads back to the same bytes)
// it finds the id and pattern UnmarshalJSON finds.
func FuzzScanAlert(f *testing.F) {
	for i := range 5 {
		a := testAlert(i)
		f.Add(a.AppendJSON(nil))
	}
	f.Add([]byte(`{"id":"\ud800","pattern":"","version":-0,"key":[""]}`))
	f.Fuzz(func(t *testing.T, js []byte) {
		got, _, err := scanAlert(js, nil)
		var want alert.Alert
		if err != nil || want.UnmarshalJSON(js) != nil || !bytes.Equal(want.AppendJSON(nil), js) {
			return
		}
		if string(got.id) != want.ID || string(got.pattern) != want.Pattern {
			t.Errorf("scanAlert = %q %q, UnmarshalJSON = %q %q", got.id, got.pattern, want.ID, want.Pattern)
		}
	})
}
