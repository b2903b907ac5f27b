// Package serverbench benchmarks a Motif server end to end: a real node and
// its Connect API on 127.0.0.1 (harness.go: Server, which unlike
// servertest can serve before the node runs), driven by the real Go client
// over loopback. It has no tests; plain `go test ./...` runs nothing here.
//
// BenchmarkPublish: sustained publish of workload.Fraud events (with ids,
// the fraud patterns applied and the node matching meanwhile), by unary
// Publish from 1, 2, 4 or 8 concurrent callers and by 1-8 streaming
// Publishers, in batches of 500, 1000 or 5000 events. One op is one event;
// the events/s metric is the throughput.
//
//	go test ./internal/serverbench -run '^$' -bench Publish -benchtime 300000x -count 5
//
// BenchmarkAlertLatency: a paced publisher (a batch every millisecond on
// a streaming Publisher; 10k or 100k events/s) sends x events, one in ten
// flagged, to a node with out-of-orderness 0 whose LatencyPattern alerts
// on each flagged event; a subscriber maps every alert to its event's
// batch by the event id. ack-p50/p99-ms is from the batch's
// acknowledgement reaching the publisher to the alert reaching the
// subscriber (it can be negative: matching may see an event before its
// acknowledgement has crossed back); send-p50/p99-ms is from Send. The
// node's commit interval is the default (pipeline.DefaultCommitInterval,
// 100ms), 1ms or 5ms.
//
//	go test ./internal/serverbench -run '^$' -bench AlertLatency -benchtime 3s -count 5
//
// BenchmarkSubscribers: matching throughput (events/s from the node's
// counters) while a stopped node, restarted, drains a backlog of b.N fraud
// events in which one event in 100 is a flagged x event that alerts, with 0
// or 100 subscribers, each on its own HTTP/2 connection, receiving every
// alert. client=raw subscribers count the Connect envelopes without
// decoding them (the server's cost alone); client=go ones use
// client.Subscribe and decode every alert on the same cores.
// delivered-events/s counts until every subscriber has every alert.
//
//	go test ./internal/serverbench -run '^$' -bench Subscribers -benchtime 200000x -count 5
//
// Compare runs with benchstat; profile one configuration with
// -cpuprofile cpu.out and `go tool pprof -top`.
package serverbench
