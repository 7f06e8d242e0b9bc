//go:build !js

package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/server"
)

const testTimeout = 10 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// echo reads messages and sends them back until the connection ends.
func echo(c *ws.Conn) {
	ctx := context.Background()
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(ctx, buf[:0])
		if err != nil {
			return
		}
		if err := c.WriteMessage(ctx, typ, msg); err != nil {
			return
		}
		buf = msg
	}
}

// seen is what the echo server saw of a request.
type seen struct {
	req         *http.Request
	subprotocol string
}

// echoServer runs our server with opts, echoing, and reports each request.
func echoServer(t *testing.T, opts server.Options, tlsOn bool) (*httptest.Server, chan seen) {
	t.Helper()
	reqs := make(chan seen, 16)
	s := &server.Server{Options: opts, Handle: func(c *ws.Conn, r *http.Request) {
		reqs <- seen{r, c.Subprotocol()}
		echo(c)
	}}
	var srv *httptest.Server
	if tlsOn {
		srv = httptest.NewTLSServer(s)
	} else {
		srv = httptest.NewServer(s)
	}
	t.Cleanup(srv.Close)
	return srv, reqs
}

func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

func roundTrip(t *testing.T, c *ws.Conn, typ ws.MessageType, msg string) string {
	t.Helper()
	ctx := testContext(t)
	if err := c.WriteMessage(ctx, typ, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	gotTyp, got, err := c.ReadMessage(ctx, nil)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if gotTyp != typ {
		t.Fatalf("echo type %v, want %v", gotTyp, typ)
	}
	return string(got)
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for the server")
		panic("unreachable")
	}
}
