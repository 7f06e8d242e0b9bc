package handshake

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
)

func TestCheckResponse(t *testing.T) {
	offer := Offer{
		Key:          "dGhlIHNhbXBsZSBub25jZQ==",
		Subprotocols: []string{"chat", "superchat"},
		Extensions:   []Extension{{Name: "permessage-deflate"}, {Name: "permessage-deflate", Params: []Param{{Name: "client_max_window_bits"}}}, {Name: "x-foo"}},
	}
	good := func() *http.Response {
		return &http.Response{
			StatusCode: 101, Status: "101 Switching Protocols", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{
				"Upgrade":              {"websocket"},
				"Connection":           {"Upgrade"},
				"Sec-Websocket-Accept": {"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
			},
		}
	}
	for _, tc := range []struct {
		name   string
		modify func(r *http.Response)
		want   *Negotiated
		err    error
	}{
		{"minimal", func(r *http.Response) {}, &Negotiated{}, nil},
		{"tokens in other case and lists", func(r *http.Response) {
			r.Header["Upgrade"] = []string{"WebSocket"}
			r.Header["Connection"] = []string{"keep-alive, UPGRADE"}
		}, &Negotiated{}, nil},
		{"subprotocol", func(r *http.Response) { r.Header.Set("Sec-WebSocket-Protocol", "superchat") }, &Negotiated{Subprotocol: "superchat"}, nil},
		{"extensions", func(r *http.Response) {
			r.Header.Set("Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=10, x-foo")
		}, &Negotiated{Extensions: []Extension{{Name: "permessage-deflate", Params: []Param{{Name: "server_max_window_bits", Value: "10"}}}, {Name: "x-foo"}}}, nil},
		{"status 200", func(r *http.Response) { r.StatusCode, r.Status = 200, "200 OK" }, nil, ErrStatus},
		{"status 403", func(r *http.Response) { r.StatusCode, r.Status = 403, "403 Forbidden" }, nil, ErrStatus},
		{"no Upgrade", func(r *http.Response) { r.Header.Del("Upgrade") }, nil, ErrResponseUpgrade},
		{"no Connection", func(r *http.Response) { r.Header.Set("Connection", "close") }, nil, ErrResponseConnection},
		{"no Accept", func(r *http.Response) { r.Header.Del("Sec-WebSocket-Accept") }, nil, ErrAccept},
		{"wrong Accept", func(r *http.Response) { r.Header.Set("Sec-WebSocket-Accept", AcceptKey("AAAAAAAAAAAAAAAAAAAAAA==")) }, nil, ErrAccept},
		{"two Accepts", func(r *http.Response) { r.Header.Add("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") }, nil, ErrAccept},
		{"subprotocol not offered", func(r *http.Response) { r.Header.Set("Sec-WebSocket-Protocol", "mqtt") }, nil, ErrSubprotocol},
		{"subprotocol case differs", func(r *http.Response) { r.Header.Set("Sec-WebSocket-Protocol", "Chat") }, nil, ErrSubprotocol},
		{"two subprotocols in a list", func(r *http.Response) { r.Header.Set("Sec-WebSocket-Protocol", "chat, superchat") }, nil, ErrSubprotocol},
		{"two subprotocol headers", func(r *http.Response) {
			r.Header.Add("Sec-WebSocket-Protocol", "chat")
			r.Header.Add("Sec-WebSocket-Protocol", "superchat")
		}, nil, ErrSubprotocol},
		{"extension not offered", func(r *http.Response) { r.Header.Set("Sec-WebSocket-Extensions", "x-bar") }, nil, ErrExtension},
		{"extension twice", func(r *http.Response) {
			r.Header.Add("Sec-WebSocket-Extensions", "permessage-deflate")
			r.Header.Add("Sec-WebSocket-Extensions", "permessage-deflate")
		}, nil, ErrExtension},
		{"extensions malformed", func(r *http.Response) { r.Header.Set("Sec-WebSocket-Extensions", "x-foo;") }, nil, ErrExtension},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := good()
			tc.modify(resp)
			got, err := CheckResponse(resp, offer)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("CheckResponse error = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckResponse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("CheckResponse = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCheckResponseHTTP2(t *testing.T) {
	resp := &http.Response{StatusCode: 200, Status: "200 OK", ProtoMajor: 2, Header: http.Header{"Sec-Websocket-Protocol": {"chat"}}}
	got, err := CheckResponse(resp, Offer{Subprotocols: []string{"chat"}})
	if err != nil || got.Subprotocol != "chat" {
		t.Fatalf("CheckResponse = %+v, %v; want subprotocol chat", got, err)
	}
	resp = &http.Response{StatusCode: 403, Status: "403 Forbidden", ProtoMajor: 2, Header: http.Header{}}
	if _, err := CheckResponse(resp, Offer{}); !errors.Is(err, ErrStatus) {
		t.Fatalf("403 over HTTP/2: error %v, want ErrStatus", err)
	}
}
