package hub_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/handshake"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/loop"
	"github.com/rfc6455/ws/server"
)

// loopEnv is a hub serving the connections of an event-loop server (or of
// its goroutine driver).
type loopEnv struct {
	t       *testing.T
	h       *hub.Hub
	srv     *loop.Server
	addr    string
	gone    chan gone
	clients chan *hub.Client
}

// newLoopEnv starts a loop.Server whose handler is h.LoopHandler. A client
// names itself with ?user= and joins the room ?room=.
func newLoopEnv(t *testing.T, goroutines bool, opts hub.Options) *loopEnv {
	t.Helper()
	e := &loopEnv{t: t, gone: make(chan gone, 100), clients: make(chan *hub.Client, 100)}
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	onMessage := opts.OnMessage
	opts.OnConnect = func(c *hub.Client) {
		if q, ok := c.Data().(map[string]string); ok && q["room"] != "" {
			c.Join(q["room"])
		}
		e.clients <- c
	}
	opts.OnDisconnect = func(c *hub.Client, err error) { e.gone <- gone{c, err} }
	opts.OnMessage = onMessage
	e.h = hub.New(&opts)
	e.srv = &loop.Server{
		// A client that never reads never answers a close: give up
		// on it soon.
		Options:    server.Options{Conn: ws.Options{CloseTimeout: 500 * time.Millisecond}},
		Goroutines: goroutines,
		Logger:     quiet(),
		Upgrade: func(c *loop.Conn, r *handshake.RawRequest) error {
			q := r.URL.Query()
			c.SetValue(map[string]string{"user": q.Get("user"), "room": q.Get("room")})
			return nil
		},
		Handler: e.h.LoopHandler(func(c *loop.Conn) hub.Info {
			q := c.Value().(map[string]string)
			return hub.Info{User: q["user"], Data: q}
		}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	go e.srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		e.srv.Shutdown(ctx)
		e.h.Shutdown(ctx)
	})
	return e
}

func (e *loopEnv) dial(query string) (*ws.Conn, *hub.Client) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, _, err := client.Dial(ctx, "ws://"+e.addr+"/?"+query, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.CloseNow() })
	return c, e.nextClient()
}

// rawDial completes a handshake by hand and returns the connection, which
// the caller may never read.
func (e *loopEnv) rawDial(query string) (net.Conn, *hub.Client) {
	e.t.Helper()
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { nc.Close() })
	req := "GET /?" + query + " HTTP/1.1\r\nHost: " + e.addr + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		e.t.Fatalf("handshake answered %s", resp.Status)
	}
	return nc, e.nextClient()
}

func (e *loopEnv) nextClient() *hub.Client {
	select {
	case c := <-e.clients:
		return c
	case <-time.After(testTimeout):
		e.t.Fatal("no client connected")
		return nil
	}
}

func (e *loopEnv) nextGone() gone {
	select {
	case g := <-e.gone:
		return g
	case <-time.After(testTimeout):
		e.t.Fatal("no client left")
		return gone{}
	}
}

var loopDrivers = []struct {
	name       string
	goroutines bool
}{{"loop", false}, {"goroutines", true}}

func TestLoopHandlerRoomsBroadcastAndMetrics(t *testing.T) {
	for _, d := range loopDrivers {
		t.Run(d.name, func(t *testing.T) {
			e := newLoopEnv(t, d.goroutines, hub.Options{
				PingInterval: -1,
				OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) {
					pm, _ := ws.NewPreparedMessage(typ, data)
					c.Namespace().Room("a").Broadcast(pm, c)
				},
			})
			a1, ca1 := e.dial("user=ann&room=a")
			a2, _ := e.dial("user=bob&room=a")
			b1, _ := e.dial("user=cid&room=b")
			if got := e.h.Len(); got != 3 {
				t.Fatalf("hub has %d clients, want 3", got)
			}
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if err := a1.WriteMessage(ctx, ws.Text, []byte("hello room a")); err != nil {
				t.Fatal(err)
			}
			_, got, err := a2.ReadMessage(ctx, nil)
			if err != nil || string(got) != "hello room a" {
				t.Fatalf("room member got %q, %v", got, err)
			}
			// b1 is in another room: the next thing it gets is the
			// hub-wide broadcast.
			pm, _ := ws.NewPreparedMessage(ws.Binary, bytes.Repeat([]byte{7}, 100<<10))
			if n := e.h.Broadcast(pm); n != 3 {
				t.Fatalf("Broadcast reached %d clients, want 3", n)
			}
			for _, c := range []*ws.Conn{a1, a2, b1} {
				typ, got, err := c.ReadMessage(ctx, nil)
				if err != nil || typ != ws.Binary || !bytes.Equal(got, pm.Data()) {
					t.Fatalf("broadcast: %v %d bytes, %v", typ, len(got), err)
				}
			}
			st := e.h.Stats()
			if st.MessagesIn != 1 || st.Connections != 3 || st.MessagesOut < 4 {
				t.Errorf("stats %+v", st)
			}
			a1.Close(ws.CloseNormal, "bye")
			g := e.nextGone()
			var ce *ws.CloseError
			if g.c != ca1 || !errors.As(g.err, &ce) || ce.Code != ws.CloseNormal {
				t.Errorf("disconnect of %q with %v", g.c.User(), g.err)
			}
			if e.h.Len() != 2 {
				t.Errorf("hub has %d clients after one left", e.h.Len())
			}
		})
	}
}

func TestLoopHandlerHeartbeat(t *testing.T) {
	for _, d := range loopDrivers {
		t.Run(d.name, func(t *testing.T) {
			e := newLoopEnv(t, d.goroutines, hub.Options{PingInterval: 20 * time.Millisecond, PongTimeout: 3 * time.Second})
			live, liveClient := e.dial("user=live")
			read(live) // answers pings as part of reading
			_, dead := e.rawDial("user=dead")
			g := e.nextGone()
			if g.c != dead || !errors.Is(g.err, hub.ErrPongTimeout) {
				t.Fatalf("disconnect of %q with %v, want the dead client with ErrPongTimeout", g.c.User(), g.err)
			}
			if e.h.Client(liveClient.ID()) != liveClient {
				t.Fatal("the live client is gone")
			}
			deadline := time.Now().Add(testTimeout)
			for e.h.Stats().Pongs < 3 {
				if time.Now().After(deadline) {
					t.Fatalf("pongs counted: %d", e.h.Stats().Pongs)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if st := e.h.Stats(); st.PongTimeouts != 1 {
				t.Errorf("PongTimeouts = %d, want 1", st.PongTimeouts)
			}
		})
	}
}

func TestLoopHandlerClosesASlowClient(t *testing.T) {
	for _, d := range loopDrivers {
		t.Run(d.name, func(t *testing.T) {
			e := newLoopEnv(t, d.goroutines, hub.Options{PingInterval: -1, QueueBytes: 256 << 10, Overflow: hub.CloseSlow})
			nc, slow := e.rawDial("user=slow")
			_ = nc // never read
			pm, _ := ws.NewPreparedMessage(ws.Binary, make([]byte, 64<<10))
			// The socket buffers take some megabytes first; 64 MiB is
			// far more than they hold.
			for i := 0; i < 1024 && e.h.Client(slow.ID()) != nil; i++ {
				if err := slow.SendPrepared(pm); err != nil {
					if !errors.Is(err, hub.ErrQueueFull) && !errors.Is(err, hub.ErrClosed) {
						t.Fatalf("SendPrepared: %v", err)
					}
					break
				}
			}
			g := e.nextGone()
			if g.c != slow || !errors.Is(g.err, hub.ErrQueueFull) {
				t.Fatalf("disconnect of %q with %v, want the slow client with ErrQueueFull", g.c.User(), g.err)
			}
			if st := e.h.Stats(); st.SlowClosed != 1 {
				t.Errorf("SlowClosed = %d, want 1", st.SlowClosed)
			}
		})
	}
}

func TestLoopHandlerShutdown(t *testing.T) {
	for _, d := range loopDrivers {
		t.Run(d.name, func(t *testing.T) {
			e := newLoopEnv(t, d.goroutines, hub.Options{PingInterval: -1})
			c, _ := e.dial("user=x")
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- e.h.Shutdown(ctx) }()
			_, _, err := c.ReadMessage(ctx, nil)
			var ce *ws.CloseError
			if !errors.As(err, &ce) || ce.Code != ws.CloseGoingAway || ce.Reason != hub.ShutdownReason {
				t.Fatalf("client read %v, want 1001", err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if g := e.nextGone(); !errors.Is(g.err, hub.ErrShutdown) {
				t.Errorf("OnDisconnect: %v", g.err)
			}
		})
	}
}
