package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestEchoAndShutdownWithGoingAway(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, io.Discard) }()

	c, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	big := bytes.Repeat([]byte{0xfe}, 16<<20)
	for _, m := range []struct {
		typ  int
		data []byte
	}{{websocket.TextMessage, []byte("hello")}, {websocket.BinaryMessage, big}} {
		if err := c.WriteMessage(m.typ, m.data); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.ReadMessage()
		if err != nil || typ != m.typ || !bytes.Equal(got, m.data) {
			t.Fatalf("echo: type %d, %d bytes, %v", typ, len(got), err)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	_, _, err = c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("read after shutdown: %v, want close 1001", err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	if err := run(context.Background(), []string{"-nope"}, &strings.Builder{}); err == nil {
		t.Error("run accepted an unknown flag")
	}
}
