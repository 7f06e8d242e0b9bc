package main

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/server"
)

func TestClientSendsLinesAndPrintsEchoes(t *testing.T) {
	srv := httptest.NewServer(server.Handler(func(c *ws.Conn) {
		ctx := context.Background()
		for {
			typ, msg, err := c.ReadMessage(ctx, nil)
			if err != nil {
				return
			}
			c.WriteMessage(ctx, typ, msg)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out strings.Builder
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	if err := run(ctx, url, strings.NewReader("first line\nsecond line\n"), &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	want := "connected to " + url + "; type lines to send, Ctrl-D to quit\n< first line\n< second line\nclosed: 1000"
	if !strings.HasPrefix(out.String(), want) {
		t.Fatalf("output:\n%s\nwant it to start with:\n%s", out.String(), want)
	}
}

func TestClientReportsServerClose(t *testing.T) {
	srv := httptest.NewServer(server.Handler(func(c *ws.Conn) {
		c.Close(ws.CloseGoingAway, "server shutting down")
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out strings.Builder
	// Nobody types: the input neither sends nor ends.
	pr, pw := io.Pipe()
	defer pw.Close()
	if err := run(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), pr, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(out.String(), `closed: 1001 "server shutting down"`) {
		t.Fatalf("output:\n%s", out.String())
	}
}

func TestClientDialError(t *testing.T) {
	ctx := context.Background()
	if err := run(ctx, "ftp://127.0.0.1/", strings.NewReader(""), &strings.Builder{}); err == nil {
		t.Fatal("ftp URL accepted")
	}
}
