package checkpoint

import (
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"
)

func appendAlerts(t *testing.T, s *Store, ids ...string) []uint64 {
	t.Helper()
	b := s.NewBatch()
	var seqs []uint64
	for _, id := range ids {
		seqs = append(seqs, b.AppendAlert(id, 0, []byte("payload-"+id)))
	}
	commit(t, b)
	return seqs
}

func alertSeqs(t *testing.T, s *Store, from uint64) []uint64 {
	t.Helper()
	var seqs []uint64
	if err := s.Alerts(from, func(seq uint64, _ []byte) bool { seqs = append(seqs, seq); return true }); err != nil {
		t.Fatal(err)
	}
	return seqs
}

func TestAlertSeqMonotonicAcrossReopen(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	if got := s.LastAlertSeq(); got != 0 {
		t.Errorf("LastAlertSeq of a new store = %d", got)
	}
	if got := appendAlerts(t, s, "a", "b"); !reflect.DeepEqual(got, []uint64{1, 2}) {
		t.Errorf("first seqs = %v", got)
	}
	s = reopen(t, s, Options{})
	if got := s.LastAlertSeq(); got != 2 {
		t.Errorf("LastAlertSeq after reopen = %d, want 2", got)
	}
	if got := appendAlerts(t, s, "c"); !reflect.DeepEqual(got, []uint64{3}) {
		t.Errorf("seq after reopen = %v, want [3]", got)
	}
	for id, want := range map[string]uint64{"a": 1, "b": 2, "c": 3} {
		seq, ok, err := s.AlertSeen(id)
		if err != nil || !ok || seq != want {
			t.Errorf("AlertSeen(%s) = %d, %v, %v; want %d", id, seq, ok, err, want)
		}
	}
	if _, ok, err := s.AlertSeen("never"); ok || err != nil {
		t.Errorf("AlertSeen(never) = %v, %v", ok, err)
	}
	var payloads []string
	err := s.Alerts(2, func(seq uint64, p []byte) bool { payloads = append(payloads, fmt.Sprint(seq, string(p))); return true })
	if err != nil || !reflect.DeepEqual(payloads, []string{"2payload-b", "3payload-c"}) {
		t.Errorf("Alerts(2) = %v, %v", payloads, err)
	}
	if st := s.Stats(); st.AlertLogLength != 3 || st.AlertLogBytes <= 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestAbandonedAlertsGiveBackTheirSeqs(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	b := s.NewBatch()
	if seq := b.AppendAlert("x", 0, nil); seq != 1 {
		t.Fatalf("seq = %d", seq)
	}
	b.Close()
	if got := appendAlerts(t, s, "y"); !reflect.DeepEqual(got, []uint64{1}) {
		t.Errorf("after an abandoned batch: %v, want [1]", got)
	}
	if _, ok, _ := s.AlertSeen("x"); ok {
		t.Errorf("an abandoned alert is seen")
	}
}

func TestAlertsVisibleOnlyWhenSettled(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	b1, b2 := s.NewBatch(), s.NewBatch()
	if seq := b1.AppendAlert("one", 0, nil); seq != 1 {
		t.Fatalf("b1 seq = %d", seq)
	}
	if seq := b2.AppendAlert("two", 0, nil); seq != 2 {
		t.Fatalf("b2 seq = %d", seq)
	}
	if seq := b1.AppendAlert("three", 0, nil); seq != 3 {
		t.Fatalf("b1 second seq = %d", seq)
	}
	commit(t, b2)
	// 2 is committed but 1 may still commit: a reader must not pass it.
	if got := s.LastAlertSeq(); got != 0 {
		t.Errorf("LastAlertSeq with 1 pending = %d, want 0", got)
	}
	if got := alertSeqs(t, s, 0); len(got) != 0 {
		t.Errorf("Alerts with 1 pending = %v", got)
	}
	if _, ok, _ := s.AlertSeen("two"); !ok {
		t.Errorf("a committed alert is not seen")
	}
	commit(t, b1)
	if got := s.LastAlertSeq(); got != 3 {
		t.Errorf("LastAlertSeq = %d, want 3", got)
	}
	if got := alertSeqs(t, s, 0); !reflect.DeepEqual(got, []uint64{1, 2, 3}) {
		t.Errorf("Alerts = %v", got)
	}

	// An abandoned batch in the middle leaves a gap, never a reused seq.
	b3, b4 := s.NewBatch(), s.NewBatch()
	b3.AppendAlert("four", 0, nil)
	b4.AppendAlert("five", 0, nil)
	b3.Close()
	commit(t, b4)
	if got := appendAlerts(t, s, "six"); !reflect.DeepEqual(got, []uint64{6}) {
		t.Errorf("seq after a gap = %v, want [6]", got)
	}
	if got := alertSeqs(t, s, 4); !reflect.DeepEqual(got, []uint64{5, 6}) {
		t.Errorf("Alerts(4) = %v, want [5 6]", got)
	}
}

func TestAlertRetentionByAge(t *testing.T) {
	opts := Options{AlertRetention: Retention{MaxAge: time.Hour}}
	s := open(t, t.TempDir(), opts)
	hour := int64(time.Hour)
	b := s.NewBatch()
	for i := range 10 {
		b.AppendAlert(fmt.Sprint("id", i), int64(i)*hour, []byte("p"))
	}
	commit(t, b)
	before := s.Stats()

	// At 5h, alerts younger than 4h stay: those at 4h and later.
	if err := s.EnforceRetention(5 * hour); err != nil {
		t.Fatal(err)
	}
	if got := alertSeqs(t, s, 0); !reflect.DeepEqual(got, []uint64{5, 6, 7, 8, 9, 10}) {
		t.Errorf("after retention: %v", got)
	}
	for i := range 10 {
		_, ok, err := s.AlertSeen(fmt.Sprint("id", i))
		if err != nil || ok != (i >= 4) {
			t.Errorf("AlertSeen(id%d) = %v, %v", i, ok, err)
		}
	}
	after := s.Stats()
	if after.AlertLogLength != 6 || after.AlertLogBytes != before.AlertLogBytes*6/10 {
		t.Errorf("Stats after retention: %d alerts, %d bytes (before %d bytes)", after.AlertLogLength, after.AlertLogBytes, before.AlertLogBytes)
	}
	s = reopen(t, s, opts)
	if st := s.Stats(); st.AlertLogLength != 6 || st.AlertLogBytes != after.AlertLogBytes {
		t.Errorf("Stats after reopen = %+v", st)
	}
	if got := appendAlerts(t, s, "new"); !reflect.DeepEqual(got, []uint64{11}) {
		t.Errorf("seq after retention and reopen = %v, want [11]", got)
	}
}

func TestAlertRetentionByBytes(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	b := s.NewBatch()
	for i := range 100 {
		b.AppendAlert(fmt.Sprintf("id%03d", i), 0, make([]byte, 100))
	}
	commit(t, b)
	per := s.Stats().AlertLogBytes / 100
	s = reopen(t, s, Options{AlertRetention: Retention{MaxBytes: 30*per + per/2}})
	if err := s.EnforceRetention(0); err != nil {
		t.Fatal(err)
	}
	got := alertSeqs(t, s, 0)
	if len(got) != 30 || got[0] != 71 {
		t.Errorf("kept %d alerts from %v, want 30 from 71", len(got), got[:min(len(got), 1)])
	}
	if _, ok, _ := s.AlertSeen("id069"); ok {
		t.Errorf("id index of a removed alert remains")
	}
	if _, ok, _ := s.AlertSeen("id070"); !ok {
		t.Errorf("id index of a kept alert is gone")
	}
	if st := s.Stats(); st.AlertLogBytes != 30*per {
		t.Errorf("AlertLogBytes = %d, want %d", st.AlertLogBytes, 30*per)
	}
}

func TestAlertRetentionKeepsNewerDuplicateID(t *testing.T) {
	s := open(t, t.TempDir(), Options{AlertRetention: Retention{MaxAge: 1}})
	b := s.NewBatch()
	b.AppendAlert("same", 0, nil)
	b.AppendAlert("same", 10, nil)
	commit(t, b)
	if err := s.EnforceRetention(10); err != nil {
		t.Fatal(err)
	}
	if seq, ok, _ := s.AlertSeen("same"); !ok || seq != 2 {
		t.Errorf("AlertSeen(same) = %d, %v; want 2, true", seq, ok)
	}
}

// Alerts at or above the floor (not yet delivered by a sink) outlive
// retention; once the floor moves on, they go.
func TestAlertRetentionFloor(t *testing.T) {
	var floor atomic.Uint64
	floor.Store(3)
	opts := Options{AlertRetention: Retention{MaxAge: time.Hour}, AlertFloor: floor.Load}
	s := open(t, t.TempDir(), opts)
	hour := int64(time.Hour)
	b := s.NewBatch()
	for i := range 10 {
		b.AppendAlert(fmt.Sprint("id", i), int64(i)*hour, []byte("p"))
	}
	commit(t, b)
	if err := s.EnforceRetention(100 * hour); err != nil {
		t.Fatal(err)
	}
	if got := alertSeqs(t, s, 0); !reflect.DeepEqual(got, []uint64{3, 4, 5, 6, 7, 8, 9, 10}) {
		t.Errorf("with floor 3: %v", got)
	}
	floor.Store(9)
	if err := s.EnforceRetention(100 * hour); err != nil {
		t.Fatal(err)
	}
	if got := alertSeqs(t, s, 0); !reflect.DeepEqual(got, []uint64{9, 10}) {
		t.Errorf("with floor 9: %v", got)
	}
}
