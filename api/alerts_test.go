package api

import (
	"bytes"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/motifcep/motif/node"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

// countingWriter records the writes and flushes that reach the connection.
type countingWriter struct {
	http.ResponseWriter
	writes  []int
	flushes int
	body    bytes.Buffer
	fail    error
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.fail != nil {
		return 0, w.fail
	}
	w.writes = append(w.writes, len(p))
	return w.body.Write(p)
}

func (w *countingWriter) Flush() { w.flushes++ }

// A held batch reaches the connection as one write and one flush, or in
// writes of batchWriteBytes when it is larger; outside a batch every write
// and flush goes through at once; a failed write is the batch's error.
func TestBatchWriter(t *testing.T) {
	cw := &countingWriter{}
	w := &batchWriter{ResponseWriter: cw}
	w.hold()
	for _, s := range []string{"one", "two", "three"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("held write: %d %v", n, err)
		}
		w.Flush()
	}
	if len(cw.writes) != 0 || cw.flushes != 0 {
		t.Fatalf("while held: writes %v, flushes %d", cw.writes, cw.flushes)
	}
	if err := w.release(); err != nil {
		t.Fatal(err)
	}
	if len(cw.writes) != 1 || cw.flushes != 1 || cw.body.String() != "onetwothree" {
		t.Fatalf("released: writes %v, flushes %d, %q", cw.writes, cw.flushes, cw.body.String())
	}

	// Larger than batchWriteBytes: written as it fills, in order.
	cw.writes, cw.flushes = nil, 0
	cw.body.Reset()
	var want []byte
	w.hold()
	for i := range 5 {
		p := bytes.Repeat([]byte{byte('a' + i)}, batchWriteBytes/2)
		want = append(want, p...)
		w.Write(p)
	}
	if err := w.release(); err != nil {
		t.Fatal(err)
	}
	if len(cw.writes) != 3 || cw.flushes != 0 || !bytes.Equal(cw.body.Bytes(), want) {
		t.Fatalf("large batch: writes %v, flushes %d, %d bytes in order: %v", cw.writes, cw.flushes, cw.body.Len(), bytes.Equal(cw.body.Bytes(), want))
	}

	// Not held: straight through.
	cw.writes = nil
	w.Write([]byte("x"))
	w.Flush()
	if len(cw.writes) != 1 || cw.flushes != 1 {
		t.Fatalf("not held: writes %v, flushes %d", cw.writes, cw.flushes)
	}

	// A failed write fails the batch, and the next one starts afresh.
	cw.fail = errors.New("gone")
	w.hold()
	w.Write(make([]byte, batchWriteBytes))
	if _, err := w.Write([]byte("more")); !errors.Is(err, cw.fail) {
		t.Errorf("a write after a failed one: %v", err)
	}
	if err := w.release(); !errors.Is(err, cw.fail) {
		t.Errorf("release: %v", err)
	}
	cw.fail = nil
	w.hold()
	w.Write([]byte("again"))
	if err := w.release(); err != nil {
		t.Errorf("the next batch: %v", err)
	}

	// A nil batchWriter (a handler served without batchFlushes) is no-op.
	var nw *batchWriter
	nw.hold()
	if err := nw.release(); err != nil {
		t.Error(err)
	}
}

// Subscribers asking for the same alert at once share one conversion and
// one response (for -race too).
func TestAlertCacheSharesConversions(t *testing.T) {
	var cache alertCache
	js := []byte(`{"id":"a1","pattern":"p","version":1,"kind":"match","key":"c1","severity":"high","message":"m","fields":{},"events":{"a":["e1"]},"start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:00:01Z"}`)
	const readers = 8
	got := make(chan *motifv1.SubscribeAlertsResponse, readers)
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			r, err := cache.get(node.Alert{Seq: 3, JSON: js})
			if err != nil {
				t.Error(err)
				return
			}
			got <- r.msg
		})
	}
	wg.Wait()
	close(got)
	first := <-got
	for m := range got {
		if m != first {
			t.Fatal("two responses for one alert")
		}
	}
	if first.GetSeq() != 3 || first.GetAlert().GetId() != "a1" {
		t.Errorf("response %v", first)
	}
	if _, err := cache.get(node.Alert{Seq: 4, JSON: []byte("not json")}); err == nil {
		t.Error("a bad alert converted")
	}
	if _, err := cache.get(node.Alert{Seq: 4, JSON: []byte("not json")}); err == nil {
		t.Error("a bad alert converted the second time")
	}
}
