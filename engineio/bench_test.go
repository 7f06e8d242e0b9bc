package engineio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/server"
)

func BenchmarkDecodePayload(b *testing.B) {
	body := []byte(strings.Repeat("42[\"message\",{\"text\":\"hello\"}]\x1e", 15) + "bAQIDBAUGBwgJCgsMDQ4PEA==")
	var scratch []byte
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		decodePayload(body, &scratch, func(packet) bool { return true })
	}
}

// BenchmarkWebSocketEcho measures a message's round trip through an
// Engine.IO WebSocket session (client → Handler.Message → Send → client).
func BenchmarkWebSocketEcho(b *testing.B) {
	srv := NewServer(&Options{Handler: HandlerFuncs{OnMessage: func(s *Socket, typ ws.MessageType, data []byte) {
		s.Send(context.Background(), typ, data)
	}}})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ctx := context.Background()
	c, _, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/engine.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	_, buf, _ := c.ReadMessage(ctx, nil) // handshake
	msg := []byte("4" + strings.Repeat("x", 64))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.WriteMessage(ctx, ws.Text, msg); err != nil {
			b.Fatal(err)
		}
		for {
			_, m, err := c.ReadMessage(ctx, buf[:0])
			if err != nil {
				b.Fatal(err)
			}
			buf = m
			if string(m) != "2" {
				break
			}
		}
	}
}

// BenchmarkIdleWebSocketSession opens idle WebSocket sessions and reports
// the memory (heap and goroutine stacks, client and server sides, after a
// GC) per connection, next to the same number of bare ws.Conns served by
// package server with a read loop: the difference is what Engine.IO adds
// to an idle session. b.N is not used; run with -benchtime=1x.
func BenchmarkIdleWebSocketSession(b *testing.B) {
	const n = 2000
	measure := func(h http.Handler, query string, readFirst bool) float64 {
		hs := httptest.NewServer(h)
		defer hs.Close()
		url := "ws" + strings.TrimPrefix(hs.URL, "http") + query
		conns := make([]*ws.Conn, 0, n)
		before := memInUse()
		for range n {
			c, _, err := client.Dial(context.Background(), url, nil)
			if err != nil {
				b.Fatal(err)
			}
			if readFirst {
				c.ReadMessage(context.Background(), nil)
			}
			conns = append(conns, c)
		}
		time.Sleep(100 * time.Millisecond)
		after := memInUse()
		for _, c := range conns {
			c.CloseNow()
		}
		return float64(after-before) / n
	}
	bare := server.Handler(func(c *ws.Conn) {
		var buf []byte
		for {
			_, m, err := c.ReadMessage(context.Background(), buf)
			if err != nil {
				return
			}
			buf = m[:0]
		}
	})
	eio := NewServer(&Options{PingInterval: time.Hour, PingTimeout: time.Hour})
	defer eio.Shutdown(context.Background())
	measure(bare, "/", false) // warm up
	base := measure(bare, "/", false)
	with := measure(eio, "/engine.io/?EIO=4&transport=websocket", true)
	b.ReportMetric(base, "bare-B/conn")
	b.ReportMetric(with, "engineio-B/conn")
	b.ReportMetric(with-base, "added-B/session")
}

func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}
