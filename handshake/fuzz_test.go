package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseExtensionList checks that the parser never panics, that
// everything it accepts formats back into a header that parses to the same
// list, and that what it rejects is reported as ErrExtensionsHeader.
func FuzzParseExtensionList(f *testing.F) {
	for _, s := range []string{
		"permessage-deflate; client_max_window_bits",
		`permessage-deflate ; client_max_window_bits = "10" , x-foo;a="b\c" ,, bar`,
		"a;b=c;d, e",
		`x; p="`,
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		exts, err := ParseExtensionList(s)
		if err != nil {
			if !errors.Is(err, ErrExtensionsHeader) {
				t.Fatalf("error %v does not wrap ErrExtensionsHeader", err)
			}
			return
		}
		out, err := FormatExtensions(exts)
		if err != nil {
			t.Fatalf("parsed %q into %+v, which does not format: %v", s, exts, err)
		}
		again, err := ParseExtensionList(out)
		if err != nil {
			t.Fatalf("formatted %q does not parse: %v", out, err)
		}
		if !reflect.DeepEqual(again, exts) {
			t.Fatalf("round trip of %q: %+v, then %q gives %+v", s, exts, out, again)
		}
	})
}

// FuzzCheckRequest feeds raw requests through net/http's parser and
// CheckRequest, and checks that an accepted request really satisfies the
// rules and that a rejected one maps to a client error status.
func FuzzCheckRequest(f *testing.F) {
	f.Add([]byte(validRequest))
	f.Add([]byte(edit("Connection:", "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Protocol: a, b\r\nSec-WebSocket-Extensions: x; y=\"1\"")))
	f.Add([]byte(edit("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 8")))
	f.Add([]byte(strings.Replace(validRequest, "GET", "PUT", 1)))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		_ = CheckOrigin(r, []string{"*.example.com", "https://a.example"})
		req, err := CheckRequest(r)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status < 400 || e.Status > 499 {
				t.Fatalf("rejection %v has no 4xx status", err)
			}
			return
		}
		if r.Method != "GET" || !r.ProtoAtLeast(1, 1) || r.Host == "" || !ValidKey(req.Key) || r.Header.Get("Sec-WebSocket-Version") != "13" {
			t.Fatalf("accepted an invalid request: %q", raw)
		}
		if len(AcceptKey(req.Key)) != 28 {
			t.Fatalf("AcceptKey(%q) has the wrong length", req.Key)
		}
		for _, p := range req.Subprotocols {
			if !IsToken(p) {
				t.Fatalf("subprotocol %q is not a token", p)
			}
		}
		if _, err := FormatExtensions(req.Extensions); err != nil {
			t.Fatalf("accepted extensions do not format: %v", err)
		}
	})
}
