package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/motifcep/motif/api"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"

	"github.com/motifcep/motif/internal/wait"
)

// probeV2 is probeSrc changed: probes are now under 2, and the message
// says which version raised it.
var probeV2 = strings.NewReplacer("amount < 5", "amount < 2", `"card {card} probed"`, `"card {card} probed (v2)"`).Replace(probeSrc)

// at is an event time on 2026-01-01, m minutes and s seconds past midnight.
func at(m, s int) string { return fmt.Sprintf("2026-01-01T00:%02d:%02dZ", m, s) }

// A pattern changed while events flow, through the API: v1's open partial
// matches still complete after v2 is applied (their alerts say version 1)
// while v1 starts no new ones; v2 matches at once (version 2); v1 is
// RETIRING while it holds partial matches and RETIRED, in GetPattern,
// ListPatterns and GetStatus, once its windows have closed.
func TestLiveUpdateThroughAPI(t *testing.T) {
	srv := startServer(t, nil, api.Options{})
	cc := grpcConn(t, srv.addr)
	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
	defer cancel()
	pc := motifv1.NewPatternServiceClient(cc)
	ingest := motifv1.NewIngestServiceClient(cc)
	admin := motifv1.NewAdminServiceClient(cc)

	apply := func(src string, want motifv1.ApplyAction, version uint32) {
		t.Helper()
		res, err := pc.ApplyPatterns(ctx, &motifv1.ApplyPatternsRequest{Files: []*motifv1.SourceFile{{Name: "probe.motif", Content: src}}})
		if err != nil {
			t.Fatal(err)
		}
		if r := res.GetResults(); len(r) != 1 || r[0].GetName() != "probe" || r[0].GetAction() != want || r[0].GetVersion() != version {
			t.Fatalf("apply: %v", res)
		}
	}
	var published uint64
	publish := func(events ...[]byte) {
		t.Helper()
		res, err := ingest.Publish(ctx, &motifv1.PublishRequest{Events: eventMsgs(events)})
		if err != nil || int(res.GetAccepted()) != len(events) {
			t.Fatalf("publish: %v %v", res, err)
		}
		published += uint64(len(events))
		// Matched and committed before the test goes on.
		wait.Within(t, 20*time.Second, "the events to be matched", func() bool {
			st, err := admin.GetStatus(ctx, &motifv1.GetStatusRequest{})
			s := statusOf(st)
			return err == nil && s.end == published && s.committed == s.end
		})
	}
	versions := func() (v1, v2 *motifv1.PatternVersion) {
		t.Helper()
		res, err := pc.GetPattern(ctx, &motifv1.GetPatternRequest{Name: "probe"})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range res.GetPattern().GetVersions() {
			switch v.GetVersion() {
			case 1:
				v1 = v
			case 2:
				v2 = v
			}
		}
		return v1, v2
	}
	running := func() string {
		t.Helper()
		st, err := admin.GetStatus(ctx, &motifv1.GetStatusRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range st.GetPatterns() {
			out = append(out, fmt.Sprintf("%s v%d %s", p.GetName(), p.GetVersion(), p.GetState()))
		}
		return strings.Join(out, ", ")
	}

	apply(probeSrc, motifv1.ApplyAction_APPLY_ACTION_CREATED, 1)
	got := &sink{}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	stream, err := motifv1.NewAlertServiceClient(cc).SubscribeAlerts(sctx, &motifv1.SubscribeAlertsRequest{
		Cursor: &motifv1.AlertCursor{Position: &motifv1.AlertCursor_Start{Start: &emptypb.Empty{}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(done)
		for {
			m, err := stream.Recv()
			if err != nil {
				got.end(err)
				return
			}
			got.add(deliveredOf(m.GetSeq(), m.GetAlert()))
		}
	}()
	defer func() { stop(); <-done }()

	// v1 opens partial matches on four cards (probes of 3: v1's, not v2's).
	publish(authJSON("o1-s", "o1", 3, at(0, 1)), authJSON("o2-s", "o2", 3, at(0, 2)),
		authJSON("o3-s", "o3", 3, at(0, 3)), authJSON("o4-s", "o4", 3, at(0, 4)))

	apply(probeV2, motifv1.ApplyAction_APPLY_ACTION_UPDATED, 2)
	v1, v2 := versions()
	if v1.GetState() != motifv1.PatternState_PATTERN_STATE_RETIRING || v1.GetReplacedAt() == nil || v1.GetRetiredAt() != nil ||
		v2.GetState() != motifv1.PatternState_PATTERN_STATE_ACTIVE {
		t.Fatalf("after the update: v1 %v, v2 %v", v1, v2)
	}
	if src, err := pc.GetPattern(ctx, &motifv1.GetPatternRequest{Name: "probe", Version: 1}); err != nil || !strings.Contains(src.GetSource(), "amount < 5") {
		t.Errorf("GetPattern version 1: %v %v", src, err)
	}
	if r := running(); r != "probe v1 PATTERN_STATE_RETIRING, probe v2 PATTERN_STATE_ACTIVE" {
		t.Errorf("status after the update: %s", r)
	}

	// Right after the update: v1 completes o1 and o2; a probe of 3 on n1
	// starts nothing (v1 starts no new match, v2 wants under 2); v2
	// matches n2 at once.
	publish(authJSON("o1-b", "o1", 900, at(0, 10)), authJSON("o2-b", "o2", 901, at(0, 11)),
		authJSON("n1-s", "n1", 3, at(0, 12)), authJSON("n2-s", "n2", 1, at(0, 13)),
		authJSON("n1-b", "n1", 902, at(0, 14)), authJSON("n2-b", "n2", 903, at(0, 15)))
	wait.Within(t, 20*time.Second, "three alerts", func() bool { return len(got.alerts()) >= 3 })
	type view struct {
		key     string
		version uint32
		message string
	}
	var views []view
	for _, d := range got.alerts() {
		var a struct {
			Key     string `json:"key"`
			Version uint32 `json:"version"`
			Message string `json:"message"`
		}
		if err := jsonUnmarshal(d.JSON, &a); err != nil {
			t.Fatal(err)
		}
		views = append(views, view{a.Key, a.Version, a.Message})
	}
	want := []view{{"o1", 1, "card o1 probed"}, {"o2", 1, "card o2 probed"}, {"n2", 2, "card n2 probed (v2)"}}
	if fmt.Sprint(views) != fmt.Sprint(want) {
		t.Fatalf("alerts after the update: %v; want %v", views, want)
	}
	// v1 still holds o3 and o4: it is not retired yet.
	if v1, _ := versions(); v1.GetState() != motifv1.PatternState_PATTERN_STATE_RETIRING {
		t.Fatalf("v1 with open partial matches: %v", v1)
	}

	// Eleven minutes on, v1's windows on o3 and o4 (10m) have closed: it
	// holds nothing and retires.
	publish(authJSON("late-1", "n3", 50, at(11, 5)))
	wait.Within(t, 20*time.Second, "v1 to retire", func() bool {
		v1, _ := versions()
		return v1.GetState() == motifv1.PatternState_PATTERN_STATE_RETIRED
	})
	v1, v2 = versions()
	if v1.GetRetiredAt() == nil || v1.GetRetiredAt().AsTime().Before(v1.GetReplacedAt().AsTime()) || v2.GetState() != motifv1.PatternState_PATTERN_STATE_ACTIVE {
		t.Errorf("after retiring: v1 %v, v2 %v", v1, v2)
	}
	if r := running(); r != "probe v2 PATTERN_STATE_ACTIVE" {
		t.Errorf("status after retiring: %s", r)
	}
	for _, all := range []bool{false, true} {
		l, err := pc.ListPatterns(ctx, &motifv1.ListPatternsRequest{IncludeRetired: all})
		if err != nil || len(l.GetPatterns()) != 1 {
			t.Fatalf("ListPatterns: %v %v", l, err)
		}
		p := l.GetPatterns()[0]
		if n := len(p.GetVersions()); p.GetLiveVersion() != 2 || (all && n != 2) || (!all && n != 1) {
			t.Errorf("ListPatterns (include retired %v): %v", all, p)
		}
	}
	// No alert came from anything else: not from n1, not from the
	// expired matches.
	st, err := admin.GetStatus(ctx, &motifv1.GetStatusRequest{})
	if err != nil || st.GetLastAlertSeq() != 3 || len(got.alerts()) != 3 {
		t.Errorf("%d alerts delivered, last seq %d (%v); want 3", len(got.alerts()), st.GetLastAlertSeq(), err)
	}
	checkSeqs(t, got.alerts())
}

func checkSeqs(t *testing.T, got []delivered) {
	t.Helper()
	for i, d := range got {
		if d.Seq != uint64(i+1) {
			t.Errorf("alert %d has seq %d", i, d.Seq)
		}
	}
}
