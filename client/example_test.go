package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/motifcep/motif/client"
	"github.com/motifcep/motif/internal/servertest"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
)

const cards = `event auth { card: string, amount: number }

## A tiny authorisation probes a card, then a large purchase follows.
pattern probe {
    key card
    begin small: auth where amount < 5
    followed_by big: auth where amount > 500
    within 10m
    emit high "card {card} probed"
}
`

// Register a pattern, publish events, and read the alert they raise. The
// server here runs in-process; a real program passes the address of a
// `motif serve`.
func Example() {
	srv, err := servertest.NewServer(servertest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()

	c, err := client.New(srv.Addr())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	res, err := c.ApplyPatterns(ctx, client.File{Name: "cards.motif", Content: []byte(cards)})
	if err != nil {
		log.Fatal(err)
	}
	for _, ch := range res.Changes {
		fmt.Println(ch)
	}

	ack, err := c.Publish(ctx,
		[]byte(`{"type":"auth","id":"e1","card":"c1","amount":1,"time":"2026-01-01T00:00:00Z"}`),
		[]byte(`{"type":"auth","id":"e2","card":"c1","amount":900,"time":"2026-01-01T00:01:00Z"}`),
		[]byte(`{"type":"auth","id":"e3","card":"c1","amount":"lots","time":"2026-01-01T00:02:00Z"}`),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("accepted %d, rejected %d\n", ack.Accepted, len(ack.Rejections))

	filter := client.Filter{MinSeverity: motifv1.Severity_SEVERITY_HIGH}
	for a, err := range c.Subscribe(ctx, client.FromStart(), filter) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(a.Seq, a.Alert.GetPattern(), a.Alert.GetSeverity(), a.Alert.GetMessage())
		break // a real subscriber keeps going
	}
	// Output:
	// probe v1
	// accepted 2, rejected 1
	// 1 probe SEVERITY_HIGH card c1 probed
}

// Files with errors are rejected as a whole, with every diagnostic.
func ExampleClient_ApplyPatterns_rejected() {
	srv, err := servertest.NewServer(servertest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := client.New(srv.Addr())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	bad := "event auth { amount: number }\npattern p {\n    begin a: auth where amont > 1\n}\n"
	_, err = c.ApplyPatterns(context.Background(), client.File{Name: "bad.motif", Content: []byte(bad)})
	var rej *client.RejectedError
	if errors.As(err, &rej) {
		for _, d := range rej.Diagnostics {
			fmt.Println(d)
		}
	}
	// Output:
	// bad.motif:3:25: unknown field "amont" of event auth (did you mean "amount"?)
}

// A Publisher streams batches without waiting for each acknowledgement.
func ExampleClient_NewPublisher() {
	srv, err := servertest.NewServer(servertest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := client.New(srv.Addr())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	p := c.NewPublisher(ctx, func(a client.Ack) {
		fmt.Printf("batch %d: %d accepted, %d duplicates, %d rejected\n", a.BatchID, a.Accepted, a.Duplicates, len(a.Rejections))
	})
	batches := [][][]byte{
		{[]byte(`{"type":"login","id":"l1","user":"u1"}`), []byte(`{"type":"login","id":"l2","user":"u2"}`)},
		{[]byte(`{"type":"login","id":"l2","user":"u2"}`), []byte(`{"user":"u3"}`)},
	}
	for _, b := range batches {
		if _, err := p.Send(ctx, b...); err != nil {
			log.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil { // waits for every acknowledgement
		log.Fatal(err)
	}
	// Output:
	// batch 1: 2 accepted, 0 duplicates, 0 rejected
	// batch 2: 0 accepted, 1 duplicates, 1 rejected
}

func ExampleParseCursor() {
	for _, s := range []string{"now", "start", "1041"} {
		c, err := client.ParseCursor(s)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(c)
	}
	// Output:
	// now
	// start
	// 1041
}

func ExampleAlert_JSON() {
	a := client.Alert{Seq: 12, Alert: &motifv1.Alert{Json: []byte(`{"id":"01J","pattern":"probe"}`)}}
	fmt.Println(string(a.JSON()))
	// Output:
	// {"seq":12,"id":"01J","pattern":"probe"}
}
