// Package client is the Go client library of the Motif server. It depends
// on nothing but the generated protobuf code.
//
// Not yet implemented: there is no server yet.
package client
