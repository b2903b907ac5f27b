package raftstate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// commandLog is a log with every kind of command, accepted and rejected
// ones, including a member removal that unassigns several partitions (whose
// new epochs must not depend on map iteration order).
func commandLog() [][]byte {
	both := encodeJSON(kindSetPartitions, setPartitionsCmd{Partitions: []partitionJSON{
		{"tx", 0}, {"tx", 1}, {"tx", 2}, {"tx", 3}, {"tx", 4}, {"tx", 5}, {"tx", 6}, {"tx", 7},
		{"au", 0}, {"au", 1},
	}})
	var all assignCmd
	for i := range int32(8) {
		all.Assign = append(all.Assign, assignment{Topic: "tx", Partition: i, Owner: "a"})
	}
	all.Assign = append(all.Assign,
		assignment{Topic: "au", Partition: 0, Owner: "b"},
		assignment{Topic: "au", Partition: 1, Owner: "c"})
	return [][]byte{
		addMember("a"),
		addMember("b"),
		addMember("c"),
		both,
		encodeJSON(kindAssign, all), // tx/0..7 → a at epochs 1..8, au/0 → b at 9, au/1 → c at 10
		checkpoint(part("tx", 3), 4, 100),
		checkpoint(part("au", 0), 9, 7),
		checkpoint(part("au", 0), 8, 9), // stale: rejected
		catalog(0, `{"patterns":1}`),
		catalog(1, `{"patterns":2}`),
		catalog(1, `{"patterns":"lost"}`), // stale: rejected
		removeMember("a"),                 // tx/0..7 unassigned at epochs 11..18
		encodeJSON(kindAssign, assignCmd{States: []stateChange{{ID: "c", State: "lost"}}}),
		setPartitions("tx", 8), // drops au/0 and au/1
		assign(part("tx", 5), 16, "b"),
		checkpoint(part("tx", 5), 19, 42),
		checkpointV1(part("tx", 5), 19, 43), // written by an older version: lag unknown
	}
}

func TestFSMApplyLog(t *testing.T) {
	f := newLogFSM()
	var rejected []error
	for _, cmd := range commandLog() {
		if err, ok := f.apply(cmd).(error); ok {
			rejected = append(rejected, err)
		}
	}
	if len(rejected) != 2 || !errors.Is(rejected[0], ErrStaleEpoch) || !errors.Is(rejected[1], ErrStaleRevision) {
		t.Errorf("rejected = %v, want a stale epoch and a stale revision", rejected)
	}
	s := f.State()
	const want = "tx/0=@11 tx/1=@12 tx/2=@13 tx/3=@14 tx/4=@15 tx/5=b@19 tx/6=@17 tx/7=@18"
	if got := owners(s); got != want {
		t.Errorf("owners = %s\nwant     %s", got, want)
	}
	if got := s.Catalog(); string(got.Doc) != `{"patterns":2}` || got.Revision != 2 || got.Index != 10 {
		t.Errorf("catalog = %s rev %d index %d, want {\"patterns\":2} rev 2 index 10", got.Doc, got.Revision, got.Index)
	}
	tx3, _ := s.Partition(part("tx", 3))
	if want := (CheckpointMeta{Offset: 100, Watermark: 100000, AlertPosition: 50, Lag: 103}); tx3.Checkpoint != want || tx3.CheckpointEpoch != 4 {
		t.Errorf("tx/3 checkpoint = %+v at epoch %d, want %+v at epoch 4", tx3.Checkpoint, tx3.CheckpointEpoch, want)
	}
	tx5, _ := s.Partition(part("tx", 5))
	if want := (CheckpointMeta{Offset: 43, Watermark: 43000, AlertPosition: 21, Lag: LagUnknown}); tx5.Checkpoint != want {
		t.Errorf("tx/5 checkpoint of the old encoding = %+v, want %+v", tx5.Checkpoint, want)
	}
	var states []string
	for _, m := range s.Members() {
		states = append(states, m.ID+"="+m.State.String())
	}
	if got := fmt.Sprint(states); got != "[b=alive c=lost]" {
		t.Errorf("members = %s, want [b=alive c=lost]", got)
	}
	if s.Index() != 17 || s.LastEpoch() != 19 {
		t.Errorf("index %d, last epoch %d; want 17 and 19", s.Index(), s.LastEpoch())
	}
}

// TestFSMDeterministic applies one log to several FSMs, and to one that
// restores a snapshot half way: every one ends with the same snapshot
// bytes.
func TestFSMDeterministic(t *testing.T) {
	log := commandLog()
	var want []byte
	for i := range 8 {
		f := newLogFSM()
		for _, cmd := range log {
			f.apply(cmd)
		}
		got := persist(t, f.FSM)
		if i == 0 {
			want = got
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("FSM %d: snapshot\n%s\nwant\n%s", i, got, want)
		}
	}

	half := newLogFSM()
	for _, cmd := range log[:len(log)/2] {
		half.apply(cmd)
	}
	restored := newLogFSM()
	if err := restored.Restore(io.NopCloser(bytes.NewReader(persist(t, half.FSM)))); err != nil {
		t.Fatal(err)
	}
	restored.next = half.next
	for _, cmd := range log[len(log)/2:] {
		restored.apply(cmd)
	}
	if got := persist(t, restored.FSM); !bytes.Equal(got, want) {
		t.Fatalf("restored half way: snapshot\n%s\nwant\n%s", got, want)
	}
}

func TestFSMSnapshotRestore(t *testing.T) {
	f := newLogFSM()
	for _, cmd := range commandLog() {
		f.apply(cmd)
	}
	snap := persist(t, f.FSM)

	g := newLogFSM()
	g.mustApply(t, addMember("stale")) // Restore discards what was there
	ch := g.Changed()
	if err := g.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Error("Restore did not close Changed")
	}
	a, b := f.State(), g.State()
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"index", b.Index(), a.Index()},
		{"last epoch", b.LastEpoch(), a.LastEpoch()},
		{"catalog", b.Catalog(), a.Catalog()},
		{"members", b.Members(), a.Members()},
		{"partitions", b.Partitions(), a.Partitions()},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("restored %s = %+v, want %+v", c.what, c.got, c.want)
		}
	}
	if got := persist(t, g.FSM); !bytes.Equal(got, snap) {
		t.Errorf("snapshot of the restored state\n%s\nwant\n%s", got, snap)
	}
}

// TestFSMCheckpointLag records a partition's lag and carries it through a
// snapshot; a snapshot written before the lag existed restores with the
// lag unknown.
func TestFSMCheckpointLag(t *testing.T) {
	f := newLogFSM()
	f.mustApply(t, addMember("a"))
	f.mustApply(t, setPartitions("tx", 2))
	s := f.mustApply(t, assign(part("tx", 0), 0, "a"))
	if ps, _ := s.Partition(part("tx", 0)); ps.Checkpoint.Lag != LagUnknown {
		t.Errorf("lag before any checkpoint = %d, want LagUnknown", ps.Checkpoint.Lag)
	}
	s = f.mustApply(t, checkpoint(part("tx", 0), 1, 10))
	if ps, _ := s.Partition(part("tx", 0)); ps.Checkpoint.Lag != 13 {
		t.Errorf("lag = %d, want 13", ps.Checkpoint.Lag)
	}
	snap := persist(t, f.FSM)
	if !bytes.Contains(snap, []byte(`"lag":13`)) || !bytes.Contains(snap, []byte(`"lag":-1`)) {
		t.Errorf("snapshot lacks the lags 13 and -1:\n%s", snap)
	}
	g := NewFSM()
	if err := g.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	if got, want := g.State().Partitions(), s.Partitions(); !reflect.DeepEqual(got, want) {
		t.Errorf("restored partitions = %+v, want %+v", got, want)
	}

	// As the version before the lag wrote it.
	const old = `{"version":1,"index":5,"catalog":{"revision":0,"index":0,"doc":null},"last_epoch":1,` +
		`"members":[{"id":"a","raft_addr":"a:7946","api_addr":"a:7000","joined":1,"state":"alive"}],` +
		`"partitions":[{"topic":"tx","partition":0,"owner":"a","epoch":1,"offset":10,"watermark":10000,"alert_position":5,"checkpoint_epoch":1},` +
		`{"topic":"tx","partition":1,"owner":"","epoch":0,"offset":0,"watermark":0,"alert_position":0,"checkpoint_epoch":0}]}`
	h := NewFSM()
	if err := h.Restore(io.NopCloser(strings.NewReader(old))); err != nil {
		t.Fatal(err)
	}
	want := []CheckpointMeta{{Offset: 10, Watermark: 10000, AlertPosition: 5, Lag: LagUnknown}, {Lag: LagUnknown}}
	for i, ps := range h.State().Partitions() {
		if ps.Checkpoint != want[i] {
			t.Errorf("%s of the old snapshot: checkpoint %+v, want %+v", ps.Partition, ps.Checkpoint, want[i])
		}
	}
	if again := persist(t, h); bytes.Count(again, []byte(`"lag":-1`)) != 2 {
		t.Errorf("the old snapshot written again:\n%s\nwant the lag -1 on both partitions", again)
	}
}

func TestFSMRestoreCorrupt(t *testing.T) {
	good := string(persist(t, newLogFSM().FSM))
	for name, snap := range map[string]string{
		"not json":        "{",
		"empty":           "",
		"version":         strings.Replace(good, `"version":1`, `"version":2`, 1),
		"member state":    `{"version":1,"members":[{"id":"a","state":"dozing"}]}`,
		"repeated member": `{"version":1,"members":[{"id":"a","state":"alive"},{"id":"a","state":"alive"}]}`,
		"epoch too high":  `{"version":1,"last_epoch":1,"partitions":[{"topic":"t","partition":0,"epoch":2}]}`,
	} {
		f := NewFSM()
		before := f.State()
		err := f.Restore(io.NopCloser(strings.NewReader(snap)))
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Restore = %v, want ErrCorrupt", name, err)
		}
		if f.State() != before {
			t.Errorf("%s: a failed Restore replaced the state", name)
		}
	}
}

func TestFSMStaleRevision(t *testing.T) {
	f := newLogFSM()
	s := f.mustApply(t, catalog(0, "one"))
	if c := s.Catalog(); c.Revision != 1 || c.Index != 1 || string(c.Doc) != "one" {
		t.Fatalf("catalog = %+v, want revision 1 at index 1", c)
	}
	// A change computed from revision 0 on another node, applied after.
	if err := f.mustReject(t, catalog(0, "two")); !errors.Is(err, ErrStaleRevision) {
		t.Fatalf("stale change: %v, want ErrStaleRevision", err)
	}
	s = f.mustApply(t, catalog(1, "one+two"))
	if c := s.Catalog(); c.Revision != 2 || c.Index != 3 || string(c.Doc) != "one+two" {
		t.Fatalf("catalog = %+v, want revision 2 at index 3", c)
	}
}

func TestFSMStaleEpoch(t *testing.T) {
	f := newLogFSM()
	f.mustApply(t, addMember("a"))
	f.mustApply(t, addMember("b"))
	f.mustApply(t, setPartitions("tx", 2))
	p := part("tx", 0)

	if err := f.mustReject(t, checkpoint(p, 0, 1)); !errors.Is(err, ErrStaleEpoch) {
		t.Errorf("checkpoint of an unassigned partition: %v, want ErrStaleEpoch", err)
	}
	if err := f.mustReject(t, checkpoint(part("tx", 9), 0, 1)); !errors.Is(err, ErrUnknownPartition) {
		t.Errorf("checkpoint of an unknown partition: %v, want ErrUnknownPartition", err)
	}
	s := f.mustApply(t, assign(p, 0, "a"))
	first, _ := s.Partition(p)
	f.mustApply(t, checkpoint(p, first.Epoch, 10))

	s = f.mustApply(t, assign(p, first.Epoch, "b"))
	second, _ := s.Partition(p)
	if err := f.mustReject(t, checkpoint(p, first.Epoch, 11)); !errors.Is(err, ErrStaleEpoch) {
		t.Errorf("checkpoint by the superseded owner: %v, want ErrStaleEpoch", err)
	}
	ps, _ := f.State().Partition(p)
	if ps.Checkpoint.Offset != 10 || ps.CheckpointEpoch != first.Epoch {
		t.Errorf("checkpoint = %+v at epoch %d, want offset 10 at epoch %d", ps.Checkpoint, ps.CheckpointEpoch, first.Epoch)
	}
	s = f.mustApply(t, checkpoint(p, second.Epoch, 11))
	if ps, _ := s.Partition(p); ps.Checkpoint.Offset != 11 || ps.CheckpointEpoch != second.Epoch {
		t.Errorf("checkpoint = %+v at epoch %d, want offset 11 at epoch %d", ps.Checkpoint, ps.CheckpointEpoch, second.Epoch)
	}

	// An assignment computed before the move is rejected whole.
	stale := encodeJSON(kindAssign, assignCmd{Assign: []assignment{
		{Topic: "tx", Partition: 1, From: 0, Owner: "b"},
		{Topic: "tx", Partition: 0, From: first.Epoch, Owner: "a"},
	}})
	if err := f.mustReject(t, stale); !errors.Is(err, ErrStaleEpoch) {
		t.Errorf("stale assignment: %v, want ErrStaleEpoch", err)
	}
	if err := f.mustReject(t, assign(part("tx", 1), 0, "nobody")); !errors.Is(err, ErrUnknownMember) {
		t.Errorf("assignment to a non-member: %v, want ErrUnknownMember", err)
	}
}

// TestFSMEpochs moves a partition away and back, drops it and adds it
// again, and removes its owner: every change of owner gets an epoch larger
// than any before.
func TestFSMEpochs(t *testing.T) {
	f := newLogFSM()
	f.mustApply(t, addMember("a"))
	f.mustApply(t, addMember("b"))
	f.mustApply(t, setPartitions("tx", 2))
	p := part("tx", 0)
	current := func() uint64 {
		t.Helper()
		ps, ok := f.State().Partition(p)
		if !ok {
			t.Fatalf("%s unknown", p)
		}
		return ps.Epoch
	}
	var epochs []uint64
	move := func(owner string) {
		t.Helper()
		f.mustApply(t, assign(p, current(), owner))
		epochs = append(epochs, current())
	}
	move("a")
	move("b")
	move("a") // back to a: a new epoch, not a's old one
	before := f.State()
	if f.mustApply(t, assign(p, current(), "a")) != before {
		t.Error("assigning a partition to its owner changed the state")
	}
	f.mustApply(t, setPartitions("tx", 0)) // dropped
	f.mustApply(t, setPartitions("tx", 2)) // and added again
	if e := current(); e != 0 {
		t.Errorf("re-added partition at epoch %d, want 0 (unassigned)", e)
	}
	move("a")
	f.mustApply(t, removeMember("a"))
	epochs = append(epochs, current())
	for i := 1; i < len(epochs); i++ {
		if epochs[i] <= epochs[i-1] {
			t.Fatalf("epochs %v: not increasing at %d", epochs, i)
		}
	}
	if ps, _ := f.State().Partition(p); ps.Owner != "" {
		t.Errorf("owner after its removal = %q, want none", ps.Owner)
	}
}

func TestFSMMembers(t *testing.T) {
	f := newLogFSM()
	s := f.mustApply(t, addMember("a"))
	m, ok := s.Member("a")
	if !ok || m.State != MemberAlive || m.APIAddr != "a:7000" || m.Joined.Year() != 2026 {
		t.Fatalf("member a = %+v", m)
	}
	if again := f.mustApply(t, addMember("a")); again != s {
		t.Error("adding a member again with the same addresses changed the state")
	}
	moved := encodeJSON(kindAddMember, addMemberCmd{ID: "a", RaftAddr: "a2:7946", APIAddr: "a2:7000", Joined: 1})
	s = f.mustApply(t, moved)
	if m2, _ := s.Member("a"); m2.RaftAddr != "a2:7946" || !m2.Joined.Equal(m.Joined) {
		t.Errorf("member a after moving = %+v, want new addresses and the first join time", m2)
	}
	if again := f.mustApply(t, removeMember("nobody")); again != s {
		t.Error("removing a non-member changed the state")
	}
	if s = f.mustApply(t, removeMember("a")); len(s.Members()) != 0 {
		t.Errorf("members after removal = %+v", s.Members())
	}
}

func TestFSMChanged(t *testing.T) {
	f := newLogFSM()
	ch := f.Changed()
	f.mustApply(t, addMember("a"))
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by a change")
	}
	ch = f.Changed()
	f.mustApply(t, addMember("a")) // no change
	f.mustReject(t, catalog(5, "x"))
	select {
	case <-ch:
		t.Fatal("Changed closed without a change")
	default:
	}
}

func TestFSMCorruptCommands(t *testing.T) {
	f := newLogFSM()
	f.mustApply(t, setPartitions("tx", 1))
	for name, cmd := range map[string][]byte{
		"empty":            {},
		"unknown kind":     {0xff, 1, 2},
		"short catalog":    {byte(kindCatalog), 1, 2},
		"short checkpoint": {byte(kindCheckpoint), 1},
		"short v1":         {byte(kindCheckpointV1), 1},
		"short topic":      encodeCheckpoint(checkpointCmd{Partition: part("tx", 0), Epoch: 1})[:1+checkpointHeader+1],
		"bad json":         {byte(kindAddMember), '{'},
		"member state":     encodeJSON(kindAssign, assignCmd{States: []stateChange{{ID: "a", State: "?"}}}),
		"assigned twice": encodeJSON(kindAssign, assignCmd{Assign: []assignment{
			{Topic: "tx", Owner: ""}, {Topic: "tx", Owner: ""},
		}}),
		"empty topic": encodeJSON(kindSetPartitions, setPartitionsCmd{Partitions: []partitionJSON{{}}}),
	} {
		err := f.mustReject(t, cmd)
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownMember) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

func TestCommandRoundTrip(t *testing.T) {
	for _, lag := range []int64{0, 1 << 50, LagUnknown} {
		c := checkpointCmd{
			Partition: Partition{Topic: "payments.v2", Partition: 2147483647},
			Epoch:     1<<63 + 5,
			Meta:      CheckpointMeta{Offset: 1 << 40, Watermark: -1, AlertPosition: 77, Lag: lag},
		}
		enc := encodeCheckpoint(c)
		got, err := decodeCheckpoint(kind(enc[0]), enc[1:])
		if err != nil || got != c {
			t.Errorf("checkpoint round trip = %+v, %v; want %+v", got, err, c)
		}
		// A later version may append fields: this one ignores them.
		got, err = decodeCheckpoint(kind(enc[0]), append(enc[1:], 0xAA, 0xBB, 0xCC))
		if err != nil || got != c {
			t.Errorf("checkpoint with later fields = %+v, %v; want %+v", got, err, c)
		}
	}
	old := checkpointV1(Partition{Topic: "payments.v2", Partition: 3}, 9, 1000)
	got, err := decodeCheckpoint(kind(old[0]), old[1:])
	want := checkpointCmd{Partition: Partition{Topic: "payments.v2", Partition: 3}, Epoch: 9,
		Meta: CheckpointMeta{Offset: 1000, Watermark: 1000000, AlertPosition: 500, Lag: LagUnknown}}
	if err != nil || got != want {
		t.Errorf("checkpoint of the first encoding = %+v, %v; want %+v", got, err, want)
	}
	cat := catalogCmd{From: 9, Doc: []byte(`{"a":1}`)}
	enc := encodeCatalog(cat)
	gotCat, err := decodeCatalog(enc[1:])
	if err != nil || gotCat.From != 9 || string(gotCat.Doc) != `{"a":1}` {
		t.Errorf("catalog round trip = %+v, %v", gotCat, err)
	}
	enc[len(enc)-1] = 'X'
	if string(gotCat.Doc) != `{"a":1}` {
		t.Error("the decoded document shares the command's buffer")
	}
}
