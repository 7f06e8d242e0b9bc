package handshake

import "net/http"

// IsUpgradeRequest reports whether r asks to be upgraded to WebSocket: over
// HTTP/1.x, an Upgrade header with the token "websocket" and a Connection
// header with the token "upgrade", compared case-insensitively (RFC 6455
// §4.2.1 items 3 and 4); over HTTP/2, an extended CONNECT whose :protocol
// is "websocket" (RFC 8441 §4). It checks nothing else; whether the request
// is a valid opening handshake is for CheckRequest to say, so route every
// request it reports to the WebSocket endpoint, which answers the invalid
// ones with the right status.
func IsUpgradeRequest(r *http.Request) bool {
	if r.ProtoMajor >= 2 {
		return r.Method == http.MethodConnect && r.Header.Get(":protocol") == "websocket"
	}
	return headerHasToken(r.Header, "Upgrade", "websocket") && headerHasToken(r.Header, "Connection", "upgrade")
}
