package server

import (
	"net/http"

	"github.com/rfc6455/ws/handshake"
)

// IsWebSocketUpgrade reports whether r asks for a WebSocket: over HTTP/1.1,
// Upgrade: websocket and Connection: upgrade (as tokens, in any case, RFC
// 6455 §4.2.1); over HTTP/2, an extended CONNECT with :protocol websocket
// (RFC 8441). It is gorilla/websocket's IsWebSocketUpgrade, for routing one
// path to a page or to a WebSocket endpoint:
//
//	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
//		if server.IsWebSocketUpgrade(r) {
//			wsServer.ServeHTTP(w, r)
//			return
//		}
//		page.ServeHTTP(w, r)
//	})
//
// It checks nothing else: Accept (or Server) answers a request that asks
// but is not a valid handshake with the status of the rule it breaks.
func IsWebSocketUpgrade(r *http.Request) bool { return handshake.IsUpgradeRequest(r) }
