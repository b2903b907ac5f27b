package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/motifcep/motif/client"
)

// defaultServer is the server the client verbs call when neither --server
// nor $MOTIF_SERVER names one.
const defaultServer = "127.0.0.1:7070"

// quickRetries bounds the attempts of the calls of patterns and status: a
// person waits for them, so a server that is down fails them within a
// second. publish keeps the client's default (about 20s), subscribe
// reconnects until interrupted.
const quickRetries = 4

// clientVerb runs one of the verbs that call a server: patterns, publish,
// subscribe, status. They stop on SIGINT or SIGTERM.
func clientVerb(verb string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch verb {
	case "patterns":
		return patternsVerb(ctx, args, stdout, stderr)
	case "publish":
		return publishVerb(ctx, args, stdin, stdout, stderr)
	case "subscribe":
		return subscribeVerb(ctx, args, stdout, stderr)
	case "status":
		return statusVerb(ctx, args, stdout, stderr)
	}
	fmt.Fprintf(stderr, "motif: unknown verb %q\n", verb)
	return 2
}

// serverFlags are the flags every client verb takes.
type serverFlags struct {
	server, token, tlsCA string
}

func addServerFlags(fs *flag.FlagSet) *serverFlags {
	f := &serverFlags{}
	server := os.Getenv("MOTIF_SERVER")
	if server == "" {
		server = defaultServer
	}
	fs.StringVar(&f.server, "server", server, "server `ADDR`: host:port or http(s)://host:port (default $MOTIF_SERVER, then "+defaultServer+")")
	fs.StringVar(&f.token, "token", os.Getenv("MOTIF_TOKEN"), "bearer `TOKEN` the server requires (default $MOTIF_TOKEN)")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "connect with TLS, trusting the CA certificates of PEM `FILE`")
	return f
}

// dial returns a client of the server the flags name.
func (f *serverFlags) dial(opts ...client.Option) (*client.Client, error) {
	if f.token != "" {
		opts = append(opts, client.WithToken(f.token))
	}
	if f.tlsCA != "" {
		pem, err := os.ReadFile(f.tlsCA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", f.tlsCA)
		}
		opts = append(opts, client.WithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	return client.New(f.server, opts...)
}

// parseInterspersed parses flags that may follow positional arguments
// (`motif patterns apply a.motif --server X`); "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// failed reports a failed call on stderr and returns exit code 1.
func failed(stderr io.Writer, verb string, err error) int {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "motif %s: interrupted\n", verb)
	} else {
		fmt.Fprintf(stderr, "motif %s: %v\n", verb, err)
	}
	return 1
}
