// Package e2e holds the end-to-end proofs of the server: real sockets on
// 127.0.0.1, real clients (plain grpc-go stubs, Connect, package client),
// a real `motif serve` process killed with SIGKILL and restarted, and the
// offline replay as the reference the live server must equal. It has no
// code outside its tests.
package e2e
