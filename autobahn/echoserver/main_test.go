package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/internal/servertest"
)

// modes are the two servers of the agent: a goroutine per connection, and
// the event loop (-loop).
var modes = []struct {
	name string
	loop bool
}{{"goroutines", false}, {"loop", true}}

// startServer runs serve on a loopback port and returns its ws:// URL and a
// function that stops it and returns serve's error.
func startServer(t *testing.T) (url string, stop func() error) {
	return startServerMode(t, false)
}

// startServerMode is startServer, with the event-loop server (-loop) if
// useLoop is set.
func startServerMode(t *testing.T, useLoop bool) (url string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		if useLoop {
			done <- serveLoop(ctx, ln, io.Discard)
		} else {
			done <- serve(ctx, ln, io.Discard)
		}
	}()
	var once sync.Once
	var serveErr error
	stop = func() error {
		once.Do(func() { cancel(); serveErr = <-done })
		return serveErr
	}
	t.Cleanup(func() { stop() })
	return "ws://" + ln.Addr().String() + "/any/path", stop
}

func TestEchoSendsEveryMessageBackWithItsType(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			url, _ := startServerMode(t, m.loop)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, _, err := client.Dial(ctx, url, &client.Options{Conn: ws.Options{ReadLimit: readLimit}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			tests := []struct {
				typ  ws.MessageType
				data []byte
			}{
				{ws.Text, []byte("hello")},
				{ws.Text, []byte{}},
				{ws.Binary, []byte{0, 0xfe, 0x23, 0xfa, 0xf0}},
				{ws.Binary, bytes.Repeat([]byte{0xfe}, 16<<20)}, // the suite's largest
				{ws.Text, []byte("κόσμε")},
			}
			for _, tt := range tests {
				if err := c.WriteMessage(ctx, tt.typ, tt.data); err != nil {
					t.Fatal(err)
				}
				typ, got, err := c.ReadMessage(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if typ != tt.typ || !bytes.Equal(got, tt.data) {
					t.Errorf("echo of a %v message of %d bytes: %v message of %d bytes", tt.typ, len(tt.data), typ, len(got))
				}
			}
			if err := c.Close(ws.CloseNormal, ""); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}

func TestEchoAnswersInvalidUTF8With1007(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			url, _ := startServerMode(t, m.loop)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := client.Dial(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			// The writer does not validate outgoing text, so a test can send what
			// the suite's section 6 sends: here κ and a truncated ό.
			if err := c.WriteMessage(ctx, ws.Text, []byte{0xce, 0xba, 0xe1, 0xbd}); err != nil {
				t.Fatal(err)
			}
			_, _, err = c.ReadMessage(ctx, nil)
			var ce *ws.CloseError
			if !errors.As(err, &ce) || ce.Code != ws.CloseInvalidPayload {
				t.Errorf("read after invalid text: %v, want a close with 1007", err)
			}
		})
	}
}

func TestShutdownClosesConnectionsWithGoingAway(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			url, stop := startServerMode(t, m.loop)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := client.Dial(ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			read := make(chan error, 1)
			go func() {
				_, _, err := c.ReadMessage(ctx, nil)
				read <- err
			}()
			if err := stop(); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			var ce *ws.CloseError
			if err := <-read; !errors.As(err, &ce) || ce.Code != ws.CloseGoingAway {
				t.Errorf("read during shutdown: %v, want a close with 1001", err)
			}
		})
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"-nope"}, &out); err == nil {
		t.Error("run accepted an unknown flag")
	}
}

// TestShutdownReachesClientsAtOnce: the 1001 comes at once even while a
// browser's spare connection keeps net/http waiting.
func TestShutdownReachesClientsAtOnce(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			url, stop := startServerMode(t, m.loop)
			stopped := make(chan error, 1)
			servertest.CheckGoingAway(t, url, func() { go func() { stopped <- stop() }() })
			if err := <-stopped; err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
}

// TestHeaderBombIsAnswered431 is the attack the issue found: 1 MiB of
// request header was upgraded.
func TestHeaderBombIsAnswered431(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			url, _ := startServerMode(t, m.loop)
			servertest.CheckHeaderBomb(t, strings.Split(strings.TrimPrefix(url, "ws://"), "/")[0], "/")
		})
	}
}
