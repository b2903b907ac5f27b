package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/motifcep/motif/checkpoint"
	"github.com/motifcep/motif/node"
	motifv1 "github.com/motifcep/motif/proto/gen/motif/v1"
	"github.com/motifcep/motif/proto/gen/motif/v1/motifv1connect"
	"github.com/motifcep/motif/raftstate"
)

// DefaultMaxRequestBytes bounds a request message (a publish batch).
const DefaultMaxRequestBytes = 64 << 20

// compressMinBytes is the smallest response message worth compressing.
const compressMinBytes = 8 << 10

// Options configure the handler. The zero value serves without auth.
type Options struct {
	// Token, if set, is required of every RPC as "Authorization: Bearer
	// TOKEN". Health, metrics and the status page stay open.
	Token string
	// MaxRequestBytes bounds one request message (DefaultMaxRequestBytes).
	MaxRequestBytes int
	// Version is the server's version, reported by GetStatus.
	Version string
	// Collectors are exported on /metrics beside the node's own (the
	// server's alert sink, say).
	Collectors []prometheus.Collector
	// Cluster, if set, is the cluster the node belongs to: it serves the
	// cluster calls of AdminService and the cluster part of GetStatus.
	Cluster Cluster
	Logger  *slog.Logger
}

// Cluster is what the API needs of a cluster member (package cluster).
type Cluster interface {
	// Join adds a node (forwarded to the leader if need be) and returns
	// the leader's id.
	Join(ctx context.Context, id, raftAddr, apiAddr string) (leaderID string, err error)
	// Remove decommissions a node.
	Remove(ctx context.Context, id string) error
	// ApplyForwarded applies a follower's replicated write on the leader
	// and returns its log index.
	ApplyForwarded(ctx context.Context, cmd []byte) (uint64, error)
	// Status is the cluster as this node knows it.
	Status() *motifv1.ClusterStatus
	// CheckpointPartitions takes a checkpoint, or a savepoint named name
	// if it is not empty, of the store of every partition the node owns,
	// and returns the outcome of each, sorted by partition. It returns
	// when every one is complete or has failed.
	CheckpointPartitions(ctx context.Context, name string) []PartitionCheckpoint
}

// PartitionCheckpoint is the checkpoint of the store of one partition a
// cluster member owns (Cluster.CheckpointPartitions), or why there is
// none.
type PartitionCheckpoint struct {
	Partition raftstate.Partition
	Epoch     uint64 // the ownership epoch the node matches it under
	Info      checkpoint.Info
	Err       error // nil when Info is the checkpoint taken
}

// Server is the API of one node.
type Server struct {
	node    *node.Node
	opts    Options
	started time.Time
	mux     *http.ServeMux
	metrics *metrics

	subscribers atomic.Int64
	converted   alertCache
	lastFailure atomic.Pointer[checkpointFailure]
}

type checkpointFailure struct {
	at   time.Time
	name string
	err  string
}

// New returns the API of n.
func New(n *node.Node, opts Options) *Server {
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{node: n, opts: opts, started: time.Now(), mux: http.NewServeMux()}
	hopts := []connect.HandlerOption{
		connect.WithReadMaxBytes(opts.MaxRequestBytes),
		connect.WithInterceptors(s.auth()),
		// Alerts and acks are small: compressing each one costs more CPU
		// than it saves bytes (a gzip writer per message per subscriber).
		connect.WithCompressMinBytes(compressMinBytes),
		connect.WithCodec(wireCodec{&s.converted}),
	}
	s.mux.Handle(motifv1connect.NewPatternServiceHandler(&patterns{s}, hopts...))
	s.mux.Handle(motifv1connect.NewIngestServiceHandler(&ingest{s}, hopts...))
	path, alertsHandler := motifv1connect.NewAlertServiceHandler(&alerts{s}, hopts...)
	s.mux.Handle(path, batchFlushes(alertsHandler))
	s.mux.Handle(motifv1connect.NewAdminServiceHandler(&admin{s}, hopts...))
	services := []string{
		motifv1connect.PatternServiceName, motifv1connect.IngestServiceName,
		motifv1connect.AlertServiceName, motifv1connect.AdminServiceName,
	}
	s.mux.Handle(grpchealth.NewHandler(&health{s}))
	reflector := grpcreflect.NewStaticReflector(services...)
	s.mux.Handle(grpcreflect.NewHandlerV1(reflector))
	s.mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	s.metrics = newMetrics(s)
	s.mux.Handle("/metrics", s.metrics.handler())
	s.mux.HandleFunc("/{$}", s.statusPage)
	return s
}

// ServeHTTP serves every route of the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// HTTPServer returns an http.Server for the API on addr, speaking HTTP/1.1
// and HTTP/2 without TLS (gRPC clients use HTTP/2 "prior knowledge").
func (s *Server) HTTPServer(addr string) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
}

// auth checks the bearer token of unary and streaming calls.
func (s *Server) auth() connect.Interceptor {
	return &authInterceptor{token: s.opts.Token}
}

type authInterceptor struct{ token string }

func (a *authInterceptor) check(h http.Header) error {
	if a.token == "" {
		return nil
	}
	got, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.token)) != 1 {
		return connect.NewError(connect.CodeUnauthenticated, errors.New("a valid bearer token is required"))
	}
	return nil
}

func (a *authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if err := a.check(req.Header()); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (a *authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (a *authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := a.check(conn.RequestHeader()); err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// health answers gRPC health checks: serving while the node runs.
type health struct{ s *Server }

func (h *health) Check(_ context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	switch req.Service {
	case "", motifv1connect.PatternServiceName, motifv1connect.IngestServiceName,
		motifv1connect.AlertServiceName, motifv1connect.AdminServiceName:
	default:
		return nil, connect.NewError(connect.CodeNotFound, errors.New("unknown service "+req.Service))
	}
	st, err := h.s.node.Status()
	if err != nil || !st.Running {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

// rpcError turns a node error into an RPC error with the right code.
func rpcError(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	code := connect.CodeInternal
	switch {
	case errors.Is(err, context.Canceled):
		code = connect.CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		code = connect.CodeDeadlineExceeded
	case errors.Is(err, node.ErrNotFound), errors.Is(err, checkpoint.ErrNotFound):
		code = connect.CodeNotFound
	case errors.Is(err, node.ErrInvalid), errors.Is(err, checkpoint.ErrInvalid):
		code = connect.CodeInvalidArgument
	case errors.Is(err, checkpoint.ErrExists):
		code = connect.CodeAlreadyExists
	case errors.Is(err, node.ErrExternalInput):
		code = connect.CodeFailedPrecondition
	case errors.Is(err, node.ErrCursorGone):
		code = connect.CodeOutOfRange
	case errors.Is(err, node.ErrConflict):
		code = connect.CodeAborted
	case errors.Is(err, node.ErrNotRunning), errors.Is(err, node.ErrNodeStopped), errors.Is(err, checkpoint.ErrClosed):
		code = connect.CodeUnavailable
	}
	return connect.NewError(code, err)
}
