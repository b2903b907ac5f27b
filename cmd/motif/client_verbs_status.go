package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/motifcep/motif/client"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

// statusVerb prints the state of the node: as text, or with -o json as the
// GetStatusResponse message in the proto3 JSON mapping (field names as in
// the .proto file, every field present, 64-bit numbers as strings).
func statusVerb(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sf := addServerFlags(fs)
	var format string
	fs.StringVar(&format, "o", "text", "output `FORMAT`: text or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: motif status [-o text|json] [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (format != "text" && format != "json") {
		fs.Usage()
		return 2
	}
	c, err := sf.dial(client.WithRetry(quickRetries))
	if err != nil {
		return failed(stderr, "status", err)
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		return failed(stderr, "status", err)
	}
	if format == "json" {
		b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(st)
		if err != nil {
			return failed(stderr, "status", err)
		}
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "  "); err != nil { // protojson's spacing is unstable on purpose
			return failed(stderr, "status", err)
		}
		out.WriteByte('\n')
		_, _ = stdout.Write(out.Bytes())
		return 0
	}
	printStatus(stdout, st)
	return 0
}

func timeText(t *timestamppb.Timestamp) string {
	if t == nil {
		return "-"
	}
	return t.AsTime().UTC().Format(time.RFC3339Nano)
}

func printStatus(w io.Writer, st *motifv1.GetStatusResponse) {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	c := st.GetCounters()
	fmt.Fprintf(tw, "node:\t%s\n", st.GetNodeId())
	fmt.Fprintf(tw, "server:\t%s, started %s\n", st.GetServerVersion(), timeText(st.GetStartedAt()))
	fmt.Fprintf(tw, "events:\t%d in, %d late, %d invalid; published %d, %d rejected, %d duplicate\n",
		c.GetEventsIn(), c.GetEventsLate(), c.GetEventsInvalid(), c.GetEventsPublished(), c.GetEventsRejected(), c.GetEventsDuplicate())
	fmt.Fprintf(tw, "alerts:\t%d, last seq %d, %d suppressed, %d partial matches timed out\n",
		c.GetAlerts(), st.GetLastAlertSeq(), c.GetAlertsSuppressed(), c.GetPartialMatchesTimedOut())
	fmt.Fprintf(tw, "checkpoints:\t%d taken, %d failed, last %s\n", c.GetCheckpointsTaken(), c.GetCheckpointsFailed(), checkpointText(st.GetLastCheckpoint()))
	if f := st.GetLastCheckpointFailure(); f != nil {
		what := "checkpoint"
		if f.GetSavepointName() != "" {
			what = "savepoint " + f.GetSavepointName()
		}
		fmt.Fprintf(tw, "last failure:\t%s at %s: %s\n", what, timeText(f.GetFailedAt()), f.GetError())
	}
	if st.GetInputHeld() {
		fmt.Fprintln(tw, "input:\theld back: the alert sink is behind")
	}
	fmt.Fprintln(tw)
	if cl := st.GetCluster(); cl != nil {
		printCluster(tw, cl)
	} else {
		fmt.Fprintln(tw, "SOURCE\tPARTITION\tCOMMITTED\tEND\tLAG\tWATERMARK\tIDLE\tPAUSED")
		for _, p := range st.GetPartitions() {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", p.GetSource(), p.GetPartition(), p.GetCommittedOffset(),
				p.GetEndOffset(), p.GetLag(), timeText(p.GetWatermark()), yesNo(p.GetIdle()), yesNo(p.GetPaused()))
		}
	}
	fmt.Fprintln(tw)
	if len(st.GetPatterns()) == 0 {
		fmt.Fprintln(tw, "no patterns")
	} else {
		fmt.Fprintln(tw, "PATTERN\tVERSION\tSTATE\tALERTS\tSUPPRESSED\tPARTIAL MATCHES\tSTATE BYTES")
		for _, p := range st.GetPatterns() {
			fmt.Fprintf(tw, "%s\tv%d\t%s\t%d\t%d\t%d\t%d\n", p.GetName(), p.GetVersion(), stateName(p.GetState()),
				p.GetAlerts(), p.GetAlertsSuppressed(), p.GetPartialMatches(), p.GetStateBytes())
		}
	}
	tw.Flush()
	for line := range strings.Lines(b.String()) {
		fmt.Fprintln(w, strings.TrimRight(line, " \n"))
	}
}

// printCluster prints the cluster part of a member's status: the leader,
// the members, and every partition with its owner and progress. The lag
// of a partition another node owns is the one its owner last recorded;
// "-" when none is known.
func printCluster(tw io.Writer, cl *motifv1.ClusterStatus) {
	leader := cl.GetLeaderId()
	if leader == "" {
		leader = "none known"
	}
	fmt.Fprintf(tw, "cluster:\tleader %s, this node %s, catalog revision %d\n", leader, strings.ToLower(cl.GetRaftState()), cl.GetCatalogRevision())
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "MEMBER\tRAFT\tAPI\tSTATE")
	for _, m := range cl.GetMembers() {
		state := "alive"
		if !m.GetAlive() {
			state = "lost"
		}
		if m.GetNodeId() == cl.GetLeaderId() {
			state += ", leader"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.GetNodeId(), m.GetRaftAddr(), m.GetApiAddr(), state)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tOWNER\tEPOCH\tCOMMITTED\tLAG\tWATERMARK")
	for _, p := range cl.GetPartitions() {
		owner, lag := p.GetOwner(), "-"
		if owner == "" {
			owner = "unassigned"
		}
		if p.GetLag() >= 0 {
			lag = fmt.Sprint(p.GetLag())
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\t%s\n", p.GetTopic(), p.GetPartition(), owner, p.GetEpoch(),
			p.GetCommittedOffset(), lag, timeText(p.GetWatermark()))
	}
}

func checkpointText(cp *motifv1.Checkpoint) string {
	if cp == nil {
		return "none"
	}
	s := fmt.Sprintf("#%d", cp.GetId())
	if cp.GetSavepointName() != "" {
		s += " (savepoint " + cp.GetSavepointName() + ")"
	}
	s += fmt.Sprintf(" at %s, alert seq %d, %d bytes, took %s", timeText(cp.GetCreatedAt()), cp.GetAlertSeq(),
		cp.GetSizeBytes(), cp.GetDuration().AsDuration().Round(time.Millisecond))
	if len(cp.GetLabels()) > 0 {
		var labels []string
		for k, v := range cp.GetLabels() {
			labels = append(labels, k+"="+v)
		}
		sort.Strings(labels)
		s += ", labels " + strings.Join(labels, ",")
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
