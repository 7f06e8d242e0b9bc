package hub_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/loop"
	"github.com/rfc6455/ws/server"
)

// TestLoopHandlerStorm (helper "attack"): a hub on an event-loop server
// (and on its goroutine driver) with clients that join and leave rooms,
// broadcast to them, close from either side, and some that never read
// while prepared broadcasts pour in from other goroutines (CloseSlow);
// then the hub and the server shut down while it all runs. Each client
// that connected leaves once, the hub and the server end empty, and no
// goroutine is left.
func TestLoopHandlerStorm(t *testing.T) {
	for _, d := range loopDrivers {
		t.Run(d.name, func(t *testing.T) {
			runtime.GC()
			baseG := runtime.NumGoroutine()
			var connected, left atomic.Int64
			var mu sync.Mutex
			seen := map[*hub.Client]int{}
			h := hub.New(&hub.Options{
				Logger:       quiet(),
				QueueBytes:   64 << 10,
				Overflow:     hub.CloseSlow,
				PingInterval: 5 * time.Millisecond,
				PongTimeout:  time.Minute, // the idle clients must leave by CloseSlow
				OnConnect: func(c *hub.Client) {
					connected.Add(1)
					c.Join("all")
				},
				OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) {
					cmd, arg, _ := strings.Cut(string(data), ":")
					switch cmd {
					case "join":
						c.Join(arg)
					case "leave":
						c.Leave(arg)
					case "room":
						pm, _ := ws.NewPreparedMessage(typ, data)
						c.Namespace().Room(arg).Broadcast(pm)
					case "echo":
						pm, _ := ws.NewPreparedMessage(typ, data)
						c.SendPrepared(pm)
					case "bye":
						c.Close(ws.CloseNormal, "bye")
					}
				},
				OnDisconnect: func(c *hub.Client, err error) {
					left.Add(1)
					mu.Lock()
					seen[c]++
					if seen[c] > 1 {
						t.Errorf("OnDisconnect %d times for %s", seen[c], c.ID())
					}
					mu.Unlock()
				},
			})
			srv := &loop.Server{
				Handler:    h.LoopHandler(nil),
				Goroutines: d.goroutines,
				Loops:      2,
				PauseBytes: 16 << 10,
				Logger:     quiet(),
				Options:    server.Options{Conn: ws.Options{CloseTimeout: time.Second}},
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			url := "ws://" + ln.Addr().String() + "/"

			stop := make(chan struct{})
			var bg sync.WaitGroup
			big, _ := ws.NewPreparedMessage(ws.Binary, make([]byte, 16<<10))
			small, _ := ws.NewPreparedMessage(ws.Text, []byte("news"))
			for i := range 2 {
				bg.Add(1)
				go func() {
					defer bg.Done()
					for n := 0; ; n++ {
						select {
						case <-stop:
							return
						default:
						}
						if i == 0 {
							h.Room("all").Broadcast(big)
						} else {
							h.Broadcast(small)
						}
						if n%8 == 0 {
							time.Sleep(time.Millisecond) // leave the readers some of the CPU
						}
					}
				}()
			}
			// Never-reading clients: the hub must drop them (CloseSlow).
			var idle []net.Conn
			for range 4 {
				nc := rawUpgrade(t, ln.Addr().String())
				idle = append(idle, nc)
				// A ping flood they never read the pongs of.
				go func() {
					ping := []byte{0x89, 0x80, 1, 2, 3, 4}
					for range 20000 {
						if _, err := nc.Write(ping); err != nil {
							return
						}
					}
				}()
			}

			wave := func(clients, rounds int) {
				var wg sync.WaitGroup
				for i := range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for j := range rounds {
							stormClient(url, i, j)
						}
					}()
				}
				wg.Wait()
			}
			wave(12, 8)
			// The clients that never read overflow their queues.
			for deadline := time.Now().Add(30 * time.Second); h.Stats().SlowClosed < 4; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("SlowClosed = %d, want the 4 clients that never read", h.Stats().SlowClosed)
				}
			}
			waveDone := make(chan struct{})
			go func() {
				wave(8, 6)
				close(waveDone)
			}()
			for connected.Load() < left.Load()+6 && len(waveDone) == 0 {
				time.Sleep(time.Millisecond)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var sd sync.WaitGroup
			sd.Add(2)
			go func() {
				defer sd.Done()
				if err := h.Shutdown(ctx); err != nil {
					t.Errorf("hub Shutdown: %v", err)
				}
			}()
			go func() {
				defer sd.Done()
				if err := srv.Shutdown(ctx); err != nil {
					t.Errorf("server Shutdown: %v", err)
				}
			}()
			sd.Wait()
			if err := <-served; err != loop.ErrServerClosed {
				t.Errorf("Serve: %v", err)
			}
			<-waveDone
			close(stop)
			bg.Wait()
			for _, nc := range idle {
				nc.Close()
			}
			if c, l := connected.Load(), left.Load(); c != l {
				t.Errorf("%d clients connected, %d left", c, l)
			}
			if n := h.Len(); n != 0 {
				t.Errorf("hub Len after Shutdown: %d", n)
			}
			if n := srv.Len(); n != 0 {
				t.Errorf("server Len after Shutdown: %d", n)
			}
			st := h.Stats()
			t.Logf("%d clients; stats %+v", connected.Load(), st)
			deadline := time.Now().Add(30 * time.Second)
			for runtime.NumGoroutine() > baseG {
				if time.Now().After(deadline) {
					buf := make([]byte, 1<<20)
					t.Fatalf("%d goroutines, %d before\n%s", runtime.NumGoroutine(), baseG, buf[:runtime.Stack(buf, true)])
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// stormClient connects, joins a room, broadcasts to it, echoes, leaves,
// and ends the way j says; it reads everything that comes meanwhile.
func stormClient(url string, i, j int) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := client.Dial(ctx, url, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	await := func(want string) error {
		for {
			_, b, err := c.ReadMessage(ctx, nil)
			if err != nil {
				return err
			}
			if bytes.Equal(b, []byte(want)) {
				return nil
			}
		}
	}
	room := fmt.Sprintf("r%d", i%3)
	for _, m := range []string{"join:" + room, "room:" + room, "echo:1", "leave:" + room, "echo:2"} {
		if c.WriteMessage(ctx, ws.Text, []byte(m)) != nil {
			return
		}
		if m == "room:"+room || strings.HasPrefix(m, "echo") {
			if await(m) != nil {
				return
			}
		}
	}
	switch j % 3 {
	case 0:
		c.Close(ws.CloseNormal, "done")
	case 1:
		c.WriteMessage(ctx, ws.Text, []byte("bye"))
		await("\x00never")
	case 2:
		// Gone without a word.
	}
}

// rawUpgrade opens a WebSocket connection by hand, with a small receive
// buffer, and returns it after the 101; the caller need never read it.
func rawUpgrade(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.(*net.TCPConn).SetReadBuffer(4096)
	t.Cleanup(func() { nc.Close() })
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	// Read the 101 byte by byte, so that nothing after it is taken.
	var head []byte
	b := make([]byte, 1)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		if _, err := nc.Read(b); err != nil {
			t.Fatalf("handshake: %v after %q", err, head)
		}
		head = append(head, b[0])
	}
	nc.SetReadDeadline(time.Time{})
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 101")) {
		t.Fatalf("handshake: %q", head)
	}
	return nc
}
