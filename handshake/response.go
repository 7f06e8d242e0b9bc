package handshake

import (
	"fmt"
	"net/http"
	"slices"
)

// Offer is what a client sent in its opening handshake, which its check of
// the server's response needs.
type Offer struct {
	// Key is the Sec-WebSocket-Key sent (unused over HTTP/2).
	Key string
	// Subprotocols are the subprotocols offered.
	Subprotocols []string
	// Extensions are the extension offers sent.
	Extensions []Extension
}

// Negotiated is what a server agreed to in a valid response.
type Negotiated struct {
	// Subprotocol is the subprotocol chosen, or "" for none.
	Subprotocol string
	// Extensions are the extensions accepted, with the server's
	// parameters, in the order of the response. Their parameters are not
	// checked here; that is each extension's own business.
	Extensions []Extension
}

// CheckResponse checks a server's answer to a client's opening handshake
// (RFC 6455 §4.1, the client's checks of the response, items 1 to 6) and
// returns what was negotiated. Over HTTP/1.1:
//
//	status 101 Switching Protocols                         ErrStatus
//	Upgrade holds "websocket" (case-insensitive)           ErrResponseUpgrade
//	Connection holds "upgrade" (case-insensitive)          ErrResponseConnection
//	Sec-WebSocket-Accept is AcceptKey(offer.Key)           ErrAccept
//	Sec-WebSocket-Extensions: only offered names, once     ErrExtension
//	Sec-WebSocket-Protocol: one offered subprotocol        ErrSubprotocol
//
// Over HTTP/2 and later (resp.ProtoMajor >= 2, RFC 8441 §5) a 2xx status
// replaces the first four checks.
func CheckResponse(resp *http.Response, offer Offer) (*Negotiated, error) {
	if resp.ProtoMajor >= 2 {
		// RFC 8441 §5: a 2xx status code completes the handshake.
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, fmt.Errorf("%w: got %s", ErrStatus, resp.Status)
		}
	} else {
		// Item 1: any status other than 101 ends the handshake.
		if resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("%w: got %s", ErrStatus, resp.Status)
		}
		// Item 2.
		if !headerHasToken(resp.Header, "Upgrade", "websocket") {
			return nil, fmt.Errorf("%w: got %q", ErrResponseUpgrade, resp.Header.Values("Upgrade"))
		}
		// Item 3.
		if !headerHasToken(resp.Header, "Connection", "upgrade") {
			return nil, fmt.Errorf("%w: got %q", ErrResponseConnection, resp.Header.Values("Connection"))
		}
		// Item 4: the value is compared exactly, after trimming (net/http
		// trims header values).
		accepts := resp.Header.Values("Sec-Websocket-Accept")
		if want := AcceptKey(offer.Key); len(accepts) != 1 || accepts[0] != want {
			return nil, fmt.Errorf("%w: got %q, want %q", ErrAccept, accepts, want)
		}
	}
	n := new(Negotiated)
	// Item 5: an extension the client did not offer fails the connection.
	exts, err := ParseExtensions(resp.Header)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrExtension, err)
	}
	for i, e := range exts {
		offered := slices.ContainsFunc(offer.Extensions, func(o Extension) bool { return o.Name == e.Name })
		if !offered {
			return nil, fmt.Errorf("%w: %q", ErrExtension, e.Name)
		}
		if slices.ContainsFunc(exts[:i], func(o Extension) bool { return o.Name == e.Name }) {
			return nil, fmt.Errorf("%w: %q accepted twice", ErrExtension, e.Name)
		}
	}
	n.Extensions = exts
	// Item 6: a subprotocol the client did not offer fails the connection;
	// the server selects at most one (§4.2.2, /subprotocol/).
	protos := resp.Header.Values("Sec-Websocket-Protocol")
	switch {
	case len(protos) == 0:
	case len(protos) > 1:
		return nil, fmt.Errorf("%w: server chose %d: %q", ErrSubprotocol, len(protos), protos)
	case !slices.Contains(offer.Subprotocols, protos[0]):
		return nil, fmt.Errorf("%w: %q not in %q", ErrSubprotocol, protos[0], offer.Subprotocols)
	default:
		n.Subprotocol = protos[0]
	}
	return n, nil
}
