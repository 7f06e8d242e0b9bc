package loop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

// chaosHandler re-enters its connections from every callback and checks
// what the API promises: OnClose once per opened connection, and nothing
// queued once a connection is closing or closed.
type chaosHandler struct {
	t      *testing.T
	mu     sync.Mutex
	conns  []*Conn         // every connection opened, closed ones included
	closed map[*Conn]error // OnClose's error by connection
	opened atomic.Int64
	ended  atomic.Int64
	bad    atomic.Int64 // broken promises, logged
}

func (h *chaosHandler) fail(format string, args ...any) {
	if h.bad.Add(1) <= 10 {
		h.t.Errorf(format, args...)
	}
}

func (h *chaosHandler) OnOpen(c *Conn) {
	h.opened.Add(1)
	h.mu.Lock()
	h.conns = append(h.conns, c)
	h.mu.Unlock()
	c.Send(ws.Text, []byte("hi"))
}

func (h *chaosHandler) OnMessage(c *Conn, typ ws.MessageType, data []byte) {
	cmd, _, _ := strings.Cut(string(data), ":")
	switch cmd {
	case "echo":
		c.Send(typ, data)
	case "close":
		c.Close(ws.CloseNormal, "asked")
		if err := c.Send(ws.Text, []byte("late")); !errors.Is(err, ErrClosed) {
			h.fail("Send after Close: %v, want ErrClosed", err)
		}
	case "closenow":
		c.Send(ws.Text, data)
		c.CloseNow()
	case "discard":
		for range 3 {
			c.Send(ws.Binary, make([]byte, 64<<10))
		}
		c.CloseDiscard(ws.CloseTryAgainLater, "discarded")
	case "ping":
		c.Ping(data)
	case "panic":
		panic("chaos")
	}
}

func (h *chaosHandler) OnClose(c *Conn, err error) {
	h.ended.Add(1)
	h.mu.Lock()
	if prev, ok := h.closed[c]; ok {
		h.fail("OnClose twice: %v, then %v", prev, err)
	}
	h.closed[c] = err
	h.mu.Unlock()
	if err := c.Send(ws.Text, []byte("x")); !errors.Is(err, ErrClosed) {
		h.fail("Send in OnClose: %v, want ErrClosed", err)
	}
	if err := c.Ping(nil); err == nil {
		h.fail("Ping in OnClose: nil error")
	}
	c.Close(ws.CloseNormal, "")
	c.CloseDiscard(ws.CloseNormal, "")
	c.CloseNow()
	if n := c.BufferedAmount(); n != 0 {
		h.fail("BufferedAmount in OnClose: %d", n)
	}
}

// snapshot returns the connections opened so far.
func (h *chaosHandler) snapshot() []*Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*Conn(nil), h.conns...)
}

// countFDs returns the number of open file descriptors of the process.
func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// TestChaos: many clients that each end their connections a different way
// (their close, the server's on request, CloseNow from either side, a
// CloseDiscard behind a full queue, a panicking handler), while other
// goroutines send, ping, close and query every connection ever opened
// (closed ones too, whose descriptors new connections reuse), with a fast
// heartbeat churning the timer heap; then a second wave during Shutdown.
// Every opened connection gets one OnClose, Shutdown returns, and no
// goroutine or descriptor is left.
func TestChaos(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			runtime.GC()
			baseG := runtime.NumGoroutine()
			baseFD := countFDs(t)
			h := &chaosHandler{t: t, closed: map[*Conn]error{}}
			s := &Server{
				Handler:    h,
				Goroutines: d.goroutines,
				Loops:      2,
				PauseBytes: 8 << 10,
				Policy:     Policy{QueueSize: 32, QueueBytes: 128 << 10, Overflow: CloseSlow, PingInterval: 2 * time.Millisecond},
				Logger:     discardLogger(),
			}
			s.Options.Conn.CloseTimeout = 2 * time.Second
			ln := listenLoopback(t)
			addr := ln.Addr().String()
			served := make(chan error, 1)
			go func() { served <- s.Serve(ln) }()

			stop := make(chan struct{})
			var meddlers sync.WaitGroup
			pm, err := ws.NewPreparedMessage(ws.Text, []byte("broadcast"))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				meddlers.Add(1)
				go func() {
					defer meddlers.Done()
					r := rand.New(rand.NewPCG(uint64(i), 7))
					for n := 0; ; n++ {
						select {
						case <-stop:
							return
						default:
						}
						conns := h.snapshot()
						if len(conns) == 0 {
							runtime.Gosched()
							continue
						}
						c := conns[r.IntN(len(conns))]
						switch r.IntN(40) {
						case 0:
							c.Close(ws.CloseGoingAway, "meddler")
						case 1:
							c.CloseNow()
						case 2:
							c.CloseDiscard(ws.CloseTryAgainLater, "meddler")
						case 3, 4, 5:
							c.Ping([]byte("m"))
						case 6, 7:
							c.RemoteAddr()
							c.LocalAddr()
							c.Queued()
							c.BufferedAmount()
						default:
							if n%2 == 0 {
								c.SendPrepared(pm)
							} else {
								c.Send(ws.Binary, []byte("meddler"))
							}
						}
						if n%16 == 0 {
							runtime.Gosched()
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
							chaosClient(addr, (i*rounds+j)%8)
						}
					}()
				}
				wg.Wait()
			}
			wave(24, 12)

			// The second wave runs while the server shuts down.
			waveDone := make(chan struct{})
			go func() {
				wave(16, 8)
				close(waveDone)
			}()
			for h.opened.Load() < h.ended.Load()+8 && len(waveDone) == 0 {
				time.Sleep(time.Millisecond) // until some of the wave's connections are open
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if err := <-served; err != ErrServerClosed {
				t.Errorf("Serve: %v", err)
			}
			<-waveDone
			close(stop)
			meddlers.Wait()

			if o, e := h.opened.Load(), h.ended.Load(); o != e {
				t.Errorf("%d connections opened, %d OnClose", o, e)
			}
			if n := s.Len(); n != 0 {
				t.Errorf("Len after Shutdown: %d", n)
			}
			// Late calls on every handle ever given out.
			for _, c := range h.snapshot() {
				if err := c.Send(ws.Text, []byte("late")); !errors.Is(err, ErrClosed) {
					t.Errorf("Send after Shutdown: %v", err)
					break
				}
				c.Close(ws.CloseNormal, "")
				c.CloseNow()
			}
			t.Logf("%d connections", h.opened.Load())
			waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= baseG })
			waitFor(t, "descriptors to close", func() bool { return countFDs(t) <= baseFD })
		})
	}
}

// chaosClient opens a connection and ends it the way kind says, reading
// what comes in between (broadcasts, pings, its echoes).
func chaosClient(addr string, kind int) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := client.Dial(ctx, "ws://"+addr+"/", nil)
	if err != nil {
		return // refused during Shutdown, or the listener is closed
	}
	defer c.CloseNow()
	// Reads until a message starting with want, or an error.
	await := func(want string) error {
		for {
			_, b, err := c.ReadMessage(ctx, nil)
			if err != nil {
				return err
			}
			if bytes.HasPrefix(b, []byte(want)) {
				return nil
			}
		}
	}
	for i := range 3 {
		msg := fmt.Sprintf("echo:%d", i)
		if c.WriteMessage(ctx, ws.Text, []byte(msg)) != nil || await(msg) != nil {
			return
		}
	}
	cmd := [...]string{"close", "closenow", "discard", "ping:x", "panic", "", "", ""}[kind]
	if cmd != "" {
		if c.WriteMessage(ctx, ws.Text, []byte(cmd)) != nil {
			return
		}
	}
	switch kind {
	case 3:
		c.Close(ws.CloseNormal, "after ping")
	case 5:
		c.Close(ws.CloseNormal, "bye")
	case 6:
		c.CloseNow() // abrupt: 1006 on the server
		return
	case 7:
		// Leaves with an echo unread and the socket closed under it.
		c.WriteMessage(ctx, ws.Text, bytes.Repeat([]byte("echo:"), 20000))
		return
	}
	await("\x00never") // until the server ends it
}

// waitFor waits until cond holds, giving up (and failing) after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("gave up waiting for %s\n%s", what, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// discardLogger is a Logger that drops everything (the panics the chaos
// handler provokes).
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// listenLoopback listens on a loopback port.
func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
