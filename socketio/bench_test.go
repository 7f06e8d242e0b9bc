package socketio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/socketio"
)

// BenchmarkBroadcast measures a broadcast of one small event to a room of
// 100 WebSocket sockets whose clients read and discard: the cost for the
// broadcaster (encoding once, queueing for each socket), which does not
// grow with the receivers in allocations.
func BenchmarkBroadcast(b *testing.B) {
	const sockets = 100
	e := newEnv(b, nil)
	e.io.OnConnection(func(s *socketio.Socket) { s.Join("room") })
	var wg sync.WaitGroup
	for range sockets {
		c, _, err := client.Dial(context.Background(), e.wsURL+"/socket.io/?EIO=4&transport=websocket", nil)
		if err != nil {
			b.Fatal(err)
		}
		c.WriteMessage(context.Background(), 1, []byte("40"))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for {
				typ, msg, err := c.ReadMessage(context.Background(), buf[:0])
				if err != nil {
					return
				}
				buf = msg
				if typ == 1 && len(msg) == 1 && msg[0] == '2' {
					c.WriteMessage(context.Background(), 1, []byte("3"))
				}
			}
		}()
		b.Cleanup(func() { c.CloseNow() })
	}
	for e.io.Of("/").Len() < sockets {
		runtime.Gosched()
	}
	room := e.io.To("room")
	msg := map[string]any{"text": "hello", "n": 1}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := room.Emit("msg", msg); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(e.io.Hub().Stats().Dropped+e.io.Hub().Stats().SlowClosed)/float64(b.N), "lost/op")
}

// BenchmarkIdleSocket opens idle WebSocket sessions, each joined to the
// main namespace, and reports the memory (heap and goroutine stacks,
// client and server sides, after a GC) per connection, next to the same
// number of bare Engine.IO sessions: the difference is what Socket.IO adds
// to an idle socket. b.N is not used; run with -benchtime=1x.
func BenchmarkIdleSocket(b *testing.B) {
	const n = 2000
	measure := func(h http.Handler, connect bool) float64 {
		hs := httptest.NewServer(h)
		defer hs.Close()
		url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
		conns := make([]*ws.Conn, 0, n)
		before := memInUse()
		for range n {
			c, _, err := client.Dial(context.Background(), url, nil)
			if err != nil {
				b.Fatal(err)
			}
			c.ReadMessage(context.Background(), nil) // open
			if connect {
				c.WriteMessage(context.Background(), ws.Text, []byte("40"))
				c.ReadMessage(context.Background(), nil) // CONNECT answer
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
	slow := engineio.Options{PingInterval: time.Hour, PingTimeout: time.Hour}
	eio := engineio.NewServer(&slow)
	defer eio.Shutdown(context.Background())
	sio := socketio.NewServer(&socketio.Options{EngineIO: slow, Logger: quiet()})
	defer sio.Shutdown(context.Background())
	measure(eio, false) // warm up
	base := measure(eio, false)
	with := measure(sio, true)
	b.ReportMetric(base, "engineio-B/conn")
	b.ReportMetric(with, "socketio-B/conn")
	b.ReportMetric(with-base, "added-B/socket")
}

func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// BenchmarkEchoAck measures round trips of an event acknowledged by a
// typed handler, one client in a closed loop over a WebSocket: the
// latency of the whole path, reading, decoding, the handler's worker,
// encoding and writing.
func BenchmarkEchoAck(b *testing.B) {
	e := newEnv(b, nil)
	socketio.OnAck(e.io, "echo", func(ctx context.Context, s *socketio.Socket, m string) (string, error) {
		return m, nil
	})
	r := e.dial()
	r.connect("/", "")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.send(`421["echo","hello"]`)
		if got := r.next(); got != `431["hello"]` {
			b.Fatalf("got %q", got)
		}
	}
}
