package handshake

import (
	"bufio"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestAcceptKeyRFCExample(t *testing.T) {
	// RFC 6455 §1.3.
	if got, want := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Fatalf("AcceptKey = %q, want %q", got, want)
	}
}

func TestNewKeyIsValidAndFresh(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		k := NewKey()
		if !ValidKey(k) {
			t.Fatalf("NewKey() = %q is not a valid key", k)
		}
		if seen[k] {
			t.Fatalf("NewKey() repeated %q", k)
		}
		seen[k] = true
	}
}

func TestValidKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"dGhlIHNhbXBsZSBub25jZQ==", true},
		{"AAAAAAAAAAAAAAAAAAAAAA==", true},
		{"", false},
		{"dGhlIHNhbXBsZSBub25jZQ", false},           // unpadded
		{"dGhlIHNhbXBsZSBub25jZQ=", false},          // short padding
		{"dGhlIHNhbXBsZSBub25jZQ===", false},        // 25 characters
		{"dGhlIHNhbXBsZSBub25jZSE=", false},         // 17 bytes
		{"dGhlIHNhbXBsZSBub25jZQ-=", false},         // not base64
		{"dGhlIHNhbXBsZSBub25jZ\nQ=", false},        // CR/LF skipped by base64
		{"AAAAAAAAAAAAAAAAAAAAAB==", false},         // non-canonical trailing bits
		{"aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ=", false}, // 23 bytes
	} {
		if got := ValidKey(tc.key); got != tc.want {
			t.Errorf("ValidKey(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
}

const validRequest = "GET /chat HTTP/1.1\r\n" +
	"Host: server.example.com\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"\r\n"

func readRequest(t *testing.T, raw string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("ReadRequest(%q): %v", raw, err)
	}
	return r
}

// edit returns validRequest with the line starting with prefix replaced by
// repl (which may be empty, dropping it, or hold several lines).
func edit(prefix, repl string) string {
	lines := strings.SplitAfter(validRequest, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			if repl != "" {
				repl += "\r\n"
			}
			lines[i] = repl
			return strings.Join(lines, "")
		}
	}
	panic("no line " + prefix)
}

func TestCheckRequestAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want Request
	}{
		{"RFC example", validRequest, Request{Key: "dGhlIHNhbXBsZSBub25jZQ=="}},
		{"Upgrade in other case", edit("Upgrade:", "Upgrade: WebSocket"), Request{Key: "dGhlIHNhbXBsZSBub25jZQ=="}},
		{"Upgrade list", edit("Upgrade:", "Upgrade: h2c, websocket"), Request{Key: "dGhlIHNhbXBsZSBub25jZQ=="}},
		{"Connection list", edit("Connection:", "Connection: keep-alive, Upgrade"), Request{Key: "dGhlIHNhbXBsZSBub25jZQ=="}},
		{"Connection repeated", edit("Connection:", "Connection: keep-alive\r\nConnection: upgrade"), Request{Key: "dGhlIHNhbXBsZSBub25jZQ=="}},
		{"HTTP/1.2", strings.Replace(validRequest, "HTTP/1.1", "HTTP/1.2", 1), Request{Key: "dGhlIHNhbXBsZSBub25jZQ=="}},
		{
			"subprotocols and extensions",
			edit("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13\r\n"+
				"Sec-WebSocket-Protocol: chat, superchat\r\n"+
				"Sec-WebSocket-Protocol: v2.json\r\n"+
				"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n"+
				"Sec-WebSocket-Extensions: permessage-deflate"),
			Request{
				Key:          "dGhlIHNhbXBsZSBub25jZQ==",
				Subprotocols: []string{"chat", "superchat", "v2.json"},
				Extensions: []Extension{
					{Name: "permessage-deflate", Params: []Param{{Name: "client_max_window_bits"}}},
					{Name: "x-foo"},
					{Name: "permessage-deflate"},
				},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckRequest(readRequest(t, tc.raw))
			if err != nil {
				t.Fatalf("CheckRequest: %v", err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("CheckRequest = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestCheckRequestRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		raw    string
		want   error
		status int
	}{
		{"POST", strings.Replace(validRequest, "GET", "POST", 1), ErrMethod, 405},
		{"HTTP/1.0", strings.Replace(validRequest, "HTTP/1.1", "HTTP/1.0", 1), ErrHTTPVersion, 400},
		{"no Host", edit("Host:", ""), ErrHost, 400},
		{"no Upgrade", edit("Upgrade:", ""), ErrUpgrade, 426},
		{"Upgrade other protocol", edit("Upgrade:", "Upgrade: h2c"), ErrUpgrade, 426},
		{"Upgrade token as substring", edit("Upgrade:", "Upgrade: websockets"), ErrUpgrade, 426},
		{"no Connection", edit("Connection:", ""), ErrConnection, 426},
		{"Connection keep-alive", edit("Connection:", "Connection: keep-alive"), ErrConnection, 426},
		{"no version", edit("Sec-WebSocket-Version:", ""), ErrVersion, 426},
		{"version 8", edit("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 8"), ErrVersion, 426},
		{"version repeated", edit("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13"), ErrVersion, 426},
		{"no key", edit("Sec-WebSocket-Key:", ""), ErrKey, 400},
		{"key short", edit("Sec-WebSocket-Key:", "Sec-WebSocket-Key: c2hvcnQ="), ErrKey, 400},
		{"key not base64", edit("Sec-WebSocket-Key:", "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!!!"), ErrKey, 400},
		{"key repeated", edit("Sec-WebSocket-Key:", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), ErrKey, 400},
		{"protocol not a token", edit("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, a b"), ErrProtocolHeader, 400},
		{"extensions malformed", edit("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: foo; =1"), ErrExtensionsHeader, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckRequest(readRequest(t, tc.raw))
			if !errors.Is(err, tc.want) {
				t.Fatalf("CheckRequest error = %v, want %v", err, tc.want)
			}
			if got := Status(err); got != tc.status {
				t.Fatalf("Status = %d, want %d", got, tc.status)
			}
		})
	}
}

func TestCheckRequestHTTP2(t *testing.T) {
	h2 := func(method, protocol string) *http.Request {
		r := httptest.NewRequest(method, "https://example.com/ws", nil)
		r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
		if protocol != "" {
			r.Header.Set(":protocol", protocol)
		}
		r.Header.Set("Sec-WebSocket-Version", "13")
		r.Header.Set("Sec-WebSocket-Protocol", "chat")
		return r
	}
	got, err := CheckRequest(h2("CONNECT", "websocket"))
	if err != nil {
		t.Fatalf("CheckRequest: %v", err)
	}
	if want := (Request{HTTP2: true, Subprotocols: []string{"chat"}}); !reflect.DeepEqual(*got, want) {
		t.Fatalf("CheckRequest = %+v, want %+v", *got, want)
	}
	if _, err := CheckRequest(h2("GET", "")); !errors.Is(err, ErrMethod) {
		t.Errorf("GET over HTTP/2: error %v, want ErrMethod", err)
	}
	if _, err := CheckRequest(h2("CONNECT", "")); !errors.Is(err, ErrProtocol2) {
		t.Errorf("plain CONNECT: error %v, want ErrProtocol2", err)
	}
	if _, err := CheckRequest(h2("CONNECT", "webtransport")); !errors.Is(err, ErrProtocol2) {
		t.Errorf(":protocol webtransport: error %v, want ErrProtocol2", err)
	}
	r := h2("CONNECT", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "8")
	if _, err := CheckRequest(r); !errors.Is(err, ErrVersion) {
		t.Errorf("version 8 over HTTP/2: error %v, want ErrVersion", err)
	}
}

func TestWriteErrorHeaders(t *testing.T) {
	for _, tc := range []struct {
		err    error
		h2     bool
		status int
		header string
		value  string
	}{
		{ErrMethod, false, 405, "Allow", "GET"},
		{ErrMethod, true, 405, "Allow", "CONNECT"},
		{ErrVersion, false, 426, "Sec-WebSocket-Version", "13"},
		{ErrUpgrade, false, 426, "Upgrade", "websocket"},
		{ErrConnection, false, 426, "Upgrade", "websocket"},
		{ErrOrigin, false, 403, "Content-Type", "text/plain; charset=utf-8"},
		{errors.New("other"), false, 500, "Content-Type", "text/plain; charset=utf-8"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.h2 {
			r.ProtoMajor = 2
		}
		rec := httptest.NewRecorder()
		WriteError(rec, r, tc.err)
		if rec.Code != tc.status {
			t.Errorf("%v: status %d, want %d", tc.err, rec.Code, tc.status)
		}
		if got := rec.Header().Get(tc.header); got != tc.value {
			t.Errorf("%v: %s = %q, want %q", tc.err, tc.header, got, tc.value)
		}
		if !strings.Contains(rec.Body.String(), tc.err.Error()) {
			t.Errorf("%v: body %q does not explain the error", tc.err, rec.Body.String())
		}
	}
}

func TestSelectSubprotocolServerPreferenceWins(t *testing.T) {
	for _, tc := range []struct {
		offered, supported []string
		want               string
	}{
		{[]string{"a", "b"}, []string{"b", "a"}, "b"},
		{[]string{"a", "b"}, []string{"c", "a"}, "a"},
		{[]string{"a"}, []string{"A"}, ""},
		{nil, []string{"a"}, ""},
		{[]string{"a"}, nil, ""},
	} {
		if got := SelectSubprotocol(tc.offered, tc.supported); got != tc.want {
			t.Errorf("SelectSubprotocol(%q, %q) = %q, want %q", tc.offered, tc.supported, got, tc.want)
		}
	}
}

func TestCheckOrigin(t *testing.T) {
	for _, tc := range []struct {
		name     string
		host     string
		origins  []string
		patterns []string
		ok       bool
	}{
		{"no Origin", "example.com", nil, nil, true},
		{"same host", "example.com", []string{"https://example.com"}, nil, true},
		{"same host other case", "Example.COM", []string{"https://example.com"}, nil, true},
		{"same host explicit default port", "example.com:443", []string{"https://example.com"}, nil, true},
		{"same host and port", "127.0.0.1:8080", []string{"http://127.0.0.1:8080"}, nil, true},
		{"same IPv6", "[::1]:8080", []string{"http://[::1]:8080"}, nil, true},
		{"other port", "127.0.0.1:8080", []string{"http://127.0.0.1:9090"}, nil, false},
		{"other host", "example.com", []string{"https://evil.example"}, nil, false},
		{"http origin on 443", "example.com:443", []string{"http://example.com"}, nil, false},
		{"null origin", "example.com", []string{"null"}, nil, false},
		{"null origin, star pattern", "example.com", []string{"null"}, []string{"*"}, false},
		{"two Origins", "example.com", []string{"https://example.com", "https://example.com"}, nil, false},
		{"pattern exact", "api.example.com", []string{"https://app.example.com"}, []string{"app.example.com"}, true},
		{"pattern wildcard", "api.example.com", []string{"https://app.example.com"}, []string{"*.example.com"}, true},
		{"pattern wildcard other domain", "api.example.com", []string{"https://example.org"}, []string{"*.example.com"}, false},
		{"pattern case", "api.example.com", []string{"https://APP.example.com"}, []string{"App.Example.com"}, true},
		{"pattern without port, origin with port", "x", []string{"https://app.example.com:8443"}, []string{"app.example.com"}, false},
		{"pattern with port wildcard", "x", []string{"http://localhost:5173"}, []string{"localhost:*"}, true},
		{"pattern default port dropped", "x", []string{"https://app.example.com:443"}, []string{"app.example.com"}, true},
		{"pattern with scheme", "x", []string{"https://app.example.com"}, []string{"https://*.example.com"}, true},
		{"pattern with scheme mismatch", "x", []string{"http://app.example.com"}, []string{"https://*.example.com"}, false},
		{"star", "x", []string{"https://anything.example"}, []string{"*"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Host = tc.host
			for _, o := range tc.origins {
				r.Header.Add("Origin", o)
			}
			err := CheckOrigin(r, tc.patterns)
			if tc.ok && err != nil {
				t.Fatalf("CheckOrigin: %v", err)
			}
			if !tc.ok && (!errors.Is(err, ErrOrigin) || Status(err) != 403) {
				t.Fatalf("CheckOrigin error = %v (status %d), want ErrOrigin (403)", err, Status(err))
			}
		})
	}
}

func TestCheckOriginBadPattern(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Origin", "https://other.example")
	err := CheckOrigin(r, []string{"[a-"})
	if err == nil || errors.Is(err, ErrOrigin) || Status(err) != 500 {
		t.Fatalf("CheckOrigin with a bad pattern = %v (status %d), want a configuration error (500)", err, Status(err))
	}
}
