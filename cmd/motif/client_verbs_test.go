package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/motifcep/motif/internal/servertest"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"

	"github.com/motifcep/motif/internal/wait"
	"github.com/motifcep/motif/internal/workload"
)

const cardsSrc = workload.ProbePattern + `
pattern tiny {
    begin a: auth where amount < 2
    emit low "tiny {a.amount}"
}
`

// cardEvents raise, in order: tiny (e1), probe (c1), tiny (e3), probe (c2).
const cardEvents = `{"type":"auth","id":"e1","card":"c1","amount":1,"time":"2026-01-01T00:00:01Z"}
{"type":"auth","id":"e2","card":"c1","amount":900,"time":"2026-01-01T00:00:02Z"}
{"type":"auth","id":"e3","card":"c2","amount":1.5,"time":"2026-01-01T00:00:03Z"}
{"type":"auth","id":"e4","card":"c2","amount":700,"time":"2026-01-01T00:00:04Z"}
`

// motif runs the command line against the server s and returns its exit
// code, stdout and stderr.
func motif(t *testing.T, s *servertest.Server, stdin string, args ...string) (int, string, string) {
	t.Helper()
	if s != nil && len(args) > 0 {
		at := 1
		if args[0] == "patterns" {
			at = min(2, len(args))
		}
		args = append(append(append([]string{}, args[:at]...), "--server", s.Addr()), args[at:]...)
	}
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func expect(t *testing.T, what string, code int, stdout, stderr string, wantCode int, wantStdout, wantStderr string) {
	t.Helper()
	if code != wantCode || stdout != wantStdout || stderr != wantStderr {
		t.Errorf("%s: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d\nstdout:\n%s\nstderr:\n%s",
			what, code, stdout, stderr, wantCode, wantStdout, wantStderr)
	}
}

func TestPatternsVerbs(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	cards := writeFile(t, "cards.motif", cardsSrc)

	code, out, errOut := motif(t, s, "", "patterns", "apply", cards)
	expect(t, "apply", code, out, errOut, 0, "probe v1\ntiny v1\n", "")
	code, out, errOut = motif(t, s, "", "patterns", "apply", cards)
	expect(t, "apply again", code, out, errOut, 0, "probe unchanged\ntiny unchanged\n", "")
	changed := writeFile(t, "cards.motif", strings.Replace(cardsSrc, "within 10m", "within 20m", 1))
	code, out, errOut = motif(t, s, "", "patterns", "apply", "--dry-run", changed)
	expect(t, "apply --dry-run", code, out, errOut, 0, "probe v2\ntiny unchanged\n", "")
	code, out, errOut = motif(t, s, "", "patterns", "apply", changed) // --server after the file
	expect(t, "apply changed", code, out, errOut, 0, "probe v2\ntiny unchanged\n", "")

	// Diagnostics exactly as check prints them, on stderr, exit 1.
	bad := writeFile(t, "bad.motif", "event auth { amount: number }\npattern p {\n    begin a: auth where amont > 1\n}\npattern q { begin b: nope }\n")
	checkCode, _, checkErr := motif(t, nil, "", "check", bad)
	code, out, errOut = motif(t, s, "", "patterns", "apply", bad)
	expect(t, "apply of a bad file", code, out, errOut, 1, "", checkErr)
	if checkCode != 1 || strings.Count(checkErr, "\n") != 2 || !strings.HasPrefix(checkErr, bad+":3:25: ") {
		t.Errorf("check: %d %s", checkCode, checkErr)
	}

	other := writeFile(t, "other.motif", "## Big spenders.\npattern big {\n    begin a: auth where amount > 10000\n    emit critical\n}\n")
	if code, out, errOut = motif(t, s, "", "patterns", "apply", other); code != 0 {
		t.Fatalf("apply other: %s %s", out, errOut)
	}
	code, out, errOut = motif(t, s, "", "patterns", "list")
	expect(t, "list", code, out, errOut, 0, `NAME   LIVE  VERSIONS                DESCRIPTION
big    v1    v1 active               Big spenders.
probe  v2    v1 retiring, v2 active  Small probes then a big one.
tiny   v1    v1 active
`, "")

	code, out, errOut = motif(t, s, "", "patterns", "get", "tiny")
	expect(t, "get", code, out, errOut, 0, `event auth { card: string, amount: number }

pattern tiny {
    begin a: auth where amount < 2
    emit low "tiny {a.amount}"
}
`, "")
	code, out, _ = motif(t, s, "", "patterns", "get", "--version", "1", "probe")
	if code != 0 || !strings.Contains(out, "within 10m") {
		t.Errorf("get --version 1: %d %s", code, out)
	}
	code, out, errOut = motif(t, s, "", "patterns", "get", "nope")
	expect(t, "get of an unknown pattern", code, out, errOut, 1, "", "motif patterns get: not_found: pattern \"nope\": not found\n")

	code, out, errOut = motif(t, s, "", "patterns", "delete", "big")
	expect(t, "delete", code, out, errOut, 0, "big deleted\n", "")
	code, out, errOut = motif(t, s, "", "patterns", "list", "--all")
	expect(t, "list --all", code, out, errOut, 0, `NAME   LIVE  VERSIONS                DESCRIPTION
big    -     v1 retired              Big spenders.
probe  v2    v1 retiring, v2 active  Small probes then a big one.
tiny   v1    v1 active
`, "")

	for _, args := range [][]string{{"patterns"}, {"patterns", "frob"}, {"patterns", "apply"}, {"patterns", "get"},
		{"patterns", "delete", "a", "b"}, {"patterns", "list", "x"}, {"patterns", "list", "--nope"}} {
		if code, _, _ := motif(t, nil, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestPublishVerb(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	cards := writeFile(t, "cards.motif", cardsSrc)
	if code, _, errOut := motif(t, s, "", "patterns", "apply", cards); code != 0 {
		t.Fatal(errOut)
	}
	in := `{"type":"auth","id":"e1","card":"c1","amount":1,"time":"2026-01-01T00:00:01Z"}

{"type":"auth","id":"e2","card":"c1","amount":"lots"}
{"type":"auth"
{"type":"auth","id":"e3","card":"c1","amount":900,"time":"2026-01-01T00:00:02Z"}
{"card":"c1"}
{"type":"auth","id":"e4","card":"c2","amount":3,"time":"2026-01-01T00:00:03Z"}`
	for _, batch := range []string{"1000", "2", "1"} {
		s := servertest.Start(t, servertest.Options{})
		if code, _, errOut := motif(t, s, "", "patterns", "apply", cards); code != 0 {
			t.Fatal(errOut)
		}
		code, out, errOut := motif(t, s, in, "publish", "--batch", batch)
		expect(t, "publish --batch "+batch, code, out, errOut, 1, "published 3, rejected 3\n", `stdin:3: invalid event: field "amount" of event auth must be a number, got string "lots"
stdin:4: invalid JSON at byte 14: unexpected end of input, expected ',' or '}' after object field
stdin:6: missing "type" field
`)
	}

	events := writeFile(t, "events.ndjson", cardEvents)
	code, out, errOut := motif(t, s, "", "publish", "-e", events)
	expect(t, "publish -e", code, out, errOut, 0, "published 4, rejected 0\n", "")
	// Duplicates are acknowledged: they count as published, and a note says so.
	code, out, errOut = motif(t, s, cardEvents+`{"type":"auth","id":"e5","card":"c3","amount":3,"time":"2026-01-01T00:00:05Z"}`+"\n", "publish")
	expect(t, "publish again", code, out, errOut, 0, "published 5, rejected 0\n",
		"motif publish: 4 of the published events were duplicates: already stored, not appended again\n")
	code, out, errOut = motif(t, s, "", "publish")
	expect(t, "publish nothing", code, out, errOut, 0, "published 0, rejected 0\n", "")

	for _, args := range [][]string{{"publish", "x"}, {"publish", "--batch", "0"}, {"publish", "--nope"}} {
		if code, _, _ := motif(t, nil, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errOut := motif(t, s, "", "publish", "-e", filepath.Join(t.TempDir(), "none.ndjson")); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("publish of a missing file: %d %s", code, errOut)
	}
}

// withSeqs is what subscribe prints for replay's alert lines, with seqs
// from 1 (and detected_at left out).
func withSeqs(replayed string, seqs ...int) string {
	var out strings.Builder
	lines := strings.Split(strings.TrimSpace(replayed), "\n")
	for i, seq := range seqs {
		fmt.Fprintf(&out, `{"seq":%d,%s`+"\n", seq, lines[i][1:])
	}
	return out.String()
}

func TestSubscribeVerb(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	cards := writeFile(t, "cards.motif", cardsSrc)
	events := writeFile(t, "events.ndjson", cardEvents)
	if code, _, errOut := motif(t, s, "", "patterns", "apply", cards); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := motif(t, s, "", "publish", "-e", events); code != 0 {
		t.Fatal(errOut)
	}
	// The server's alerts are replay's, plus seq: same ids, same bytes.
	code, replayed, errOut := motif(t, nil, "", "replay", "-p", cards, "-e", events)
	if code != 0 {
		t.Fatal(errOut)
	}
	replayed = detectedAt.ReplaceAllString(replayed, "")
	lines := strings.Split(strings.TrimSpace(replayed), "\n")
	if len(lines) != 4 {
		t.Fatalf("replay: %s", replayed)
	}
	subscribe := func(args ...string) (int, string, string) {
		t.Helper()
		code, out, errOut := motif(t, s, "", append([]string{"subscribe"}, args...)...)
		return code, detectedAt.ReplaceAllString(out, ""), errOut
	}
	code, out, errOut := subscribe("--from", "start", "--limit", "4")
	expect(t, "subscribe --from start", code, out, errOut, 0, withSeqs(replayed, 1, 2, 3, 4), "")
	code, out, errOut = subscribe("--from", "2", "--limit", "1")
	expect(t, "subscribe --from 2", code, out, errOut, 0, withSeqs(strings.Join(lines[2:], "\n"), 3), "")
	code, out, errOut = subscribe("--from", "start", "--min-severity", "high", "--limit", "2")
	expect(t, "subscribe --min-severity high", code, out, errOut, 0, withSeqs(lines[1], 2)+withSeqs(lines[3], 4), "")
	code, out, errOut = subscribe("--from", "start", "--pattern", "tiny", "--pattern", "nope", "--idle", "300ms")
	expect(t, "subscribe --pattern tiny --idle", code, out, errOut, 0, withSeqs(lines[0], 1)+withSeqs(lines[2], 3), "")
	code, out, errOut = subscribe("--idle", "100ms") // from now: nothing new
	expect(t, "subscribe --idle", code, out, errOut, 0, "", "")

	for _, args := range [][]string{{"subscribe", "--from", "yesterday"}, {"subscribe", "--min-severity", "severe"},
		{"subscribe", "--limit", "-1"}, {"subscribe", "x"}, {"subscribe", "--idle", "soon"}} {
		if code, _, _ := motif(t, nil, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// subscribe reconnects across a restart of the server and resumes after
// its last seq.
func TestSubscribeVerbResumes(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	cards := writeFile(t, "cards.motif", cardsSrc)
	if code, _, errOut := motif(t, s, "", "patterns", "apply", cards); code != 0 {
		t.Fatal(errOut)
	}
	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := motif(t, s, "", "subscribe", "--from", "start", "--pattern", "probe", "--limit", "2")
		done <- result{code, out, errOut}
	}()
	first := strings.Join(strings.Split(cardEvents, "\n")[:2], "\n")
	if code, _, errOut := motif(t, s, first, "publish"); code != 0 {
		t.Fatal(errOut)
	}
	wait.For(t, "the first alert to be delivered", func() bool {
		st, _ := s.Node().Status()
		return st.Counters.LastAlertSeq == 2
	})
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := motif(t, s, cardEvents, "publish"); code != 0 {
		t.Fatal(errOut)
	}
	r := <-done
	out := detectedAt.ReplaceAllString(r.out, "")
	if r.code != 0 || strings.Count(out, "\n") != 2 || !strings.HasPrefix(out, `{"seq":2,`) || !strings.Contains(out, "\n"+`{"seq":4,`) {
		t.Errorf("subscribe across a restart: %d\n%s\n%s", r.code, out, r.errOut)
	}
}

var startedAt = regexp.MustCompile(`started \S+`)

func TestStatusVerb(t *testing.T) {
	s := servertest.Start(t, servertest.Options{NodeID: "n1"})
	code, out, errOut := motif(t, s, "", "status")
	expect(t, "status of a new node", code, startedAt.ReplaceAllString(out, "started T"), errOut, 0, `node:         n1
server:       test, started T
events:       0 in, 0 late, 0 invalid; published 0, 0 rejected, 0 duplicate
alerts:       0, last seq 0, 0 suppressed, 0 partial matches timed out
checkpoints:  0 taken, 0 failed, last none

SOURCE  PARTITION  COMMITTED  END  LAG  WATERMARK  IDLE  PAUSED
log     0          0          0    0    -          yes   no

no patterns
`, "")

	cards := writeFile(t, "cards.motif", cardsSrc)
	if code, _, errOut := motif(t, s, "", "patterns", "apply", cards); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := motif(t, s, cardEvents+"{}\n", "publish"); code != 1 {
		t.Fatal(errOut)
	}
	wait.For(t, "4 alerts", func() bool { st, _ := s.Node().Status(); return st.Counters.Alerts == 4 })
	code, out, errOut = motif(t, s, "", "status")
	expect(t, "status", code, startedAt.ReplaceAllString(out, "started T"), errOut, 0, `node:         n1
server:       test, started T
events:       4 in, 0 late, 0 invalid; published 4, 1 rejected, 0 duplicate
alerts:       4, last seq 4, 0 suppressed, 0 partial matches timed out
checkpoints:  0 taken, 0 failed, last none

SOURCE  PARTITION  COMMITTED  END  LAG  WATERMARK             IDLE  PAUSED
log     0          4          4    0    2026-01-01T00:00:04Z  yes   no

PATTERN  VERSION  STATE   ALERTS  SUPPRESSED  PARTIAL MATCHES  STATE BYTES
probe    v1       active  2       0           0                0
tiny     v1       active  2       0           0                0
`, "")

	code, out, errOut = motif(t, s, "", "status", "-o", "json")
	var st struct {
		NodeID     string `json:"node_id"`
		Partitions []struct {
			EndOffset string `json:"end_offset"`
			Watermark string `json:"watermark"`
		} `json:"partitions"`
		Patterns []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"patterns"`
		Counters struct {
			EventsIn string `json:"events_in"`
		} `json:"counters"`
		LastAlertSeq   string          `json:"last_alert_seq"`
		LastCheckpoint json.RawMessage `json:"last_checkpoint"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || errOut != "" {
		t.Fatalf("status -o json: %d %v\n%s\n%s", code, err, out, errOut)
	}
	if st.NodeID != "n1" || st.Partitions[0].EndOffset != "4" || st.Partitions[0].Watermark != "2026-01-01T00:00:04Z" ||
		len(st.Patterns) != 2 || st.Patterns[0].State != "PATTERN_STATE_ACTIVE" || st.Counters.EventsIn != "4" ||
		st.LastAlertSeq != "4" || string(st.LastCheckpoint) != "null" || !strings.HasPrefix(out, "{\n  \"node_id\": \"n1\",\n") {
		t.Errorf("status -o json:\n%s", out)
	}
	if code, _, _ := motif(t, s, "", "status", "-o", "yaml"); code != 2 {
		t.Errorf("-o yaml: exit %d, want 2", code)
	}
}

// --server defaults to $MOTIF_SERVER, --token to $MOTIF_TOKEN; --tls-ca
// makes the verbs trust a private CA.
func TestClientVerbFlags(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Token: "s3cret", NodeID: "n1"})
	t.Setenv("MOTIF_SERVER", s.Addr())
	t.Setenv("MOTIF_TOKEN", "")
	code, out, errOut := motif(t, nil, "", "status")
	expect(t, "status without the token", code, out, errOut, 1, "", "motif status: unauthenticated: a valid bearer token is required\n")
	if code, out, errOut = motif(t, nil, "", "status", "--token", "s3cret"); code != 0 || !strings.HasPrefix(out, "node:         n1\n") {
		t.Errorf("status --token: %d %s %s", code, out, errOut)
	}
	t.Setenv("MOTIF_TOKEN", "s3cret")
	if code, out, errOut = motif(t, nil, "", "status"); code != 0 || !strings.HasPrefix(out, "node:         n1\n") {
		t.Errorf("status with $MOTIF_TOKEN: %d %s %s", code, out, errOut)
	}

	tlsServer := servertest.Start(t, servertest.Options{TLS: true, NodeID: "n2"})
	ca := writeFile(t, "ca.pem", string(tlsServer.CAPEM()))
	if code, out, errOut = motif(t, tlsServer, "", "status", "--tls-ca", ca); code != 0 || !strings.HasPrefix(out, "node:         n2\n") {
		t.Errorf("status --tls-ca: %d %s %s", code, out, errOut)
	}
	if code, _, errOut = motif(t, tlsServer, "", "status", "--tls-ca", writeFile(t, "empty.pem", "")); code != 1 || !strings.Contains(errOut, "no PEM certificate") {
		t.Errorf("status --tls-ca of an empty file: %d %s", code, errOut)
	}
	if code, _, errOut = motif(t, nil, "", "status", "--server", "http://127.0.0.1:1"); code != 1 || !strings.Contains(errOut, "connection refused") {
		t.Errorf("status of no server: %d %s", code, errOut)
	}
}

// A cluster member's status shows the lag of every partition whose lag is
// known, whichever node owns it.
func TestPrintCluster(t *testing.T) {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	printCluster(tw, &motifv1.ClusterStatus{LeaderId: "n1", RaftState: "Follower", CatalogRevision: 3,
		Members: []*motifv1.ClusterMember{
			{NodeId: "n1", RaftAddr: "h1:7101", ApiAddr: "h1:7071", Alive: true},
			{NodeId: "n2", RaftAddr: "h2:7101", ApiAddr: "h2:7071", Alive: true},
		},
		Partitions: []*motifv1.ClusterPartition{
			{Topic: "events", Partition: 0, Owner: "n1", Epoch: 4, CommittedOffset: 100, Lag: 12,
				Watermark: timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))},
			{Topic: "events", Partition: 1, Owner: "n2", Epoch: 5, CommittedOffset: 80, Lag: 0},
			{Topic: "events", Partition: 2, Epoch: 6, Lag: -1},
		}})
	tw.Flush()
	want := `cluster:  leader n1, this node follower, catalog revision 3

MEMBER  RAFT     API      STATE
n1      h1:7101  h1:7071  alive, leader
n2      h2:7101  h2:7071  alive

TOPIC   PARTITION  OWNER       EPOCH  COMMITTED  LAG  WATERMARK
events  0          n1          4      100        12   2026-01-01T00:00:00Z
events  1          n2          5      80         0    -
events  2          unassigned  6      0          -    -
`
	if got := b.String(); got != want {
		t.Errorf("printCluster:\n%s\nwant\n%s", got, want)
	}
}
