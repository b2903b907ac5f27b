package client

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/motifcep/motif/proto/gen/motif/v1/motifv1connect"
)

// Client calls one Motif server. It is safe for concurrent use; Close
// releases its idle connections.
type Client struct {
	base     string
	opts     options
	hc       *http.Client
	ownHC    bool
	log      *slog.Logger
	patterns motifv1connect.PatternServiceClient
	ingest   motifv1connect.IngestServiceClient
	alerts   motifv1connect.AlertServiceClient
	admin    motifv1connect.AdminServiceClient
}

// New returns a client of the server at addr: "host:port" (http://, or
// https:// with WithTLSConfig) or a URL "http://host:port" or
// "https://host:port". It does not connect: the first call does.
func New(addr string, opts ...Option) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	base, err := baseURL(addr, o.tlsConfig != nil)
	if err != nil {
		return nil, err
	}
	c := &Client{base: base.String(), opts: o, hc: o.httpClient, log: o.logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.hc == nil {
		c.hc, c.ownHC = newHTTPClient(base, o), true
	}
	var copts []connect.ClientOption
	if o.grpc {
		copts = append(copts, connect.WithGRPC())
	}
	if o.token != "" {
		copts = append(copts, connect.WithInterceptors(bearer(o.token)))
	}
	c.patterns = motifv1connect.NewPatternServiceClient(c.hc, c.base, copts...)
	c.ingest = motifv1connect.NewIngestServiceClient(c.hc, c.base, copts...)
	c.alerts = motifv1connect.NewAlertServiceClient(c.hc, c.base, copts...)
	c.admin = motifv1connect.NewAdminServiceClient(c.hc, c.base, copts...)
	return c, nil
}

// Close closes the idle connections of the client's own HTTP client (not
// those of one given with WithHTTPClient). Calls in progress go on.
func (c *Client) Close() error {
	if c.ownHC {
		c.hc.CloseIdleConnections()
	}
	return nil
}

// URL is the server's base URL.
func (c *Client) URL() string { return c.base }

func baseURL(addr string, tls bool) (*url.URL, error) {
	if addr == "" {
		return nil, fmt.Errorf("client: %w: empty server address", ErrInvalidAddress)
	}
	if !strings.Contains(addr, "://") {
		scheme := "http://"
		if tls {
			scheme = "https://"
		}
		addr = scheme + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("client: %w: %v", ErrInvalidAddress, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: %w: %q (want host:port or http(s)://host:port)", ErrInvalidAddress, addr)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

func newHTTPClient(base *url.URL, o options) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
		// Pings find a connection whose server vanished (a crash, a cut
		// network) so that a quiet subscription reconnects.
		HTTP2: &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second},
	}
	var p http.Protocols
	if base.Scheme == "http" {
		p.SetUnencryptedHTTP2(true)
	} else {
		p.SetHTTP1(true)
		p.SetHTTP2(true)
		if o.tlsConfig != nil {
			tr.TLSClientConfig = o.tlsConfig.Clone()
		}
	}
	tr.Protocols = &p
	return &http.Client{Transport: tr}
}

// bearer adds the token to every request.
type bearer string

func (b bearer) set(h http.Header) { h.Set("Authorization", "Bearer "+string(b)) }

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		b.set(req.Header())
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		b.set(conn.RequestHeader())
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

var _ connect.Interceptor = bearer("")
