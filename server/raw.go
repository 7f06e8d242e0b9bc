package server

import (
	"crypto/tls"
	"net/http"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/handshake"
)

// Negotiated is a successful opening handshake decided by NegotiateRaw: the
// options of the connection to serve and the 101 response to send.
type Negotiated struct {
	p plan
}

// NegotiateRaw applies the checks and negotiations of Accept and
// UpgradeConn to a request head parsed by handshake.ParseRequest, for
// servers that read requests from their own sockets without blocking (the
// event loop of package loop): the same statuses, origin policy,
// subprotocol and permessage-deflate negotiation and hooks. remote (the
// client's address) and state (the TLS connection's state, nil without
// TLS) fill the *http.Request built for a hook of opts that takes one. On
// failure the error wraps the failed rule's sentinel, as Accept's do, and
// AppendError gives the answer to send.
func NegotiateRaw(raw *handshake.RawRequest, remote string, state *tls.ConnectionState, opts *Options) (*Negotiated, error) {
	if opts == nil {
		opts = &Options{}
	}
	q := request{raw: raw, remote: remote, tls: state}
	n := new(Negotiated)
	if err := negotiate(&q, opts, nil, &n.p); err != nil {
		return nil, err
	}
	return n, nil
}

// Conn returns the options of the connection: Options.Conn with the
// negotiated Subprotocol and Compression (and what NegotiateExtensions
// changed). The caller may change them before using them.
func (n *Negotiated) Conn() *ws.Options { return &n.p.conn }

// Request returns what the client asked for.
func (n *Negotiated) Request() *handshake.Request { return n.p.request() }

// AppendResponse appends the 101 Switching Protocols response (RFC 6455
// §4.2.2 item 5) to b, as UpgradeConn writes it.
func (n *Negotiated) AppendResponse(b []byte) []byte { return appendResponse(b, &n.p) }

// AppendError appends to b the answer to a handshake that failed with err
// (from NegotiateRaw, handshake.ParseRequest, or ErrRequestTooLarge), as
// UpgradeConn writes it: the rule's status (handshake.Status), its headers,
// a one-line text and "Connection: close".
func AppendError(b []byte, err error) []byte {
	return appendRawError(b, (*http.Request)(nil), err)
}
