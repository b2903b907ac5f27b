// Package api translates the gRPC/Connect API (proto/motif/v1) into calls on
// the engine: patterns, ingest, alert subscriptions and admin.
//
// Not yet implemented: Motif's verbs are offline (check, fmt, replay).
package api
