package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"time"

	"connectrpc.com/connect"
)

// backoff is the pause before retry number attempt (from 0).
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.backoffMin
	for i := 0; i < attempt && d < c.opts.backoffMax; i++ {
		d *= 2
	}
	d = min(d, c.opts.backoffMax)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// sleep pauses before retry number attempt; it fails when ctx ends first.
func (c *Client) sleep(ctx context.Context, attempt int) error {
	t := time.NewTimer(c.backoff(attempt))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// notSent reports whether err says the request never reached the server
// (the connection could not be made): any call may be repeated then.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// transient reports whether err may go away by itself (the server is
// restarting, the connection broke, the call timed out on the server's
// side), so that a call that is safe to repeat should be. Errors after ctx
// ended are final.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil || untrusted(err) {
		return false
	}
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeUnknown, connect.CodeAborted, connect.CodeInternal,
		// The context is alive, so these come from the transport: a broken
		// connection (ECONNRESET maps to Canceled) or a deadline of the
		// server's.
		connect.CodeCanceled, connect.CodeDeadlineExceeded:
		return true
	}
	return false
}

// unary makes a unary call, attempting it again on an error that is
// transient when the call is safe to repeat, and on an error that says it
// was never sent otherwise.
func unary[Req, Res any](ctx context.Context, c *Client, safe bool, name string, msg *Req,
	call func(context.Context, *connect.Request[Req]) (*connect.Response[Res], error)) (*Res, error) {
	for attempt := 0; ; attempt++ {
		res, err := call(ctx, connect.NewRequest(msg))
		if err == nil {
			return res.Msg, nil
		}
		retry := notSent(err) || (safe && transient(ctx, err))
		if !retry || attempt+1 >= c.opts.attempts || ctx.Err() != nil {
			return nil, err
		}
		c.log.Warn("motif client: retrying", "call", name, "attempt", attempt+2, "err", err)
		if c.sleep(ctx, attempt) != nil {
			return nil, err
		}
	}
}

// untrusted reports whether err is a TLS failure that retrying cannot cure:
// the server's certificate is not trusted, or it does not speak TLS.
func untrusted(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &unknown) ||
		errors.As(err, &hostname) || errors.As(err, &invalid)
}
