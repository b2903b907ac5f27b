// Package node is one Motif server node, without its transport: the pattern
// catalog (apply, list, get, delete, with versions), ingest into the
// embedded log (validated, idempotent by event id), the matching pipeline,
// alert subscriptions from a cursor, checkpoints and status. Package api
// turns the gRPC/Connect API into calls on a Node; cmd/motif serve runs it.
//
// One node holds one embedded log partition and one pipeline over it.
// Partitioned sources (Kafka) and clusters build on the same parts.
package node
