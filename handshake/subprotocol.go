package handshake

import (
	"fmt"
	"net/http"
)

// ParseSubprotocols returns the subprotocols a client offers in its
// Sec-WebSocket-Protocol header lines, in the client's order (RFC 6455
// §4.1: a comma-separated list of tokens, §11.3.4: the header may be
// repeated). Errors wrap ErrProtocolHeader.
func ParseSubprotocols(h http.Header) ([]string, error) { return parseSubprotocols(h) }

func parseSubprotocols(h headerValues) ([]string, error) {
	values := h.Values("Sec-Websocket-Protocol")
	list, ok := parseTokenList(values)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrProtocolHeader, values)
	}
	return list, nil
}

// SelectSubprotocol chooses the subprotocol a server answers with: the first
// of supported, the server's list in its order of preference, that the
// client offered. The server's preference wins, not the client's: the server
// is the one that knows which of its protocols is cheapest or newest, and a
// client offering several is saying that it speaks all of them. It returns
// "" if there is no protocol in common; the server then answers without a
// Sec-WebSocket-Protocol header (RFC 6455 §4.2.2), and it is for the client
// to decide whether to go on. Names are compared exactly, as browsers
// compare the answer with their offer.
func SelectSubprotocol(offered, supported []string) string {
	for _, s := range supported {
		for _, o := range offered {
			if s == o {
				return s
			}
		}
	}
	return ""
}
