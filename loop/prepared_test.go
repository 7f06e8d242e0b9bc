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
