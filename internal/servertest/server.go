// Package servertest runs a real Motif node and its API in-process on a
// loopback socket, for the tests of programs that use package client: the
// server a test talks to is the real one, not a fake, and it can be stopped
// and restarted on the same data directory and address to test recovery.
//
// Unlike package client it depends on the server's packages (node, api).
package servertest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/motifcep/motif/api"
	"github.com/motifcep/motif/node"
)

// Options configure a Server. The zero value serves plain HTTP/2 without
// auth from a new temporary directory.
type Options struct {
	// Dir is the data directory; empty means a new temporary directory,
	// removed by Close.
	Dir string
	// Token, if set, is required of every call (api.Options.Token).
	Token string
	// TLS serves HTTPS with a self-signed certificate for 127.0.0.1; CAPEM
	// returns it for the client to trust.
	TLS bool
	// NodeID names the node in its status; default "test".
	NodeID string
	// Node, if set, adjusts the node's configuration before each start.
	Node func(*node.Config)
	// API, if set, adjusts the API's options (Token is set from Token
	// before it is called).
	API func(*api.Options)
}

// Server is a running (or stopped) node and its API.
type Server struct {
	opts    Options
	dir     string
	tempDir bool
	addr    string
	cert    *tls.Certificate
	certPEM []byte

	mu      sync.Mutex
	n       *node.Node
	srv     *http.Server
	cancel  context.CancelFunc
	ran     chan error
	served  chan struct{}
	running bool
}

// NewServer starts a node and its API on 127.0.0.1 and a free port, and
// waits until the node runs. Close stops it.
func NewServer(opts Options) (*Server, error) {
	s := &Server{opts: opts, dir: opts.Dir}
	if s.dir == "" {
		d, err := os.MkdirTemp("", "motif-servertest-")
		if err != nil {
			return nil, err
		}
		s.dir, s.tempDir = d, true
	}
	if opts.TLS {
		if err := s.makeCert(); err != nil {
			s.removeDir()
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.removeDir()
		return nil, err
	}
	s.addr = ln.Addr().String()
	if err := s.start(ln); err != nil {
		s.removeDir()
		return nil, err
	}
	return s, nil
}

// Start is NewServer for a test: it fails the test on error and closes the
// server when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := NewServer(opts)
	if err != nil {
		tb.Fatalf("servertest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("servertest: close: %v", err)
		}
	})
	return s
}

// Addr is the server's address, host:port.
func (s *Server) Addr() string { return s.addr }

// URL is the server's base URL: http://host:port, or https:// with TLS.
func (s *Server) URL() string {
	if s.cert != nil {
		return "https://" + s.addr
	}
	return "http://" + s.addr
}

// Dir is the node's data directory.
func (s *Server) Dir() string { return s.dir }

// CAPEM is the PEM certificate a client must trust to reach a TLS server;
// nil without TLS.
func (s *Server) CAPEM() []byte { return s.certPEM }

// Node is the running node; nil while stopped.
func (s *Server) Node() *node.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *Server) start(ln net.Listener) error {
	cfg := node.Config{Dir: s.dir, ID: s.opts.NodeID, CommitInterval: time.Millisecond, CheckpointInterval: -1}
	if cfg.ID == "" {
		cfg.ID = "test"
	}
	if s.opts.Node != nil {
		s.opts.Node(&cfg)
	}
	n, err := node.Open(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- n.Run(ctx) }()
	aopts := api.Options{Token: s.opts.Token, Version: "test"}
	if s.opts.API != nil {
		s.opts.API(&aopts)
	}
	srv := api.New(n, aopts).HTTPServer("")
	if s.cert != nil {
		srv.Protocols.SetHTTP2(true)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*s.cert}, MinVersion: tls.VersionTLS12}
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if s.cert != nil {
			_ = srv.ServeTLS(ln, "", "")
		} else {
			_ = srv.Serve(ln)
		}
	}()
	s.mu.Lock()
	s.n, s.srv, s.cancel, s.ran, s.served, s.running = n, srv, cancel, ran, served, true
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, _ := n.Status(); st.Running {
			return nil
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return errors.New("the node did not start running")
		}
		time.Sleep(time.Millisecond)
	}
}

// Stop stops the node (its subscriptions end with UNAVAILABLE), then the
// API server, and closes the data directory. The address stays reserved
// for Restart only in the sense that nothing else in the test should take
// it.
func (s *Server) Stop() error {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return nil
	}
	n, srv, cancel, ran, served := s.n, s.srv, s.cancel, s.ran, s.served
	s.n, s.running = nil, false
	s.mu.Unlock()

	cancel()
	runErr := <-ran
	// An idle HTTP/2 connection delays a graceful shutdown by a second
	// (the GOAWAY timeout), and publish streams stay open: cut them soon.
	ctx, stop := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer stop()
	if srv.Shutdown(ctx) != nil {
		_ = srv.Close()
	}
	<-served
	closeErr := n.Close()
	return errors.Join(runErr, closeErr)
}

// Restart stops the server if it runs and starts it again on the same
// data directory and address.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	var ln net.Listener
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("servertest: listen again on %s: %w", s.addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s.start(ln)
}

// Close stops the server and removes its data directory if NewServer made
// it.
func (s *Server) Close() error {
	err := s.Stop()
	s.removeDir()
	return err
}

func (s *Server) removeDir() {
	if s.tempDir {
		_ = os.RemoveAll(s.dir)
	}
}

// makeCert makes a self-signed certificate for 127.0.0.1 and localhost.
func (s *Server) makeCert() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "motif servertest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	s.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	s.cert = &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return nil
}
