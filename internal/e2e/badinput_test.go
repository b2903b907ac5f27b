package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/motifcep/motif/api"
	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/node"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"

	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/internal/workload"
)

const probeSrc = workload.ProbePattern

// bearer is a grpc-go per-call credential; the server speaks HTTP/2
// without TLS, so it does not require transport security.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return false }

// clock hands out increasing event times (the watermark never passes an
// event the test sends next, so none is late).
type clock struct {
	mu   sync.Mutex
	base time.Time
	sec  int
}

func (c *clock) next() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sec++
	return c.base.Add(time.Duration(c.sec) * time.Second).Format(time.RFC3339)
}

func authJSON(id, card string, amount float64, at string) []byte {
	return fmt.Appendf(nil, `{"type":"auth","id":%q,"card":%q,"amount":%g,"time":%q}`, id, card, amount, at)
}

// badInputServer is a server with small limits and a token, and clients of
// it: grpc-go with the token, and package client (Connect) with it.
type badInputServer struct {
	srv   *inproc
	cc    *grpc.ClientConn
	c     *client.Client
	clock *clock
	cards int
}

const (
	testToken      = "s3cret"
	maxBatch       = 50
	maxEventBytes  = 2048
	maxRequestSize = 64 << 10 // under maxBatch events of maxEventBytes
)

// alive proves the server still serves end to end: a probe pair on a new
// card is accepted, matched, committed, and its alert listed.
func (s *badInputServer) alive(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s.cards++
	card := fmt.Sprintf("alive-%d", s.cards)
	res, err := motifv1.NewIngestServiceClient(s.cc).Publish(ctx, &motifv1.PublishRequest{Events: eventMsgs([][]byte{
		authJSON(card+"-s", card, 1, s.clock.next()), authJSON(card+"-b", card, 900, s.clock.next()),
	})})
	if err != nil || res.GetAccepted() != 2 {
		t.Fatalf("the server no longer accepts events: %v %v", res, err)
	}
	s.waitAlert(t, card)
}

// waitAlert waits until the alert log has an alert for card.
func (s *badInputServer) waitAlert(t *testing.T, card string) *motifv1.Alert {
	t.Helper()
	var found *motifv1.Alert
	ac := motifv1.NewAlertServiceClient(s.cc)
	wait.Within(t, 20*time.Second, "the alert of "+card, func() bool {
		l, err := ac.ListAlerts(t.Context(), &motifv1.ListAlertsRequest{})
		if err != nil {
			t.Fatalf("ListAlerts: %v", err)
		}
		for _, a := range l.GetAlerts() {
			if a.GetAlert().GetKey().GetStringValue() == card {
				found = a.GetAlert()
				return true
			}
		}
		return false
	})
	return found
}

func (s *badInputServer) status(t *testing.T) *motifv1.GetStatusResponse {
	t.Helper()
	st, err := motifv1.NewAdminServiceClient(s.cc).GetStatus(t.Context(), &motifv1.GetStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// metric returns a sample of the server's /metrics (open without a token).
func metric(t *testing.T, url, name string) string {
	t.Helper()
	for line := range strings.Lines(metricsText(t, url)) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func wantGRPCCode(t *testing.T, what string, err error, code codes.Code, msg string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(status.Convert(err).Message(), msg) {
		t.Errorf("%s: %v; want %v with a message containing %q", what, err, code, msg)
	}
}

func wantConnectCode(t *testing.T, what string, err error, code connect.Code, msg string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != code || !strings.Contains(ce.Message(), msg) {
		t.Errorf("%s: %v; want %v with a message containing %q", what, err, code, msg)
	}
}

// Bad input over real sockets gets the right code and message, and the
// server goes on serving after each: malformed events are rejected one by
// one with their codes while the rest of the batch is accepted and
// matched; a batch over MaxBatchEvents is INVALID_ARGUMENT; a request over
// the API's MaxRequestBytes is RESOURCE_EXHAUSTED; unknown patterns are
// NOT_FOUND; a bad pattern file comes back as diagnostics, not an error;
// subscribers that vanish mid-stream hold back neither the others nor
// matching; a wrong or missing token is UNAUTHENTICATED; a cursor whose
// alerts retention removed is OUT_OF_RANGE.
func TestBadInputKeepsServing(t *testing.T) {
	srv := startServer(t, func(c *node.Config) {
		c.MaxBatchEvents = maxBatch
		c.MaxEventBytes = maxEventBytes
	}, api.Options{Token: testToken, MaxRequestBytes: maxRequestSize})
	s := &badInputServer{
		srv:   srv,
		cc:    grpcConn(t, srv.addr, grpc.WithPerRPCCredentials(bearer(testToken))),
		clock: &clock{base: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	var err error
	s.c, err = client.New(srv.addr, client.WithToken(testToken), client.WithBackoff(5*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.c.Close()
	if _, err := s.c.ApplyPatterns(t.Context(), client.File{Name: "probe.motif", Content: []byte(probeSrc)}); err != nil {
		t.Fatal(err)
	}
	s.alive(t)

	t.Run("malformed events", func(t *testing.T) {
		at := s.clock.next()
		batch := [][]byte{
			authJSON("m-s", "m1", 1, at),
			[]byte(`{"type":"auth","id":"m-x1"`),
			fmt.Appendf(nil, `{"id":"m-x2","card":"m1","amount":1,"time":%q}`, at),
			[]byte(`{"type":"auth","id":"m-x3","card":"m1","amount":1,"time":"yesterday"}`),
			fmt.Appendf(nil, `{"type":"auth","id":true,"card":"m1","amount":1,"time":%q}`, at),
			fmt.Appendf(nil, `{"type":"auth","id":"m-x5","card":"m1","amount":1,"time":%q,"pad":%q}`, at, strings.Repeat("x", maxEventBytes)),
			fmt.Appendf(nil, `{"type":"auth","id":"m-x6","card":"m1","amount":"lots","time":%q}`, at),
			fmt.Appendf(nil, `{"type":"auth","id":"m-x7","amount":3,"time":%q}`, at),
			authJSON("m-b", "m1", 900, s.clock.next()),
		}
		type rej struct {
			code   motifv1.EventRejectionCode
			reason string
		}
		want := map[int]rej{
			1: {motifv1.EventRejectionCode_EVENT_REJECTION_CODE_BAD_JSON, "invalid JSON at byte"},
			2: {motifv1.EventRejectionCode_EVENT_REJECTION_CODE_NO_TYPE, `missing "type" field`},
			3: {motifv1.EventRejectionCode_EVENT_REJECTION_CODE_BAD_TIME, `cannot parse "yesterday"`},
			4: {motifv1.EventRejectionCode_EVENT_REJECTION_CODE_BAD_ID, `"id" must be a string or an integer`},
			5: {motifv1.EventRejectionCode_EVENT_REJECTION_CODE_TOO_LARGE, fmt.Sprintf("exceeds the limit of %d", maxEventBytes)},
			6: {motifv1.EventRejectionCode_EVENT_REJECTION_CODE_INVALID, `field "amount" of event auth must be a number`},
			7: {motifv1.EventRejectionCode_EVENT_REJECTION_CODE_INVALID, `missing field "card"`},
		}
		check := func(how string, accepted, duplicates int, rejs []*motifv1.EventRejection) {
			t.Helper()
			if len(rejs) != len(want) {
				t.Errorf("%s: %d rejections, want %d: %v", how, len(rejs), len(want), rejs)
			}
			for _, r := range rejs {
				w, ok := want[int(r.GetIndex())]
				if !ok || r.GetCode() != w.code || !strings.Contains(r.GetReason(), w.reason) {
					t.Errorf("%s: rejection of event %d: %v %q; want %v %q", how, r.GetIndex(), r.GetCode(), r.GetReason(), w.code, w.reason)
				}
			}
			if accepted+duplicates != 2 {
				t.Errorf("%s: %d accepted, %d duplicates; want the 2 good events", how, accepted, duplicates)
			}
		}
		before := s.status(t).GetCounters().GetEventsRejected()
		res, err := motifv1.NewIngestServiceClient(s.cc).Publish(t.Context(), &motifv1.PublishRequest{Events: eventMsgs(batch)})
		if err != nil {
			t.Fatal(err)
		}
		check("grpc-go Publish", int(res.GetAccepted()), int(res.GetDuplicates()), res.GetRejections())
		if res.GetAccepted() != 2 {
			t.Errorf("first publish: %d accepted", res.GetAccepted())
		}
		// The good events of the batch were matched: their alert comes.
		a := s.waitAlert(t, "m1")
		if ids := a.GetEvents(); len(ids) != 2 || ids[0].GetEventIds()[0] != "m-s" || ids[1].GetEventIds()[0] != "m-b" {
			t.Errorf("the alert of the good events: %v", a)
		}
		// The same batch again, over Connect: the same rejections, the
		// good events now duplicates.
		cres, err := s.c.Publish(t.Context(), batch...)
		if err != nil {
			t.Fatal(err)
		}
		var crej []*motifv1.EventRejection
		for _, r := range cres.Rejections {
			crej = append(crej, &motifv1.EventRejection{Index: uint32(r.Index), Code: r.Code, Reason: r.Reason})
		}
		check("client.Publish", cres.Accepted, cres.Duplicates, crej)
		if cres.Duplicates != 2 {
			t.Errorf("the batch again: %+v; want the 2 good events as duplicates", cres)
		}
		if got := s.status(t).GetCounters().GetEventsRejected() - before; got != 2*uint64(len(want)) {
			t.Errorf("status counts %d rejected events, want %d", got, 2*len(want))
		}
		s.alive(t)
	})

	t.Run("batch over MaxBatchEvents", func(t *testing.T) {
		end := statusOf(s.status(t)).end
		var batch [][]byte
		for i := range maxBatch + 1 {
			batch = append(batch, authJSON(fmt.Sprintf("big-%d", i), "b1", 1, s.clock.next()))
		}
		msg := fmt.Sprintf("a batch of %d events exceeds the limit of %d", maxBatch+1, maxBatch)
		_, err := motifv1.NewIngestServiceClient(s.cc).Publish(t.Context(), &motifv1.PublishRequest{Events: eventMsgs(batch)})
		wantGRPCCode(t, "grpc-go Publish", err, codes.InvalidArgument, msg)
		_, err = s.c.Publish(t.Context(), batch...)
		wantConnectCode(t, "client.Publish", err, connect.CodeInvalidArgument, msg)

		// On a publish stream: the batch over the limit is refused alone,
		// in its ack; the batches around it are appended and the stream
		// goes on.
		stream, err := motifv1.NewIngestServiceClient(s.cc).PublishStream(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range [][][]byte{batch[:maxBatch], batch, batch[maxBatch:]} {
			if err := stream.Send(&motifv1.PublishStreamRequest{BatchId: uint64(i + 1), Events: eventMsgs(b)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatal(err)
		}
		var acks []string
		for {
			ack, err := stream.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			acks = append(acks, fmt.Sprintf("%d:%d/%q", ack.GetBatchId(), ack.GetAccepted(), ack.GetRefused()))
		}
		if want := fmt.Sprintf("[1:%d/\"\" 2:0/%q 3:1/\"\"]", maxBatch, msg); fmt.Sprint(acks) != want {
			t.Errorf("acks %v, want %s", acks, want)
		}
		if got := statusOf(s.status(t)).end; got != end+maxBatch+1 {
			t.Errorf("the log grew by %d events; want the %d of the batches within the limit", got-end, maxBatch+1)
		}
		s.alive(t)
	})

	t.Run("request over MaxRequestBytes", func(t *testing.T) {
		end := statusOf(s.status(t)).end
		// Few events, each under MaxEventBytes, together over the request
		// limit: the limit is the API's, checked before anything is read.
		var batch [][]byte
		size := 0
		for len(batch) < maxBatch {
			e := fmt.Appendf(nil, `{"type":"auth","id":"r-%d","card":"r1","amount":1,"time":%q,"pad":%q}`, len(batch), s.clock.next(), strings.Repeat("y", maxEventBytes-100))
			batch = append(batch, e)
			size += len(e)
		}
		if size <= maxRequestSize {
			t.Fatalf("the batch is %d bytes, not over the limit", size)
		}
		_, err := motifv1.NewIngestServiceClient(s.cc).Publish(t.Context(), &motifv1.PublishRequest{Events: eventMsgs(batch)})
		wantGRPCCode(t, "grpc-go Publish", err, codes.ResourceExhausted, fmt.Sprintf("larger than configured max %d", maxRequestSize))
		_, err = s.c.Publish(t.Context(), batch...)
		wantConnectCode(t, "client.Publish (Connect protocol)", err, connect.CodeResourceExhausted, fmt.Sprintf("larger than configured max %d", maxRequestSize))
		t.Logf("a request of %d bytes over Connect: %v", size, err)
		if got := statusOf(s.status(t)).end; got != end {
			t.Errorf("the log grew by %d events", got-end)
		}
		s.alive(t)
	})

	t.Run("unknown patterns", func(t *testing.T) {
		pc := motifv1.NewPatternServiceClient(s.cc)
		_, err := pc.GetPattern(t.Context(), &motifv1.GetPatternRequest{Name: "nope"})
		wantGRPCCode(t, "GetPattern nope", err, codes.NotFound, `pattern "nope"`)
		_, err = pc.GetPattern(t.Context(), &motifv1.GetPatternRequest{Name: "probe", Version: 9})
		wantGRPCCode(t, "GetPattern probe v9", err, codes.NotFound, `pattern "probe" has no version 9`)
		_, err = pc.DeletePattern(t.Context(), &motifv1.DeletePatternRequest{Name: "nope"})
		wantGRPCCode(t, "DeletePattern nope", err, codes.NotFound, `pattern "nope"`)
		_, err = s.c.GetPattern(t.Context(), "nope", 0)
		wantConnectCode(t, "client.GetPattern nope", err, connect.CodeNotFound, `pattern "nope"`)
		_, err = s.c.DeletePattern(t.Context(), "nope")
		wantConnectCode(t, "client.DeletePattern nope", err, connect.CodeNotFound, `pattern "nope"`)
		s.alive(t)
	})

	t.Run("bad pattern file", func(t *testing.T) {
		pc := motifv1.NewPatternServiceClient(s.cc)
		bad := []*motifv1.SourceFile{
			{Name: "typo.motif", Content: "pattern typo {\n    key card\n    begin a: auth where amont > 1\n    emit low \"x\"\n}\n"},
			{Name: "syntax.motif", Content: "pattern {\n"},
		}
		for _, dry := range []bool{false, true} {
			res, err := pc.ApplyPatterns(t.Context(), &motifv1.ApplyPatternsRequest{Files: bad, DryRun: dry})
			if err != nil {
				t.Fatalf("ApplyPatterns (dry run %v) of bad files is an RPC error: %v", dry, err)
			}
			if len(res.GetResults()) != 0 {
				t.Errorf("bad files applied: %v", res.GetResults())
			}
			files := map[string]*motifv1.Diagnostic{}
			for _, d := range res.GetDiagnostics() {
				if d.GetSeverity() == motifv1.DiagnosticSeverity_DIAGNOSTIC_SEVERITY_ERROR {
					files[d.GetFile()] = d
				}
			}
			if d := files["syntax.motif"]; d == nil || d.GetLine() != 1 || d.GetColumn() == 0 || d.GetMessage() == "" {
				t.Errorf("the syntax error: %v", res.GetDiagnostics())
			}
			// typo.motif parses; its checks run once syntax.motif is fixed.
			res, err = pc.ApplyPatterns(t.Context(), &motifv1.ApplyPatternsRequest{Files: bad[:1], DryRun: dry})
			if err != nil {
				t.Fatal(err)
			}
			if d := res.GetDiagnostics(); len(res.GetResults()) != 0 || len(d) == 0 || d[0].GetFile() != "typo.motif" || d[0].GetLine() != 3 ||
				d[0].GetSeverity() != motifv1.DiagnosticSeverity_DIAGNOSTIC_SEVERITY_ERROR || !strings.Contains(d[0].GetMessage(), "amont") {
				t.Errorf("the unknown field (dry run %v): %v", dry, res)
			}
		}
		vres, err := pc.ValidatePatterns(t.Context(), &motifv1.ValidatePatternsRequest{Files: bad[:1]})
		if err != nil || len(vres.GetDiagnostics()) == 0 || vres.GetDiagnostics()[0].GetLine() != 3 {
			t.Errorf("ValidatePatterns: %v %v", vres, err)
		}
		_, err = s.c.ApplyPatterns(t.Context(), client.File{Name: "typo.motif", Content: []byte(bad[0].Content)})
		var rejected *client.RejectedError
		if !errors.As(err, &rejected) || !strings.Contains(err.Error(), "typo.motif:3:") {
			t.Errorf("client.ApplyPatterns of a bad file: %v", err)
		}
		_, err = pc.ApplyPatterns(t.Context(), &motifv1.ApplyPatternsRequest{})
		wantGRPCCode(t, "ApplyPatterns of no files", err, codes.InvalidArgument, "no pattern files")
		// Nothing changed.
		l, err := pc.ListPatterns(t.Context(), &motifv1.ListPatternsRequest{IncludeRetired: true})
		if err != nil || len(l.GetPatterns()) != 1 || l.GetPatterns()[0].GetName() != "probe" || l.GetPatterns()[0].GetLiveVersion() != 1 {
			t.Errorf("the catalog after bad files: %v %v", l, err)
		}
		s.alive(t)
	})

	t.Run("subscribers disconnect mid-stream", func(t *testing.T) {
		// B stays and sees everything from now on.
		bctx, bstop := context.WithCancel(t.Context())
		defer bstop()
		b := &sink{}
		bdone := make(chan struct{})
		go func() {
			defer close(bdone)
			for a, err := range s.c.Subscribe(bctx, client.FromNow(), client.Filter{}) {
				if err != nil {
					b.end(err)
					return
				}
				b.add(deliveredOf(a.Seq, a.Alert))
			}
		}()
		defer func() { bstop(); <-bdone }()
		wait.Within(t, 10*time.Second, "B to subscribe", func() bool { return metric(t, srv.url(), "motif_subscribers") == "1" })

		// A1 reads one alert of the backlog and cancels its call; A2 reads
		// one and its connection is cut.
		start := &motifv1.AlertCursor{Position: &motifv1.AlertCursor_Start{Start: &emptypb.Empty{}}}
		a1ctx, a1cancel := context.WithCancel(t.Context())
		a1, err := motifv1.NewAlertServiceClient(s.cc).SubscribeAlerts(a1ctx, &motifv1.SubscribeAlertsRequest{Cursor: start})
		if err != nil {
			t.Fatal(err)
		}
		if m, err := a1.Recv(); err != nil || m.GetSeq() != 1 {
			t.Fatalf("A1: %v %v", m, err)
		}
		a1cancel()
		a2cc := grpcConn(t, srv.addr, grpc.WithPerRPCCredentials(bearer(testToken)))
		a2, err := motifv1.NewAlertServiceClient(a2cc).SubscribeAlerts(t.Context(), &motifv1.SubscribeAlertsRequest{Cursor: start})
		if err != nil {
			t.Fatal(err)
		}
		if m, err := a2.Recv(); err != nil || m.GetSeq() != 1 {
			t.Fatalf("A2: %v %v", m, err)
		}
		a2cc.Close()
		wait.Within(t, 10*time.Second, "A1 and A2 to be gone", func() bool { return metric(t, srv.url(), "motif_subscribers") == "1" })

		commits := metric(t, srv.url(), "motif_commits_total")
		last := s.status(t).GetLastAlertSeq()
		var cards []string
		for i := range 5 {
			s.cards++
			card := fmt.Sprintf("after-%d", i)
			cards = append(cards, card)
			if _, err := s.c.Publish(t.Context(), authJSON(card+"-s", card, 1, s.clock.next()), authJSON(card+"-b", card, 900, s.clock.next())); err != nil {
				t.Fatal(err)
			}
		}
		wait.Within(t, 20*time.Second, "B to receive the new alerts", func() bool {
			if err := b.failure(); err != nil {
				t.Fatalf("B ended: %v", err)
			}
			return len(b.alerts()) >= len(cards)
		})
		got := b.alerts()
		for i, d := range got {
			if d.Seq != last+uint64(i)+1 || !strings.Contains(d.JSON, `"key":"`+cards[i]+`"`) {
				t.Errorf("B's alert %d: seq %d %s; want seq %d for %s", i, d.Seq, d.JSON, last+uint64(i)+1, cards[i])
			}
		}
		st := statusOf(s.status(t))
		if st.committed != st.end || metric(t, srv.url(), "motif_commits_total") == commits {
			t.Errorf("matching stopped committing: %s, commits %s", st, metric(t, srv.url(), "motif_commits_total"))
		}
		s.alive(t)
	})

	t.Run("token", func(t *testing.T) {
		const msg = "a valid bearer token is required"
		for name, cc := range map[string]*grpc.ClientConn{
			"no token":    grpcConn(t, srv.addr),
			"wrong token": grpcConn(t, srv.addr, grpc.WithPerRPCCredentials(bearer("guess"))),
		} {
			_, err := motifv1.NewAdminServiceClient(cc).GetStatus(t.Context(), &motifv1.GetStatusRequest{})
			wantGRPCCode(t, name+": GetStatus", err, codes.Unauthenticated, msg)
			_, err = motifv1.NewIngestServiceClient(cc).Publish(t.Context(), &motifv1.PublishRequest{Events: eventMsgs([][]byte{authJSON("t-1", "t1", 1, s.clock.next())})})
			wantGRPCCode(t, name+": Publish", err, codes.Unauthenticated, msg)
			sub, err := motifv1.NewAlertServiceClient(cc).SubscribeAlerts(t.Context(), &motifv1.SubscribeAlertsRequest{})
			if err == nil {
				_, err = sub.Recv()
			}
			wantGRPCCode(t, name+": SubscribeAlerts", err, codes.Unauthenticated, msg)
			// Health stays open.
			h, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{})
			if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("%s: health: %v %v", name, h, err)
			}
		}
		wrong, err := client.New(srv.addr, client.WithToken("guess"))
		if err != nil {
			t.Fatal(err)
		}
		defer wrong.Close()
		_, err = wrong.Status(t.Context())
		wantConnectCode(t, "client.Status with a wrong token", err, connect.CodeUnauthenticated, msg)
		for _, err := range wrong.Subscribe(t.Context(), client.FromStart(), client.Filter{}) {
			wantConnectCode(t, "client.Subscribe with a wrong token", err, connect.CodeUnauthenticated, msg)
			break
		}
		if st := s.status(t); st.GetCounters().GetEventsPublished() == 0 {
			t.Errorf("status: %v", st)
		}
		s.alive(t)
	})
}

// A subscription whose cursor is before alerts that retention removed
// fails with OUT_OF_RANGE (a resuming subscriber must not skip alerts
// without knowing), and does not reconnect; the server goes on serving.
func TestOutOfRangeCursorAfterRetention(t *testing.T) {
	srv := startServer(t, func(c *node.Config) {
		c.Store.AlertRetention = checkpoint.Retention{MaxAge: time.Hour}
		c.RetentionInterval = 10 * time.Millisecond
	}, api.Options{})
	cc := grpcConn(t, srv.addr)
	c, err := client.New(srv.addr, client.WithBackoff(5*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ApplyPatterns(t.Context(), client.File{Name: "probe.motif", Content: []byte(probeSrc)}); err != nil {
		t.Fatal(err)
	}
	day1 := "2026-01-01T00:00:0%dZ"
	if _, err := c.Publish(t.Context(),
		authJSON("a-s", "a", 1, fmt.Sprintf(day1, 1)), authJSON("a-b", "a", 900, fmt.Sprintf(day1, 2)),
		authJSON("b-s", "b", 1, fmt.Sprintf(day1, 3)), authJSON("b-b", "b", 900, fmt.Sprintf(day1, 4)),
	); err != nil {
		t.Fatal(err)
	}
	ac := motifv1.NewAlertServiceClient(cc)
	wait.Within(t, 20*time.Second, "two alerts", func() bool {
		l, err := ac.ListAlerts(t.Context(), &motifv1.ListAlertsRequest{})
		return err == nil && len(l.GetAlerts()) == 2
	})
	// A day later: the watermark moves on, retention removes both.
	if _, err := c.Publish(t.Context(), []byte(`{"type":"tick","id":"t1","time":"2026-01-02T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	wait.Within(t, 20*time.Second, "retention to remove the alerts", func() bool {
		l, err := ac.ListAlerts(t.Context(), &motifv1.ListAlertsRequest{})
		return err == nil && len(l.GetAlerts()) == 0 && l.GetLastSeq() == 2
	})

	sub, err := ac.SubscribeAlerts(t.Context(), &motifv1.SubscribeAlertsRequest{Cursor: &motifv1.AlertCursor{Position: &motifv1.AlertCursor_AfterSeq{AfterSeq: 1}}})
	if err == nil {
		_, err = sub.Recv()
	}
	wantGRPCCode(t, "SubscribeAlerts after 1", err, codes.OutOfRange, "alerts 2 to 2 were removed by retention")
	_, err = ac.ListAlerts(t.Context(), &motifv1.ListAlertsRequest{AfterSeq: 1})
	wantGRPCCode(t, "ListAlerts after 1", err, codes.OutOfRange, "removed by retention")
	n := 0
	for _, err := range c.Subscribe(t.Context(), client.After(1), client.Filter{}) {
		n++
		wantConnectCode(t, "client.Subscribe after 1", err, connect.CodeOutOfRange, "removed by retention")
		if n > 1 {
			t.Fatal("client.Subscribe went on after OUT_OF_RANGE")
		}
	}

	// A cursor at the top is fine, and sees the next alert.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	top, err := ac.SubscribeAlerts(ctx, &motifv1.SubscribeAlertsRequest{Cursor: &motifv1.AlertCursor{Position: &motifv1.AlertCursor_AfterSeq{AfterSeq: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(t.Context(), authJSON("c-s", "c", 1, "2026-01-02T00:00:01Z"), authJSON("c-b", "c", 900, "2026-01-02T00:00:02Z")); err != nil {
		t.Fatal(err)
	}
	m, err := top.Recv()
	if err != nil || m.GetSeq() != 3 || m.GetAlert().GetKey().GetStringValue() != "c" {
		t.Fatalf("after the top: %v %v", m, err)
	}
}

// metricsText returns the server's /metrics page.
func metricsText(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
