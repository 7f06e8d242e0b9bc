//go:build !js

package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
)

// dialProxy connects to the server through an HTTP proxy's CONNECT tunnel
// (RFC 9110 §9.3.6) and returns the tunnel.
func (d *dialer) dialProxy(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), proxyURL *url.URL) (net.Conn, error) {
	var proxyAddr string
	switch proxyURL.Scheme {
	case "http", "https":
		port := proxyURL.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[proxyURL.Scheme]
		}
		proxyAddr = net.JoinHostPort(proxyURL.Hostname(), port)
	default:
		return nil, fmt.Errorf("client: proxy scheme %q is not supported (http and https are)", proxyURL.Scheme)
	}
	nc, err := dial(ctx, "tcp", proxyAddr)
	if err != nil {
		return nil, fmt.Errorf("client: dialing proxy %s: %w", proxyAddr, err)
	}
	if proxyURL.Scheme == "https" {
		cfg := &tls.Config{ServerName: proxyURL.Hostname()}
		if d.opts.TLSConfig != nil {
			cfg = d.opts.TLSConfig.Clone()
			cfg.ServerName = proxyURL.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("client: TLS handshake with proxy %s: %w", proxyAddr, err)
		}
		nc = tc
	}
	tunnel, err := connectTunnel(ctx, nc, d.addr, proxyURL, d.opts.ProxyHeader, d.opts.MaxResponseHeaderBytes)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return tunnel, nil
}

// ProxyError is returned by Dial when the proxy refuses the CONNECT.
type ProxyError struct {
	// Proxy is the proxy's URL, without credentials.
	Proxy string
	// Response is the proxy's answer; its body is closed.
	Response *http.Response
}

// Error implements the error interface.
func (e *ProxyError) Error() string {
	return fmt.Sprintf("client: proxy %s refused CONNECT: %s", e.Proxy, e.Response.Status)
}

func connectTunnel(ctx context.Context, nc net.Conn, target string, proxyURL *url.URL, extra http.Header, maxHead int) (net.Conn, error) {
	stop := bound(ctx, nc)
	defer stop()
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: target},
		Host:   target,
		Header: make(http.Header),
	}
	for k, vs := range extra {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	if proxyURL.User != nil {
		req.Header.Set("Proxy-Authorization", basicAuth(proxyURL.User))
	}
	if err := req.Write(nc); err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("client: sending CONNECT to the proxy: %w", err))
	}
	head := newHeadLimit(nc, maxHead)
	br := bufio.NewReader(head)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("client: reading the proxy's answer: %w", head.err(err)))
	}
	head.lift()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		redacted := *proxyURL
		redacted.User = nil
		return nil, &ProxyError{Proxy: redacted.String(), Response: resp}
	}
	if stop() {
		return nil, ctx.Err()
	}
	if br.Buffered() > 0 {
		// Bytes of the tunnel that arrived with the proxy's answer.
		return &prefixConn{Conn: nc, r: br}, nil
	}
	return nc, nil
}

// prefixConn is a net.Conn read through the reader that holds its first
// bytes.
type prefixConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *prefixConn) Read(p []byte) (int, error) { return c.r.Read(p) }
