package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/deflate"
)

// compressionServer echoes over Accept with the given compression policy
// and reports each accepted Conn's negotiated parameters.
func compressionServer(t *testing.T, cfg *deflate.ServerConfig) (*httptest.Server, chan deflate.Params) {
	params := make(chan deflate.Params, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, &Options{Compression: cfg})
		if err != nil {
			return
		}
		p, ok := c.Compression()
		if !ok {
			p = deflate.Params{ServerMaxWindowBits: -99}
		}
		params <- p
		echo(c)
	}))
	t.Cleanup(srv.Close)
	return srv, params
}

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

// Every window a client may ask the server for is granted and used, with
// and without context takeover, and messages round-trip compressed.
func TestCompressionNegotiatedForEveryServerWindow(t *testing.T) {
	srv, params := compressionServer(t, &deflate.ServerConfig{Threshold: -1})
	text := strings.Repeat("permessage-deflate with a small window ", 200)
	for bits := 8; bits <= 15; bits++ {
		for _, noTakeover := range []bool{false, true} {
			t.Run(fmt.Sprintf("server_max_window_bits=%d/no_takeover=%v", bits, noTakeover), func(t *testing.T) {
				ctx := testContext(t)
				cfg := &deflate.ClientConfig{ServerMaxWindowBits: bits, ServerNoContextTakeover: noTakeover, Threshold: -1}
				c, resp, err := client.Dial(ctx, wsURL(srv), &client.Options{Compression: cfg})
				if err != nil {
					t.Fatal(err)
				}
				defer c.CloseNow()
				got := <-params
				if got.ServerWindowBits() != bits || got.ServerNoContextTakeover != noTakeover {
					t.Fatalf("server negotiated %v (response %q)", got, resp.Header.Get("Sec-WebSocket-Extensions"))
				}
				cp, ok := c.Compression()
				if !ok || cp.ServerWindowBits() != bits {
					t.Fatalf("client negotiated %v %v", cp, ok)
				}
				for i := 0; i < 3; i++ {
					if back := roundTrip(t, c, ws.Text, text); back != text {
						t.Fatalf("echo differs")
					}
				}
				c.Close(ws.CloseNormal, "")
			})
		}
	}
}

// A server without Compression declines, and the connection works
// uncompressed; a client without Compression offers nothing.
func TestCompressionDeclined(t *testing.T) {
	srv, params := compressionServer(t, nil)
	ctx := testContext(t)
	c, resp, err := client.Dial(ctx, wsURL(srv), &client.Options{Compression: &deflate.ClientConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if h := resp.Header.Get("Sec-WebSocket-Extensions"); h != "" {
		t.Fatalf("server without Compression answered %q", h)
	}
	if p := <-params; p.ServerMaxWindowBits != -99 {
		t.Fatalf("server Conn has compression %v", p)
	}
	if _, ok := c.Compression(); ok {
		t.Fatal("client Conn has compression")
	}
	if roundTrip(t, c, ws.Text, "plain") != "plain" {
		t.Fatal("echo differs")
	}

	srv2, params2 := compressionServer(t, &deflate.ServerConfig{})
	c2, resp2, err := client.Dial(ctx, wsURL(srv2), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	if h := resp2.Header.Get("Sec-WebSocket-Extensions"); h != "" || (<-params2).ServerMaxWindowBits != -99 {
		t.Fatalf("compression without an offer: %q", h)
	}
}

// The server's first acceptable offer wins, in the client's order; an
// offer it cannot accept is declined rather than refused.
func TestCompressionOfferOrder(t *testing.T) {
	srv, params := compressionServer(t, &deflate.ServerConfig{ClientMaxWindowBits: 10})
	addr := srv.Listener.Addr().String()
	for _, tc := range []struct {
		offers string
		want   string
	}{
		// The server caps the client's window, which needs
		// client_max_window_bits in the offer (RFC 7692 §7.1.2.2): the
		// first offer is declined, the second accepted.
		{"permessage-deflate; server_max_window_bits=9, permessage-deflate; client_max_window_bits", "permessage-deflate; client_max_window_bits=10"},
		{"permessage-deflate; server_max_window_bits=9; client_max_window_bits, permessage-deflate; client_max_window_bits", "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10"},
		{"permessage-deflate; unknown_param; client_max_window_bits", ""},
		{"permessage-deflate; server_max_window_bits=7; client_max_window_bits", ""},
	} {
		nc, resp, _ := rawDial(t, addr, nil, []byte(handshakeRequest(addr, "Sec-WebSocket-Extensions: "+tc.offers)))
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("offers %q: status %d", tc.offers, resp.StatusCode)
		}
		if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != tc.want {
			t.Errorf("offers %q: response %q, want %q", tc.offers, got, tc.want)
		}
		<-params
		nc.Close()
	}
}
