package client

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"
)

// Defaults of the options.
const (
	DefaultAttempts       = 10
	DefaultBackoffInitial = 100 * time.Millisecond
	DefaultBackoffMax     = 5 * time.Second
	DefaultMaxInFlight    = 32
)

// An Option configures a Client. Each one's doc says the default it
// overrides.
type Option func(*options)

type options struct {
	token       string
	httpClient  *http.Client
	tlsConfig   *tls.Config
	attempts    int
	backoffMin  time.Duration
	backoffMax  time.Duration
	grpc        bool
	logger      *slog.Logger
	maxInFlight int
}

func defaultOptions() options {
	return options{
		attempts:    DefaultAttempts,
		backoffMin:  DefaultBackoffInitial,
		backoffMax:  DefaultBackoffMax,
		maxInFlight: DefaultMaxInFlight,
	}
}

// WithToken sends token as "Authorization: Bearer TOKEN" with every call.
// Default: no token, for a server that requires none.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithHTTPClient makes the client use hc for every call. It must speak
// HTTP/2 to the server (without TLS, "prior knowledge", for an http://
// address) for streams to work; WithTLSConfig is then ignored. Default: a
// client of its own, HTTP/2 without TLS for http:// addresses and HTTP/2
// over TLS (or HTTP/1.1 where the server offers no HTTP/2) for https://,
// with a 10s dial timeout and HTTP/2 pings that detect a dead connection
// within about 45s.
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.httpClient = hc } }

// WithTLSConfig makes the client connect with TLS configured by cfg (for
// instance RootCAs holding a private CA), and makes an address without a
// scheme mean https://. Default: no TLS for host:port addresses; the
// system's roots for https:// addresses.
func WithTLSConfig(cfg *tls.Config) Option { return func(o *options) { o.tlsConfig = cfg } }

// WithRetry sets how many times in all a call that can safely be repeated
// is attempted before its error is returned: Publish, reads, and the
// acknowledgement of a Publisher batch (per stream failure). 1 disables
// retries. A call that the server never received (the connection could not
// be made) is retried whatever it is. Subscriptions are not bound by it:
// they reconnect until their context ends. Default: DefaultAttempts (10,
// about 20s with the default backoff).
func WithRetry(attempts int) Option {
	return func(o *options) { o.attempts = max(attempts, 1) }
}

// WithBackoff sets the pause before the first retry or reconnection,
// doubled after each failure up to maxDelay, with ±20% jitter. Default:
// DefaultBackoffInitial (100ms) doubling up to DefaultBackoffMax (5s).
func WithBackoff(initial, maxDelay time.Duration) Option {
	return func(o *options) {
		if initial > 0 {
			o.backoffMin = initial
		}
		if maxDelay >= o.backoffMin {
			o.backoffMax = maxDelay
		} else {
			o.backoffMax = o.backoffMin
		}
	}
}

// WithGRPC makes the client speak the gRPC protocol (for a proxy that only
// forwards gRPC). Default: the Connect protocol, which the server speaks on
// the same port.
func WithGRPC() Option { return func(o *options) { o.grpc = true } }

// WithLogger makes the client log retries and reconnections (at Warn)
// to l. Default: no logging.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithMaxInFlight bounds the batches a Publisher sends without their
// acknowledgement: Send blocks while that many are unacknowledged.
// Default: DefaultMaxInFlight (32).
func WithMaxInFlight(n int) Option {
	return func(o *options) { o.maxInFlight = max(n, 1) }
}
