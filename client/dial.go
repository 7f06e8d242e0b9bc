//go:build !js

package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/handshake"
)

// Dial opens a WebSocket connection to rawURL (ws://host[:port]/path?query
// or wss://...; http and https are accepted as their aliases) and performs
// the opening handshake (RFC 6455 §4.1). It returns the connection and the
// server's response, whose body is empty. opts may be nil.
//
// ctx bounds the dial and the handshake, as does opts.HandshakeTimeout; it
// does not bound the connection afterwards. When the server does not answer
// with a valid 101, Dial returns a *HandshakeError and, with it, the
// response.
func Dial(ctx context.Context, rawURL string, opts *Options) (*ws.Conn, *http.Response, error) {
	if opts == nil {
		opts = &Options{}
	}
	opts = withCompression(opts)
	d, err := prepare(rawURL, opts)
	if err != nil {
		return nil, nil, err
	}
	timeout := opts.HandshakeTimeout
	if timeout == 0 {
		timeout = DefaultHandshakeTimeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	nc, err := d.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, resp, err := d.handshake(ctx, nc)
	if err != nil {
		nc.Close()
		return nil, resp, err
	}
	return c, resp, nil
}

// connect dials the server, through a proxy if there is one, and runs the
// TLS handshake for wss.
func (d *dialer) connect(ctx context.Context) (net.Conn, error) {
	proxyFn := d.opts.Proxy
	if proxyFn == nil {
		proxyFn = http.ProxyFromEnvironment
	}
	// Proxy functions look at http and https URLs.
	proxyURL, err := proxyFn(d.req)
	if err != nil {
		return nil, fmt.Errorf("client: choosing a proxy: %w", err)
	}
	dial := d.opts.DialContext
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	var nc net.Conn
	if proxyURL != nil {
		nc, err = d.dialProxy(ctx, dial, proxyURL)
	} else {
		nc, err = dial(ctx, "tcp", d.addr)
		if err != nil {
			err = fmt.Errorf("client: dialing %s: %w", d.addr, err)
		}
	}
	if err != nil {
		return nil, err
	}
	if !d.secure {
		return nc, nil
	}
	cfg := d.opts.TLSConfig.Clone()
	if cfg == nil {
		cfg = new(tls.Config)
	}
	if cfg.ServerName == "" {
		cfg.ServerName = d.u.Hostname()
	}
	// The handshake is HTTP/1.1 (RFC 6455 §4.1); a server that picked h2
	// would not understand it.
	cfg.NextProtos = []string{"http/1.1"}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("client: TLS handshake with %s: %w", d.addr, err)
	}
	return tc, nil
}

// handshake sends the request on nc and checks the response.
func (d *dialer) handshake(ctx context.Context, nc net.Conn) (*ws.Conn, *http.Response, error) {
	stop := bound(ctx, nc)
	defer stop()
	head := newHeadLimit(nc, d.opts.MaxResponseHeaderBytes)
	br := bufio.NewReader(head)
	if err := d.req.Write(nc); err != nil {
		return nil, nil, ctxErr(ctx, fmt.Errorf("client: sending the handshake: %w", err))
	}
	resp, err := http.ReadResponse(br, d.req)
	if err != nil {
		return nil, nil, ctxErr(ctx, fmt.Errorf("client: reading the handshake response: %w", head.err(err)))
	}
	head.lift() // the head is read; an error response's body has its own bound
	n, err := handshake.CheckResponse(resp, handshake.Offer{
		Key:          d.key,
		Subprotocols: d.opts.Subprotocols,
		Extensions:   d.opts.Extensions,
	})
	if err != nil {
		// Keep the body readable after the connection is gone.
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBodySize))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil && ctx.Err() != nil {
			return nil, resp, ctx.Err()
		}
		return nil, resp, &HandshakeError{StatusCode: resp.StatusCode, Response: resp, Err: err}
	}
	connOpts := d.opts.Conn
	connOpts.Subprotocol = n.Subprotocol
	if len(d.opts.Extensions) > 0 {
		if err := d.opts.AcceptExtensions(n.Extensions, &connOpts); err != nil {
			return nil, resp, &HandshakeError{StatusCode: resp.StatusCode, Response: resp, Err: fmt.Errorf("%w: %w", handshake.ErrExtension, err)}
		}
	}
	if stop() {
		// ctx ended just as the handshake completed; its deadline may
		// be on nc.
		return nil, resp, ctx.Err()
	}
	// Frames the server sent right behind its response are in br.
	var buffered []byte
	if k := br.Buffered(); k > 0 {
		b, _ := br.Peek(k)
		buffered = slices.Clone(b)
	}
	return ws.NewConn(nc, buffered, ws.RoleClient, &connOpts), resp, nil
}

// headLimit reads a response head through a bound: once n bytes have been
// read, reads fail with ErrResponseTooLarge until lift is called. Without
// it, http.ReadResponse reads a header line of any length into memory.
type headLimit struct {
	r      io.Reader
	n, max int
	lifted bool
}

func newHeadLimit(r io.Reader, max int) *headLimit {
	if max <= 0 {
		max = DefaultMaxResponseHeaderBytes
	}
	return &headLimit{r: r, n: max, max: max}
}

func (h *headLimit) Read(p []byte) (int, error) {
	if h.lifted {
		return h.r.Read(p)
	}
	if h.n <= 0 {
		return 0, ErrResponseTooLarge
	}
	if len(p) > h.n {
		p = p[:h.n]
	}
	n, err := h.r.Read(p)
	h.n -= n
	return n, err
}

// lift removes the bound.
func (h *headLimit) lift() { h.lifted = true }

// err turns the error of a read cut by the bound into a clear one.
func (h *headLimit) err(err error) error {
	if errors.Is(err, ErrResponseTooLarge) {
		return fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, h.max)
	}
	return err
}

// bound applies ctx to I/O on nc until stop is called: its deadline, and
// its cancellation, which moves the deadline to the past. stop clears the
// deadline and reports whether ctx ended meanwhile (and so may have left a
// deadline behind); calling it again does nothing more.
func bound(ctx context.Context, nc net.Conn) (stop func() (ended bool)) {
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
	}
	unregister := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	var done, ended bool
	return func() bool {
		if !done {
			done = true
			ended = !unregister()
			nc.SetDeadline(time.Time{})
		}
		return ended
	}
}

// ctxErr reports ctx's error in place of the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	cerr := ctx.Err()
	var ne net.Error
	if cerr == nil && errors.As(err, &ne) && ne.Timeout() {
		// The connection's deadline, which is ctx's, can pass an instant
		// before ctx itself reports it.
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			cerr = context.DeadlineExceeded
		}
	}
	if cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

// basicAuth encodes credentials for Basic authentication (RFC 7617).
func basicAuth(u *url.Userinfo) string {
	pw, _ := u.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw))
}
