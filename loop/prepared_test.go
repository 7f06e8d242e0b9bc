//go:build linux

package loop

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/deflate"
)

// TestSendPreparedCompressedOnceForAll: a prepared message sent to
// connections that compress without context takeover goes out as the one
// frame it compressed (ws.PreparedMessage.Frame), and each client reads
// the message; with context takeover each connection compresses it.
func TestSendPreparedCompressedOnceForAll(t *testing.T) {
	for _, takeover := range []bool{false, true} {
		conns := make(chan *Conn, 2)
		s := &Server{Handler: &openFunc{echoHandler: newEcho(), open: func(c *Conn) { conns <- c }}}
		s.Options.Compression = &deflate.ServerConfig{ServerNoContextTakeover: !takeover, Threshold: 1}
		addr := start(t, s)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var clients []*ws.Conn
		for range 2 {
			c, resp, err := client.Dial(ctx, "ws://"+addr+"/", &client.Options{Compression: &deflate.ClientConfig{}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
				t.Fatalf("extensions %q", ext)
			}
			clients = append(clients, c)
		}
		data := []byte(strings.Repeat("to everyone ", 200))
		pm, err := ws.NewPreparedMessage(ws.Text, data)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			sc := <-conns
			if err := sc.SendPrepared(pm); err != nil {
				t.Fatal(err)
			}
			if wire, ok := pm.Frame(&sc.pc.Sender); ok == takeover || ok && wire[0]&0x40 == 0 {
				t.Errorf("takeover %v: Frame %v, compressed %v", takeover, ok, ok && wire[0]&0x40 != 0)
			}
		}
		for _, c := range clients {
			if _, got, err := c.ReadMessage(ctx, nil); err != nil || string(got) != string(data) {
				t.Fatalf("takeover %v: %d bytes, %v", takeover, len(got), err)
			}
		}
	}
}

// TestQuietConnectionsGiveBackTheirCompressor: a connection compressing
// with context takeover holds a compressor while it sends; quiet for a
// sweep period or two, it gives it back keeping only its history (as
// ws.Conn's janitor does), and its next messages still decompress.
func TestQuietConnectionsGiveBackTheirCompressor(t *testing.T) {
	conns := make(chan *Conn, 1)
	s := &Server{Handler: &openFunc{echoHandler: newEcho(), open: func(c *Conn) { conns <- c }}}
	s.Options.Compression = &deflate.ServerConfig{Threshold: 1}
	addr := start(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := client.Dial(ctx, "ws://"+addr+"/", &client.Options{Compression: &deflate.ClientConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	sc := <-conns
	holds := func() bool {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		return sc.pc.HoldsCompressor()
	}
	data := []byte(strings.Repeat("context takeover ", 100))
	echo := func() {
		t.Helper()
		if err := c.WriteMessage(ctx, ws.Text, data); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.ReadMessage(ctx, nil); err != nil || string(got) != string(data) {
			t.Fatalf("echo: %d bytes, %v", len(got), err)
		}
	}
	echo()
	if !holds() {
		t.Fatal("no compressor after a compressed message with context takeover")
	}
	deadline := time.Now().Add(5 * time.Second)
	for holds() {
		if time.Now().After(deadline) {
			t.Fatal("the compressor of a quiet connection was not given back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	echo() // the history was kept: the client's inflater agrees
	echo()
}
