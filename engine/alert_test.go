package engine

import (
	"fmt"
	"slices"
	"testing"

	"github.com/motifcep/motif/alert"
	"github.com/motifcep/motif/event"
	"github.com/motifcep/motif/nfa"
)

// TestAlertStagesInPatternOrder checks how an alert lists a match's events:
// stages in pattern order, each stage's events in the order taken, a stage
// that took none left out; and that the stages' id lists, which share an
// array, do not overwrite one another when a consumer appends to one.
func TestAlertStagesInPatternOrder(t *testing.T) {
	e, _ := newEngine(t, `pattern p {
    key k
    within 1m
    begin a: A
    followed_by g+: (
        begin b: B
        followed_by c: C
    )
    followed_by d?: D
    followed_by e: E
}`, Config{})
	rt := e.patterns[0]
	stage := func(name string) int32 {
		i := slices.IndexFunc(rt.prog.Stages, func(s nfa.Stage) bool { return s.Name == name })
		if i < 0 {
			t.Fatalf("no stage %q", name)
		}
		return int32(i)
	}
	taken := func(name, id string) nfa.MatchEvent {
		return nfa.MatchEvent{Stage: stage(name), Event: &event.Event{ID: id}}
	}
	mt := &nfa.Match{Events: []nfa.MatchEvent{
		taken("a", "a1"),
		taken("b", "b1"), taken("c", "c1"),
		taken("b", "b2"), taken("c", "c2"),
		taken("e", "e1"),
	}}
	a := rt.alert(e, []string{"k1"}, mt)
	want := []alert.StageEvents{
		{Stage: "a", IDs: []string{"a1"}},
		{Stage: "b", IDs: []string{"b1", "b2"}},
		{Stage: "c", IDs: []string{"c1", "c2"}},
		{Stage: "e", IDs: []string{"e1"}},
	}
	if got := fmt.Sprint(a.Events); got != fmt.Sprint(want) {
		t.Fatalf("events %s, want %s", got, fmt.Sprint(want))
	}
	a.Events[1].IDs = append(a.Events[1].IDs, "x")
	if !slices.Equal(a.Events[2].IDs, want[2].IDs) {
		t.Fatalf("appending to stage b changed stage c: %v", a.Events[2].IDs)
	}
}

// TestAlertAllocations bounds what building an alert allocates: the ids of
// all stages share one array and the stages another, so a match of many
// stages costs no more allocations than one of a single stage.
func TestAlertAllocations(t *testing.T) {
	e, _ := newEngine(t, `pattern p {
    key k
    within 1m
    begin a: A
    followed_by_any b: B
    followed_by_any c: C
}`, Config{})
	rt := e.patterns[0]
	mt := &nfa.Match{Events: []nfa.MatchEvent{
		{Stage: 0, Event: &event.Event{ID: "1"}},
		{Stage: 1, Event: &event.Event{ID: "2"}},
		{Stage: 2, Event: &event.Event{ID: "3"}},
	}}
	parts := []string{"u1"}
	one := testing.AllocsPerRun(100, func() { rt.alert(e, parts, &nfa.Match{Events: mt.Events[:1]}) })
	three := testing.AllocsPerRun(100, func() { rt.alert(e, parts, mt) })
	if three > one {
		t.Fatalf("an alert of 3 stages takes %v allocations, one of a single stage %v", three, one)
	}
}
