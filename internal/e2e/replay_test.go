package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/motifcep/motif/api"
	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/internal/workload"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
	"github.com/motifcep/motif/proto/gen/motif/v1/motifv1connect"

	"github.com/motifcep/motif/internal/wait"
)

// The fraud workload of the proofs: 8000 events over 100 cards, which
// raise about a hundred alerts of every pattern of workload.FraudPatterns
// (mostly velocity bursts: few cards, many authorisations each).
const (
	fraudEvents = 8000
	fraudKeys   = 100
	fraudSeed   = 7
)

var fraudPatternNames = []string{"account_takeover", "card_testing", "impossible_travel", "login_without_mfa", "refund_abuse", "velocity_burst"}

// A live server, fed a fraud workload in batches over a real socket by a
// client that subscribed from the start, delivers exactly the alerts that
// the offline replay of the same events raises: the same ids, the same
// JSON (but detected_at), in the same order, each once, with strictly
// increasing sequence numbers. Once with the plain grpc-go stubs (unary
// Publish), once with the Connect protocol through package client (the
// streaming Publisher and the Subscribe iterator).
func TestGRPCGoClientEqualsReplay(t *testing.T) {
	lines, tick := fraudInput(t, fraudEvents, fraudKeys, fraudSeed)
	input := append(lines[:len(lines):len(lines)], tick)
	want := reference(t, fraudSet(t), input)
	perPattern := map[string]int{}
	for _, w := range want {
		perPattern[patternOf(w)]++
	}
	for _, p := range fraudPatternNames {
		if perPattern[p] == 0 {
			t.Errorf("the fixture raises no %s alert (per pattern: %v): make it larger", p, perPattern)
		}
	}
	t.Logf("%d events, %d reference alerts %v", len(input), len(want), perPattern)

	t.Run("grpc-go", func(t *testing.T) {
		srv := startServer(t, nil, api.Options{})
		cc := grpcConn(t, srv.addr)
		ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
		defer cancel()

		res, err := motifv1.NewPatternServiceClient(cc).ApplyPatterns(ctx, &motifv1.ApplyPatternsRequest{
			Files: []*motifv1.SourceFile{{Name: "fraud.motif", Content: workload.FraudPatterns}},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkCreated(t, res.GetResults(), res.GetDiagnostics())

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

		ingest := motifv1.NewIngestServiceClient(cc)
		for i, b := range batches(input, 250) {
			res, err := ingest.Publish(ctx, &motifv1.PublishRequest{Events: eventMsgs(b)})
			if err != nil {
				t.Fatalf("batch %d: %v", i, err)
			}
			if int(res.GetAccepted()) != len(b) || res.GetDuplicates() != 0 || len(res.GetRejections()) != 0 {
				t.Fatalf("batch %d of %d events: %v", i, len(b), res)
			}
		}
		admin := motifv1.NewAdminServiceClient(cc)
		settle(t, uint64(len(input)), got, func() (*motifv1.GetStatusResponse, error) {
			return admin.GetStatus(ctx, &motifv1.GetStatusRequest{})
		})
		checkExactlyOnce(t, got.alerts(), want)
	})

	t.Run("connect", func(t *testing.T) {
		srv := startServer(t, nil, api.Options{})
		c, err := client.New(srv.addr, client.WithBackoff(5*time.Millisecond, 50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
		defer cancel()

		applied, err := c.ApplyPatterns(ctx, client.File{Name: "fraud.motif", Content: []byte(workload.FraudPatterns)})
		if err != nil {
			t.Fatal(err)
		}
		if len(applied.Changes) != len(fraudPatternNames) {
			t.Fatalf("apply: %v", applied.Changes)
		}
		for _, ch := range applied.Changes {
			if ch.Action != client.Created || ch.Version != 1 {
				t.Errorf("apply: %v", ch)
			}
		}

		got := &sink{}
		sctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for a, err := range c.Subscribe(sctx, client.FromStart(), client.Filter{}) {
				if err != nil {
					got.end(err)
					return
				}
				got.add(deliveredOf(a.Seq, a.Alert))
			}
		}()
		defer func() { stop(); <-done }()

		var acks []client.Ack
		pub := c.NewPublisher(ctx, func(a client.Ack) { acks = append(acks, a) })
		bs := batches(input, 200)
		for _, b := range bs {
			if _, err := pub.Send(ctx, b...); err != nil {
				t.Fatal(err)
			}
		}
		if err := pub.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if len(acks) != len(bs) {
			t.Fatalf("%d acknowledgements for %d batches", len(acks), len(bs))
		}
		for i, a := range acks {
			if a.Err != nil || a.Accepted != len(bs[i]) || a.Duplicates != 0 || len(a.Rejections) != 0 {
				t.Fatalf("batch %d of %d events: %+v", i, len(bs[i]), a)
			}
		}
		settle(t, uint64(len(input)), got, func() (*motifv1.GetStatusResponse, error) { return c.Status(ctx) })
		checkExactlyOnce(t, got.alerts(), want)

		// A Connect client of the generated stubs lists the same log.
		ac := motifv1connect.NewAlertServiceClient(h2c(t), srv.url())
		var listed []string
		for after := uint64(0); ; {
			l, err := ac.ListAlerts(ctx, connect.NewRequest(&motifv1.ListAlertsRequest{AfterSeq: after, Limit: 500}))
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range l.Msg.GetAlerts() {
				listed = append(listed, stripDetected(a.GetAlert().GetJson()))
			}
			if len(l.Msg.GetAlerts()) == 0 || l.Msg.GetNextAfterSeq() >= l.Msg.GetLastSeq() {
				break
			}
			after = l.Msg.GetNextAfterSeq()
		}
		if len(listed) != len(want) {
			t.Fatalf("ListAlerts: %d alerts, want %d", len(listed), len(want))
		}
		for i := range want {
			if listed[i] != want[i] {
				t.Fatalf("ListAlerts: alert %d:\n got: %s\nwant: %s", i, listed[i], want[i])
			}
		}
	})
}

// settle waits until the server has matched and committed all the events
// it was sent (its committed offset is at the end of its log, and the log
// holds exactly events records), then until the subscription delivered the
// last alert of the log. After that no alert can come: an alert is
// committed with the offset of the events that raised it.
func settle(t *testing.T, events uint64, got *sink, status func() (*motifv1.GetStatusResponse, error)) settledStatus {
	t.Helper()
	var st settledStatus
	wait.Within(t, 30*time.Second, "the server to match every event", func() bool {
		res, err := status()
		if err != nil {
			t.Logf("status: %v", err)
			return false
		}
		st = statusOf(res)
		return st.end == events && st.committed == st.end
	})
	wait.Within(t, 30*time.Second, "the subscription to deliver the last alert", func() bool {
		if err := got.failure(); err != nil {
			t.Fatalf("the subscription ended: %v", err)
		}
		return got.lastSeq() >= st.lastSeq
	})
	return st
}

func checkCreated(t *testing.T, results []*motifv1.ApplyPatternsResult, diags []*motifv1.Diagnostic) {
	t.Helper()
	if len(diags) != 0 || len(results) != len(fraudPatternNames) {
		t.Fatalf("apply: %v %v", results, diags)
	}
	for _, r := range results {
		if r.GetAction() != motifv1.ApplyAction_APPLY_ACTION_CREATED || r.GetVersion() != 1 {
			t.Errorf("apply: %v", r)
		}
	}
}

func patternOf(js string) string {
	var a struct {
		Pattern string `json:"pattern"`
	}
	_ = json.Unmarshal([]byte(js), &a)
	return a.Pattern
}
