package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestIsWebSocketUpgrade(t *testing.T) {
	for _, tc := range []struct {
		name   string
		proto  int
		method string
		header map[string][]string
		want   bool
	}{
		{"a browser's handshake", 1, "GET", map[string][]string{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}}, true},
		{"tokens in any case", 1, "GET", map[string][]string{"Upgrade": {"WebSocket"}, "Connection": {"keep-alive, UPGRADE"}}, true},
		{"Firefox's Connection", 1, "GET", map[string][]string{"Upgrade": {"websocket"}, "Connection": {"keep-alive, Upgrade"}}, true},
		{"tokens over several lines", 1, "GET", map[string][]string{"Upgrade": {"h2c", "websocket"}, "Connection": {"close", "upgrade"}}, true},
		{"another method still asks (Accept answers 405)", 1, "POST", map[string][]string{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}}, true},
		{"a plain request", 1, "GET", nil, false},
		{"no Connection: upgrade", 1, "GET", map[string][]string{"Upgrade": {"websocket"}}, false},
		{"another protocol", 1, "GET", map[string][]string{"Upgrade": {"h2c"}, "Connection": {"Upgrade"}}, false},
		{"a token's prefix is not the token", 1, "GET", map[string][]string{"Upgrade": {"websockets"}, "Connection": {"Upgrade"}}, false},
		{"HTTP/2 extended CONNECT", 2, "CONNECT", map[string][]string{":protocol": {"websocket"}}, true},
		{"HTTP/2 CONNECT for another protocol", 2, "CONNECT", map[string][]string{":protocol": {"webtransport"}}, false},
		{"HTTP/2 GET with HTTP/1 headers", 2, "GET", map[string][]string{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}}, false},
	} {
		r := httptest.NewRequest(tc.method, "/", nil)
		r.ProtoMajor = tc.proto
		r.Header = http.Header(tc.header)
		if r.Header == nil {
			r.Header = http.Header{}
		}
		if got := IsWebSocketUpgrade(r); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
