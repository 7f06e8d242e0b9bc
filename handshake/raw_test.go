package handshake

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const rawGood = "GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n" +
	"Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"

// checkBoth runs the raw path and net/http's path on the same bytes and
// returns both outcomes: the statuses of their errors (0 for success).
func checkBoth(t *testing.T, req string) (raw, std int, rr *Request, sr *Request) {
	t.Helper()
	status := func(err error) int {
		if err == nil {
			return 0
		}
		return Status(err)
	}
	r, _, err := ParseRequest([]byte(req))
	if err == nil {
		rr, err = r.Check()
		if err == nil {
			err = r.CheckOrigin(nil)
		}
	}
	raw = status(err)
	hr, err := http.ReadRequest(bufio.NewReader(strings.NewReader(req)))
	if err != nil {
		err = ErrMalformed
	} else if hr.ContentLength != 0 || len(hr.TransferEncoding) > 0 {
		err = ErrMalformed // the raw path refuses bodies outright
	} else if sr, err = CheckRequest(hr); err == nil {
		err = CheckOrigin(hr, nil)
	}
	std = status(err)
	return
}

func TestRawRequestAgreesWithNetHTTP(t *testing.T) {
	good := rawGood
	cases := map[string]string{
		"good":             good,
		"bare LF":          strings.ReplaceAll(good, "\r\n", "\n"),
		"HTTP/1.0":         strings.Replace(good, "HTTP/1.1", "HTTP/1.0", 1),
		"POST":             strings.Replace(good, "GET", "POST", 1),
		"no host":          strings.Replace(good, "Host: example.com\r\n", "", 1),
		"two hosts":        strings.Replace(good, "Host: example.com\r\n", "Host: a\r\nHost: b\r\n", 1),
		"no upgrade":       strings.Replace(good, "Upgrade: websocket\r\n", "", 1),
		"no connection":    strings.Replace(good, "Connection: keep-alive, Upgrade\r\n", "Connection: close\r\n", 1),
		"version 8":        strings.Replace(good, "Version: 13", "Version: 8", 1),
		"bad key":          strings.Replace(good, "dGhlIHNhbXBsZSBub25jZQ==", "short", 1),
		"two keys":         strings.Replace(good, "Sec-WebSocket-Version", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version", 1),
		"bad protocol":     strings.Replace(good, "chat, superchat", "chat, super chat", 1),
		"bad extension":    strings.Replace(good, "permessage-deflate;", "permessage-deflate;;", 1),
		"foreign origin":   strings.Replace(good, "http://example.com", "http://evil.example", 1),
		"space before :":   strings.Replace(good, "Upgrade: websocket", "Upgrade : websocket", 1),
		"folded line":      strings.Replace(good, "Upgrade: websocket\r\n", "Upgrade:\r\n websocket\r\n", 1),
		"bad request line": strings.Replace(good, "GET /chat?room=1 HTTP/1.1", "GET /chat HTTP/1.1 extra", 1),
		"no version":       strings.Replace(good, " HTTP/1.1", "", 1),
		"HTTP/2.0":         strings.Replace(good, "HTTP/1.1", "HTTP/2.0", 1),
		"control in value": strings.Replace(good, "keep-alive", "keep\x01alive", 1),
		"body":             strings.Replace(good, "Host:", "Content-Length: 5\r\nHost:", 1),
		"chunked":          strings.Replace(good, "Host:", "Transfer-Encoding: chunked\r\nHost:", 1),
		"mixed case names": strings.ToLower(good[:4]) + strings.Replace(good[4:], "Sec-WebSocket-Key", "sec-websocket-KEY", 1),
		"repeated upgrade": strings.Replace(good, "Upgrade: websocket\r\n", "Upgrade: h2c\r\nUpgrade: websocket\r\n", 1),
	}
	// Where RFC 9112 lets a server choose and net/http's ReadRequest is
	// lenient, the raw path rejects with 400: whitespace before a colon
	// (§5.1, a MUST), a folded line (§5.2, MAY reject), and a request
	// line of another major version on an HTTP/1 connection.
	stricter := map[string]bool{"space before :": true, "folded line": true, "HTTP/2.0": true}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			raw, std, rr, sr := checkBoth(t, req)
			if stricter[name] {
				if raw != http.StatusBadRequest {
					t.Fatalf("raw path answers %d, want 400", raw)
				}
				return
			}
			if raw != std {
				t.Fatalf("raw path answers %d, net/http's path %d", raw, std)
			}
			if raw == 0 && (rr.Key != sr.Key || !slices.Equal(rr.Subprotocols, sr.Subprotocols) || len(rr.Extensions) != len(sr.Extensions)) {
				t.Fatalf("raw path found %+v, net/http's path %+v", rr, sr)
			}
		})
	}
}

func TestParseRequestIncompleteAndLeftovers(t *testing.T) {
	for i := 0; i < len(rawGood); i++ {
		if _, _, err := ParseRequest([]byte(rawGood[:i])); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("%d bytes of the head: %v", i, err)
		}
	}
	frames := "\x81\x85abcd"
	r, n, err := ParseRequest([]byte(rawGood + frames))
	if err != nil || n != len(rawGood) {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if r.Target != "/chat?room=1" || r.Host != "example.com" || r.Get("Sec-Websocket-Version") != "13" {
		t.Fatalf("parsed %+v", r)
	}
	hr := r.HTTPRequest()
	if hr.URL.Path != "/chat" || hr.URL.Query().Get("room") != "1" || hr.Header.Get("Origin") != "http://example.com" || hr.Host != "example.com" {
		t.Fatalf("HTTPRequest: %+v", hr)
	}
}

func TestRawRequestCheckDoesNotAllocateMuch(t *testing.T) {
	b := []byte(rawGood)
	allocs := testing.AllocsPerRun(100, func() {
		r, _, err := ParseRequest(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Check(); err != nil {
			t.Fatal(err)
		}
	})
	// The request with its field slices (newRawRequest), the head's
	// string, the subprotocols' list (grown once), and the extension
	// with its parameters: nothing per field.
	if allocs > 6 {
		t.Fatalf("%v allocations to parse and check a handshake", allocs)
	}
}

// TestRawRequestURL checks that ParseRequest's URL is url.ParseRequestURI's,
// for the targets it parses itself and for those it leaves to net/url.
func TestRawRequestURL(t *testing.T) {
	for _, target := range []string{
		"/", "/chat", "/chat?room=1", "/a/b/c?x=1&y=2", "/?", "/a?", "/a??", "/a?b?", "/a?b?c",
		"//host/path", "///x", "/a;b=c,d:e@f$g&h+i", "/-_.~", "/%41", "/%zz", "/é", "/a#b",
		"/!'()*", "/a%2Fb?q=%zz", "*", "http://example.com/x?y", "example.com:80", "/a\\b", "/{x}",
	} {
		req := "GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n"
		r, _, err := ParseRequest([]byte(req))
		want, werr := url.ParseRequestURI(target)
		if (err != nil) != (werr != nil) {
			t.Errorf("%q: ParseRequest says %v, url.ParseRequestURI %v", target, err, werr)
			continue
		}
		if err == nil && !reflect.DeepEqual(*r.URL, *want) {
			t.Errorf("%q: URL %#v, want %#v", target, *r.URL, *want)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		var u url.URL
		if !parseOriginForm(&u, "/chat?room=1") {
			t.Fatal("not parsed in place")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations to parse an origin-form target", allocs)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add(rawGood)
	f.Add(strings.ReplaceAll(rawGood, "\r\n", "\n"))
	f.Add("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	f.Fuzz(func(t *testing.T, req string) {
		r, n, err := ParseRequest([]byte(req))
		if err != nil {
			if !errors.Is(err, ErrIncomplete) && Status(err) != http.StatusBadRequest {
				t.Fatalf("error %v with status %d", err, Status(err))
			}
			return
		}
		if n <= 0 || n > len(req) {
			t.Fatalf("head length %d of %d bytes", n, len(req))
		}
		if want, err := url.ParseRequestURI(r.Target); err != nil || !reflect.DeepEqual(*r.URL, *want) {
			t.Fatalf("URL of %q: %#v, url.ParseRequestURI: %#v, %v", r.Target, r.URL, want, err)
		}
		rr, err := r.Check()
		if err == nil && !ValidKey(rr.Key) {
			t.Fatalf("accepted key %q", rr.Key)
		}
		// What the raw path accepts, net/http's reading and
		// CheckRequest accept too.
		if err == nil && r.CheckOrigin(nil) == nil {
			hr, herr := http.ReadRequest(bufio.NewReader(strings.NewReader(req[:n])))
			if herr != nil {
				return // net/http is stricter about some targets; the raw path never answers 101 to those without Check
			}
			if _, cerr := CheckRequest(hr); cerr != nil {
				t.Fatalf("raw path accepts, CheckRequest says %v", cerr)
			}
		}
	})
}

// TestRawRequestFieldCounts parses requests with from 0 to 40 header
// fields besides the handshake's, across newRawRequest's sizes (room made
// with the request for up to 32 names and values, separately beyond), and
// checks that every field is found.
func TestRawRequestFieldCounts(t *testing.T) {
	for n := 0; n <= 40; n++ {
		var b strings.Builder
		b.WriteString(strings.TrimSuffix(rawGood, "\r\n"))
		for i := range n {
			fmt.Fprintf(&b, "X-Field-%d: value %d\r\n", i, i)
		}
		b.WriteString("\r\n")
		r, hl, err := ParseRequest([]byte(b.String()))
		if err != nil || hl != b.Len() {
			t.Fatalf("%d fields: %v (head %d of %d bytes)", n, err, hl, b.Len())
		}
		for i := range n {
			if got, want := r.Get(fmt.Sprintf("X-Field-%d", i)), fmt.Sprintf("value %d", i); got != want {
				t.Fatalf("%d fields: X-Field-%d = %q, want %q", n, i, got, want)
			}
		}
		if got := r.Get("Sec-Websocket-Key"); got != "dGhlIHNhbXBsZSBub25jZQ==" {
			t.Fatalf("%d fields: key %q", n, got)
		}
		if _, err := r.Check(); err != nil {
			t.Fatalf("%d fields: %v", n, err)
		}
	}
}
