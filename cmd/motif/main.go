// Command motif is the Motif complex event processing engine: one binary for
// the offline verbs (check, fmt, replay, bench), the server (serve) and its
// clients (patterns, publish, subscribe, status).
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `motif: complex event processing over event streams

usage:
  motif check FILE...                    check pattern files
  motif fmt [-w] FILE...                 print (or rewrite) pattern files in canonical layout
  motif replay -p FILE [-e EVENTS] ...   run patterns over NDJSON events, print alerts as NDJSON
  motif bench [flags]                    generate a workload and measure replay throughput
  motif serve [flags]                    run a node: gRPC/Connect API, metrics, status page
  motif patterns apply|list|get|delete   manage the pattern catalog of a server
  motif publish [-e FILE]                send NDJSON events to a server
  motif subscribe [--from SEQ|start|now] print a server's alerts as NDJSON
  motif status [-o json]                 show the state of a server
  motif dev kafka [flags]                run an in-memory Kafka broker for trials (not for production)

Client verbs take --server ADDR ($MOTIF_SERVER, default 127.0.0.1:7070),
--token T ($MOTIF_TOKEN) and --tls-ca FILE.

Run 'motif VERB -h' for the flags of a verb.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches a verb and returns the process exit code: 0 done, 1
// rejected input, 2 usage error.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	verb, rest := args[0], args[1:]
	switch verb {
	case "check":
		return check(rest, stdout, stderr)
	case "fmt":
		return fmtVerb(rest, stdout, stderr)
	case "replay":
		return replay(rest, stdin, stdout, stderr)
	case "bench":
		return bench(rest, stdout, stderr)
	case "serve":
		return serve(rest, stderr)
	case "dev":
		return dev(rest, stdout, stderr)
	case "patterns", "publish", "subscribe", "status":
		return clientVerb(verb, rest, stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "motif: unknown verb %q\n\n%s", verb, usage)
	return 2
}
