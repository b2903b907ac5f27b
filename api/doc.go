// Package api serves a node.Node over the network: the motif.v1 services
// (patterns, ingest, alerts, admin) with connectrpc.com/connect, so one
// port speaks gRPC, gRPC-Web and Connect; gRPC health and reflection;
// Prometheus metrics at /metrics; and a plain status page at /.
//
// It only translates: proto messages to node calls and back, node errors
// to RPC codes. What a call does is the node's business.
package api
