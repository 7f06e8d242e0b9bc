package handshake

import (
	"fmt"
	"net/http"
)

// Request is what CheckRequest found in a valid opening handshake.
type Request struct {
	// Key is the client's Sec-WebSocket-Key, to be answered with
	// AcceptKey(Key). It is empty over HTTP/2, which has no key.
	Key string
	// HTTP2 reports an RFC 8441 extended CONNECT request: WebSocket on an
	// HTTP/2 stream (or HTTP/3, RFC 9220), answered with 200 OK instead of
	// 101 Switching Protocols.
	HTTP2 bool
	// Subprotocols are the subprotocols the client offers, in its order of
	// preference (Sec-WebSocket-Protocol).
	Subprotocols []string
	// Extensions are the client's extension offers, in its order of
	// preference (Sec-WebSocket-Extensions).
	Extensions []Extension
}

// CheckRequest checks that r is a WebSocket opening handshake that this
// package can accept (RFC 6455 §4.2.1) and returns what the client offered.
// The checks are made in this order, and the first that fails is reported
// with an error wrapping its sentinel:
//
//	HTTP/1.1 or later                           ErrHTTPVersion  400
//	method GET                                  ErrMethod       405
//	Host header present                         ErrHost         400
//	Upgrade holds the token "websocket"         ErrUpgrade      426
//	Connection holds the token "upgrade"        ErrConnection   426
//	Sec-WebSocket-Version is 13                 ErrVersion      426
//	Sec-WebSocket-Key: base64 of 16 bytes, once ErrKey          400
//	Sec-WebSocket-Protocol: list of tokens      ErrProtocolHeader   400
//	Sec-WebSocket-Extensions: RFC 6455 grammar  ErrExtensionsHeader 400
//
// Over HTTP/2 and later the request must instead be an extended CONNECT
// whose :protocol is "websocket" (RFC 8441 §4, §5); Upgrade, Connection
// and the key do not exist there. The origin is not checked here: see
// CheckOrigin.
func CheckRequest(r *http.Request) (*Request, error) {
	// Small enough to be inlined, so that a caller that does not keep
	// the Request has it on its stack.
	req := new(Request)
	if err := checkRequest(req, r); err != nil {
		return nil, err
	}
	return req, nil
}

// checkRequest is CheckRequest, filling req.
func checkRequest(req *Request, r *http.Request) error {
	if r.ProtoMajor >= 2 {
		return checkRequest2(req, r)
	}
	return checkRequest1(req, r.ProtoMajor, r.ProtoMinor, r.Proto, r.Method, r.Host, r.Header)
}

// headerValues is what the checks read of a request's header fields:
// http.Header, or a RawRequest parsed in place. Values takes the
// canonical form of the name.
type headerValues interface {
	Values(key string) []string
}

// checkRequest1 checks an HTTP/1.x request, from net/http or parsed in
// place (RawRequest.Check), and fills req: one copy of the rules for both.
// Failures are formatted out of line (requestError), which keeps the frame
// of this function, on the stack of every handshake, small.
func checkRequest1(req *Request, major, minor int, proto, method, host string, h headerValues) error {
	// RFC 6455 §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
	if major < 1 || major == 1 && minor < 1 {
		return requestError(ErrHTTPVersion, proto, h)
	}
	if method != http.MethodGet {
		return requestError(ErrMethod, method, h)
	}
	// RFC 6455 §4.2.1 item 2: a |Host| header field.
	if host == "" {
		return ErrHost
	}
	// RFC 6455 §4.2.1 item 3: |Upgrade| contains "websocket", compared
	// case-insensitively.
	if !headerHasToken(h, "Upgrade", "websocket") {
		return requestError(ErrUpgrade, "", h)
	}
	// RFC 6455 §4.2.1 item 4: |Connection| includes the token "Upgrade",
	// compared case-insensitively.
	if !headerHasToken(h, "Connection", "upgrade") {
		return requestError(ErrConnection, "", h)
	}
	if err := checkVersion(h); err != nil {
		return err
	}
	// RFC 6455 §4.2.1 item 5: |Sec-WebSocket-Key|, base64 of 16 bytes;
	// §11.3.1: it must not appear more than once.
	keys := h.Values("Sec-Websocket-Key") // canonical form: no allocation
	if len(keys) != 1 || !ValidKey(keys[0]) {
		return requestError(ErrKey, "", h)
	}
	req.Key = keys[0]
	return parseOffers(h, req)
}

// requestError describes the failure of checkRequest1's rule sentinel;
// got is what the request line held, for the rules about it.
//
//go:noinline
func requestError(sentinel error, got string, h headerValues) error {
	switch sentinel {
	case ErrUpgrade:
		return fmt.Errorf("%w: got %q", ErrUpgrade, h.Values("Upgrade"))
	case ErrConnection:
		return fmt.Errorf("%w: got %q", ErrConnection, h.Values("Connection"))
	case ErrKey:
		keys := h.Values("Sec-Websocket-Key")
		if len(keys) != 1 {
			return fmt.Errorf("%w: found %d headers", ErrKey, len(keys))
		}
		return fmt.Errorf("%w: got %q", ErrKey, keys[0])
	}
	return fmt.Errorf("%w: got %s", sentinel, got)
}

// checkRequest2 checks an HTTP/2 (or HTTP/3) request.
func checkRequest2(req *Request, r *http.Request) error {
	// RFC 8441 §4: the :method is CONNECT and the :protocol pseudo-header
	// names the protocol; net/http hands :protocol over in the header map.
	if r.Method != http.MethodConnect {
		return fmt.Errorf("%w: got %s over %s; WebSocket over HTTP/2 uses an extended CONNECT (RFC 8441)", ErrMethod, r.Method, r.Proto)
	}
	if p := r.Header.Get(":protocol"); p != "websocket" {
		return fmt.Errorf("%w: got %q", ErrProtocol2, p)
	}
	// RFC 8441 §5: :authority carries what Host carried.
	if r.Host == "" {
		return ErrHost
	}
	if err := checkVersion(r.Header); err != nil {
		return err
	}
	*req = Request{HTTP2: true}
	return parseOffers(r.Header, req)
}

// checkVersion enforces RFC 6455 §4.2.1 item 6: |Sec-WebSocket-Version|
// is 13. A failure is answered with 426 and the versions we speak
// (§4.2.2, §4.4); WriteError adds that header.
func checkVersion(h headerValues) error {
	vs := h.Values("Sec-Websocket-Version") // canonical form: no allocation
	if len(vs) != 1 || vs[0] != Version {
		return versionError(vs)
	}
	return nil
}

//go:noinline
func versionError(vs []string) error { return fmt.Errorf("%w: got %q", ErrVersion, vs) }

// parseOffers reads the optional |Sec-WebSocket-Protocol| and
// |Sec-WebSocket-Extensions| (RFC 6455 §4.2.1 items 8 and 9).
func parseOffers(h headerValues, req *Request) error {
	var err error
	if req.Subprotocols, err = parseSubprotocols(h); err != nil {
		return err
	}
	req.Extensions, err = parseExtensions(h)
	return err
}
