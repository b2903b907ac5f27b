package api

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/motifcep/motif/node"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

// The codec sends a cached subscribe response as its marshalled bytes,
// made once, and marshals any other message as protobuf does.
func TestWireCodec(t *testing.T) {
	var cache alertCache
	c := wireCodec{&cache}
	js := []byte(`{"id":"a1","pattern":"p","version":2,"kind":"match","key":"c1","severity":"high","message":"m","fields":{"n":1},"events":{"a":["e1"]},"start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:00:01Z"}`)
	r, err := cache.get(node.Alert{Seq: 7, JSON: js})
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.MarshalAppend([]byte("x"), r.msg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Marshal(r.msg)
	if err != nil {
		t.Fatal(err)
	}
	want, err := proto.Marshal(r.msg)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != "x"+string(want) || string(again) != string(want) {
		t.Fatalf("cached response marshalled as %x and %x, want %x", first, again, want)
	}
	if len(cache.slots[7].wire) == 0 {
		t.Error("the wire bytes were not kept")
	}
	// An equal response that is not the cached one is marshalled anew.
	other := proto.Clone(r.msg).(*motifv1.SubscribeAlertsResponse)
	other.Seq = 8
	got, err := c.Marshal(other)
	if err != nil {
		t.Fatal(err)
	}
	var back motifv1.SubscribeAlertsResponse
	if err := c.Unmarshal(got, &back); err != nil || back.GetSeq() != 8 || back.GetAlert().GetId() != "a1" {
		t.Errorf("round trip: %v %v", &back, err)
	}
	if _, err := c.Marshal("not a message"); err == nil {
		t.Error("a non-message marshalled")
	}
}
