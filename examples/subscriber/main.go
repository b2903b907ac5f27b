// Command subscriber is a small fraud-alert consumer built on package
// client: it subscribes to the alerts of severity high and above of a Motif
// server, prints each one, and records the sequence number of the last
// alert it handled in a state file, so that after a restart it resumes
// right after it.
//
// # README
//
// Start a server with the example patterns, publish the example events,
// and run the subscriber from the repository's root:
//
//	motif serve --patterns examples/fraud.motif &
//	motif publish -e examples/events.ndjson
//	go run ./examples/subscriber -from start -state /tmp/fraud.seq
//
// It prints one line per alert (sequence number, severity, pattern, key and
// message) and keeps running: publish more events and their alerts appear.
// Stop it with Ctrl-C and start it again: it reads the state file and
// resumes after the last alert it printed, whatever the server did in the
// meantime. While the server restarts, the subscription reconnects by
// itself. The state file is written (atomically) after an alert is
// handled, so a crash between the two hands that one alert over again on
// the next start: handling must tolerate a repeat, for instance by keying
// on the alert's id. -server (default $MOTIF_SERVER, then 127.0.0.1:7070),
// -token (default $MOTIF_TOKEN) and -min-severity select the server and
// the alerts; -from (now or start) says where a first run, without a state
// file, begins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/motifcep/motif/client"
)

func main() {
	server := flag.String("server", envOr("MOTIF_SERVER", "127.0.0.1:7070"), "server `ADDR`")
	token := flag.String("token", os.Getenv("MOTIF_TOKEN"), "bearer `TOKEN`")
	state := flag.String("state", "fraud-subscriber.seq", "`FILE` holding the seq of the last alert handled")
	minSeverity := flag.String("min-severity", "high", "least severity `S` to deliver")
	from := flag.String("from", "now", "where a first run starts: now or start")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("subscriber: ")

	sev, err := client.ParseSeverity(*minSeverity)
	if err != nil {
		log.Fatal(err)
	}
	cursor, err := startCursor(*state, *from)
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(*server, client.WithToken(*token))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log.Printf("subscribing to %s from %s", c.URL(), cursor)
	for a, err := range c.Subscribe(ctx, cursor, client.Filter{MinSeverity: sev}) {
		if err != nil {
			if ctx.Err() != nil {
				return // interrupted
			}
			log.Fatal(err)
		}
		handle(a)
		if err := saveSeq(*state, a.Seq); err != nil {
			log.Fatal(err)
		}
	}
}

// handle is where a real consumer would open a case or page someone.
func handle(a client.Alert) {
	al := a.Alert
	sev := strings.ToLower(strings.TrimPrefix(al.GetSeverity().String(), "SEVERITY_"))
	fmt.Printf("#%d %s %s v%d key=%s: %s\n", a.Seq, sev, al.GetPattern(), al.GetVersion(), al.GetKey().AsInterface(), al.GetMessage())
}

// startCursor resumes after the seq in the state file, or starts at from.
func startCursor(path, from string) (client.Cursor, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if from != "now" && from != "start" {
			return client.Cursor{}, fmt.Errorf("-from %q: want now or start", from)
		}
		return client.ParseCursor(from)
	}
	if err != nil {
		return client.Cursor{}, err
	}
	seq, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return client.Cursor{}, fmt.Errorf("%s: %w", path, err)
	}
	return client.After(seq), nil
}

// saveSeq replaces the state file atomically: a crash leaves the old seq
// or the new one, never a torn file.
func saveSeq(path string, seq uint64) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := fmt.Fprintf(tmp, "%d\n", seq); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
