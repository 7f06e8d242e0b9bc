package engineio

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
	"github.com/rfc6455/ws/server"
)

// TestNoGoroutineLeak runs sessions of both transports to every kind of
// end (client close, ping timeout with and without a pending GET, parse
// error, peer close, upgrade, server Close, Shutdown) and checks that every
// goroutine they started is gone afterwards.
func TestNoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	var conns []*conn
	// The client connections are closed only after the check: the server
	// must end its goroutines by itself, even with clients that neither
	// read nor close.
	defer func() {
		for _, c := range conns {
			c.c.CloseNow()
		}
	}()
	func() {
		// Two servers: one whose heartbeat ends sessions quickly, and one
		// whose sessions live until Shutdown, whatever the pace of the
		// test (an upgrade must come before its session's ping timeout).
		newServer := func(interval, timeout time.Duration) *harness {
			rec := newRecorder(t)
			srv := NewServer(&Options{Handler: rec, PingInterval: interval, PingTimeout: timeout,
				WebSocket: server.Options{Conn: ws.Options{CloseTimeout: 200 * time.Millisecond}}})
			hs := httptest.NewServer(srv)
			return &harness{t: t, srv: srv, rec: rec, hs: hs, url: hs.URL + "/engine.io/",
				wsURL: "ws" + strings.TrimPrefix(hs.URL, "http") + "/engine.io/",
				hc:    &http.Client{Timeout: testTimeout, Transport: &http.Transport{}}}
		}
		h := newServer(30*time.Millisecond, 60*time.Millisecond)
		hl := newServer(time.Minute, time.Minute)
		for _, h := range []*harness{h, hl} {
			defer h.hs.Close()
			defer h.hc.CloseIdleConnections()
		}
		srv := h.srv
		var wg sync.WaitGroup
		run := func(f func()) {
			wg.Add(1)
			go func() { defer wg.Done(); f() }()
		}
		var mu sync.Mutex
		keep := func(c *conn) { mu.Lock(); conns = append(conns, c); mu.Unlock() }
		for i := range 10 {
			sid, s := h.open()
			switch i % 5 {
			case 0:
				run(func() { h.post(pq(sid), "1") })
			case 1: // ping timeout with a GET pending
				run(func() { h.get(pq(sid)); h.get(pq(sid)) })
			case 2: // ping timeout, nothing pending
			case 3:
				run(func() { h.post(pq(sid), "zz") })
			case 4:
				s.Send(context.Background(), ws.Text, []byte("x"))
				s.Close()
				run(func() { h.get(pq(sid)) })
			}
		}
		for i := range 10 {
			c := h.mustDial("?EIO=4&transport=websocket")
			keep(c)
			h.rec.awaitOpen()
			switch i % 4 {
			case 0:
				c.send(ws.Text, "1")
			case 1: // the peer closes
				run(func() { c.c.Close(ws.CloseNormal, "") })
			case 2: // ping timeout: the client never reads
			case 3:
				c.send(ws.Text, "?")
			}
		}
		for range 4 {
			sid, _ := hl.open()
			c := hl.upgrade(sid)
			keep(c)
			c.send(ws.Text, "4up")
		}
		wg.Wait()
		// Wait for the timeouts to end the rest, then shut down.
		deadline := time.Now().Add(testTimeout)
		for srv.Len() > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		for _, h := range []*harness{h, hl} {
			if err := h.srv.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		}
	}()
	deadline := time.Now().Add(2 * testTimeout)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, %d before:\n%s", n, base, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
