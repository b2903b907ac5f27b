package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/motifcep/motif/node"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
	"github.com/motifcep/motif/proto/gen/motif/v1/motifv1connect"

	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/internal/workload"
)

// serve runs a node and its API on a real socket; it returns the address.
func serve(t *testing.T, opts Options) string {
	t.Helper()
	n, err := node.Open(node.Config{Dir: t.TempDir(), CommitInterval: time.Millisecond, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(n, opts).HTTPServer("")
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		<-served
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		n.Close()
	})
	wait.For(t, "the node to run", func() bool { st, _ := n.Status(); return st.Running })
	return ln.Addr().String()
}

const probeSrc = workload.ProbePattern

func authEvent(id, card string, amount float64, sec int) *motifv1.Event {
	return &motifv1.Event{Json: fmt.Appendf(nil, `{"type":"auth","id":%q,"card":%q,"amount":%g,"time":"2026-01-01T00:00:%02dZ"}`, id, card, amount, sec)}
}

// A plain grpc-go client registers a pattern, publishes, and receives the
// alert on a subscription; health answers SERVING.
func TestGRPCClient(t *testing.T) {
	addr := serve(t, Options{})
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	hc, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", hc, err)
	}

	pc := motifv1.NewPatternServiceClient(cc)
	ok, err := pc.ApplyPatterns(ctx, &motifv1.ApplyPatternsRequest{Files: []*motifv1.SourceFile{{Name: "cards.motif", Content: probeSrc}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := ok.GetResults(); len(r) != 1 || r[0].GetName() != "probe" || r[0].GetVersion() != 1 || r[0].GetAction() != motifv1.ApplyAction_APPLY_ACTION_CREATED {
		t.Errorf("apply: %v", ok)
	}

	bad, err := pc.ApplyPatterns(ctx, &motifv1.ApplyPatternsRequest{Files: []*motifv1.SourceFile{{Name: "bad.motif", Content: "pattern p { begin a: auth where amont > 1 }"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad.GetDiagnostics()) == 0 || bad.GetDiagnostics()[0].GetFile() != "bad.motif" || bad.GetDiagnostics()[0].GetLine() != 1 || len(bad.GetResults()) != 0 {
		t.Errorf("diagnostics (the catalog's declaration of auth in force): %v", bad)
	}
	sub, err := motifv1.NewAlertServiceClient(cc).SubscribeAlerts(ctx, &motifv1.SubscribeAlertsRequest{
		Cursor: &motifv1.AlertCursor{Position: &motifv1.AlertCursor_AfterSeq{AfterSeq: 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := motifv1.NewIngestServiceClient(cc).Publish(ctx, &motifv1.PublishRequest{Events: []*motifv1.Event{
		authEvent("e1", "c1", 1, 1), {Json: []byte(`{"type":"auth"`)}, authEvent("e2", "c1", 900, 2),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetAccepted() != 2 || len(res.GetRejections()) != 1 || res.GetRejections()[0].GetCode() != motifv1.EventRejectionCode_EVENT_REJECTION_CODE_BAD_JSON {
		t.Errorf("publish: %v", res)
	}
	got, err := sub.Recv()
	if err != nil {
		t.Fatal(err)
	}
	a := got.GetAlert()
	if got.GetSeq() != 1 || a.GetPattern() != "probe" || a.GetKey().GetStringValue() != "c1" || a.GetSeverity() != motifv1.Severity_SEVERITY_HIGH ||
		a.GetMessage() != "card c1 probed" || len(a.GetEvents()) != 2 || a.GetEvents()[0].GetEventIds()[0] != "e1" || !strings.Contains(string(a.GetJson()), `"id":"`+a.GetId()+`"`) {
		t.Errorf("alert: %v", got)
	}
}

// The Connect protocol on the same port: streaming publish with acks per
// batch, idempotent retries, list and get, status, metrics and the page.
func TestConnectClient(t *testing.T) {
	addr := serve(t, Options{})
	base := "http://" + addr
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc := motifv1connect.NewPatternServiceClient(hc, base)
	if _, err := pc.ApplyPatterns(ctx, connect.NewRequest(&motifv1.ApplyPatternsRequest{Files: []*motifv1.SourceFile{{Name: "cards.motif", Content: probeSrc}}})); err != nil {
		t.Fatal(err)
	}
	got, err := pc.GetPattern(ctx, connect.NewRequest(&motifv1.GetPatternRequest{Name: "probe"}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Msg.GetPattern().GetDescription() != "Small probes then a big one." || !strings.Contains(got.Msg.GetSource(), "event auth") || !strings.Contains(got.Msg.GetSource(), "pattern probe") {
		t.Errorf("get: %v", got.Msg)
	}
	if _, err := pc.GetPattern(ctx, connect.NewRequest(&motifv1.GetPatternRequest{Name: "nope"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("get of an unknown pattern: %v", err)
	}

	stream := motifv1connect.NewIngestServiceClient(hc, base).PublishStream(ctx)
	batches := [][]*motifv1.Event{
		{authEvent("e1", "c1", 1, 1), authEvent("e2", "c2", 2, 2)},
		{authEvent("e3", "c1", 700, 3)},
		{authEvent("e1", "c1", 1, 1), authEvent("e3", "c1", 700, 3)}, // a retry
	}
	for i, b := range batches {
		if err := stream.Send(&motifv1.PublishStreamRequest{BatchId: uint64(10 + i), Events: b}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseRequest(); err != nil {
		t.Fatal(err)
	}
	var acks []string
	for {
		ack, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		acks = append(acks, fmt.Sprintf("%d:%d/%d", ack.GetBatchId(), ack.GetAccepted(), ack.GetDuplicates()))
	}
	if err := stream.CloseResponse(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(acks) != "[10:2/0 11:1/0 12:0/2]" {
		t.Errorf("acks %v", acks)
	}

	ac := motifv1connect.NewAlertServiceClient(hc, base)
	wait.For(t, "the alert", func() bool {
		l, err := ac.ListAlerts(ctx, connect.NewRequest(&motifv1.ListAlertsRequest{}))
		return err == nil && len(l.Msg.GetAlerts()) == 1
	})
	l, _ := ac.ListAlerts(ctx, connect.NewRequest(&motifv1.ListAlertsRequest{Filter: &motifv1.AlertFilter{MinSeverity: motifv1.Severity_SEVERITY_CRITICAL}}))
	if len(l.Msg.GetAlerts()) != 0 || l.Msg.GetLastSeq() != 1 {
		t.Errorf("a filter for critical alerts: %v", l.Msg)
	}

	st, err := motifv1connect.NewAdminServiceClient(hc, base).GetStatus(ctx, connect.NewRequest(&motifv1.GetStatusRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if c := st.Msg.GetCounters(); c.GetEventsIn() != 3 || c.GetAlerts() != 1 || c.GetEventsDuplicate() != 2 || len(st.Msg.GetPatterns()) != 1 {
		t.Errorf("status: %v", st.Msg)
	}
	body := httpGet(t, base+"/metrics")
	for _, want := range []string{`motif_alerts_total{pattern="probe",version="1"} 1`, `motif_events_duplicate_total 2`, `motif_running 1`,
		`motif_partial_matches{pattern="probe",version="1"} `, `motif_state_bytes{pattern="probe",version="1"} `, "motif_busy_seconds_total "} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if page := httpGet(t, base+"/"); !strings.Contains(page, "<td>probe</td>") {
		t.Errorf("status page: %s", page)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
	}
	return string(b)
}

// With a token set, calls without it are refused; health stays open.
func TestToken(t *testing.T) {
	addr := serve(t, Options{Token: "s3cret"})
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx := context.Background()
	ac := motifv1.NewAdminServiceClient(cc)
	if _, err := ac.GetStatus(ctx, &motifv1.GetStatusRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("without a token: %v", err)
	}
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer s3cret")
	if _, err := ac.GetStatus(authed, &motifv1.GetStatusRequest{}); err != nil {
		t.Errorf("with the token: %v", err)
	}
	if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health without a token: %v", err)
	}
}
