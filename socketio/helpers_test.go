package socketio_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/internal/looptest"
	"github.com/rfc6455/ws/socketio"
)

// testTimeout bounds waits that only a bug makes long.
const testTimeout = 10 * time.Second

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// noLeaks checks, when the test ends, that the goroutines it started are
// gone (within a bounded time).
func noLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(testTimeout)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines left behind:\n%s", runtime.NumGoroutine()-before, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// env is a Socket.IO server on a loopback listener.
type env struct {
	t     testing.TB
	io    *socketio.Server
	url   string
	wsURL string
	hc    *http.Client
}

func newEnv(t testing.TB, opts *socketio.Options) *env {
	t.Helper()
	if opts == nil {
		opts = &socketio.Options{}
	}
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	e := &env{t: t, io: socketio.NewServer(opts), hc: &http.Client{Timeout: testTimeout}}
	var stop func()
	if looptest.OnLoop(t) {
		// The event-loop driver: a loop.Server from an engineio.LoopMux.
		mux := engineio.NewLoopMux()
		mux.Handle("/socket.io/", e.io.Engine())
		var addr string
		addr, stop = looptest.Serve(t, mux.Server(), testTimeout)
		e.url = "http://" + addr
	} else {
		mux := http.NewServeMux()
		mux.Handle("/socket.io/", e.io)
		srv := httptest.NewServer(mux)
		e.url, stop = srv.URL, srv.Close
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		e.io.Shutdown(ctx)
		stop()
		e.hc.CloseIdleConnections()
	})
	e.wsURL = "ws" + strings.TrimPrefix(e.url, "http")
	return e
}

// eachDriver runs test against each driver of the WebSocket transport
// (see looptest.EachDriver).
func eachDriver(t *testing.T, test func(t *testing.T)) { looptest.EachDriver(t, test) }

// onLoop reports whether t's servers run on the event-loop driver.
func onLoop(t testing.TB) bool { return looptest.OnLoop(t) }

// raw is a client speaking Engine.IO 4 and Socket.IO 5 by hand over a
// WebSocket, to see every byte.
type raw struct {
	t   testing.TB
	c   *ws.Conn
	sid string
}

// dial opens a WebSocket session and reads its open packet.
func (e *env) dial() *raw {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, _, err := client.Dial(ctx, e.wsURL+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.CloseNow() })
	r := &raw{t: e.t, c: c}
	open := r.next()
	var v struct{ Sid string }
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &v) != nil {
		e.t.Fatalf("open packet %q", open)
	}
	r.sid = v.Sid
	return r
}

// read returns the next message, answering pings.
func (r *raw) read() (ws.MessageType, string) {
	r.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		typ, msg, err := r.c.ReadMessage(ctx, nil)
		cancel()
		if err != nil {
			r.t.Fatalf("read: %v", err)
		}
		if typ == ws.Text && string(msg) == "2" {
			r.send("3")
			continue
		}
		return typ, string(msg)
	}
}

// next returns the next text message, answering pings.
func (r *raw) next() string {
	r.t.Helper()
	typ, msg := r.read()
	if typ != ws.Text {
		r.t.Fatalf("got a binary message %q, want text", msg)
	}
	return msg
}

// expect reads the next text message and checks it.
func (r *raw) expect(want string) {
	r.t.Helper()
	if got := r.next(); got != want {
		r.t.Fatalf("got %q, want %q", got, want)
	}
}

// expectBinary reads the next message, which must be binary.
func (r *raw) expectBinary(want string) {
	r.t.Helper()
	typ, got := r.read()
	if typ != ws.Binary || got != want {
		r.t.Fatalf("got %v %q, want binary %q", typ, got, want)
	}
}

func (r *raw) send(msg string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := r.c.WriteMessage(ctx, ws.Text, []byte(msg)); err != nil {
		r.t.Fatalf("send %q: %v", msg, err)
	}
}

func (r *raw) sendBinary(b []byte) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := r.c.WriteMessage(ctx, ws.Binary, b); err != nil {
		r.t.Fatal(err)
	}
}

// connect joins namespace nsp ("/" or "/x") with auth (may be ""), and
// returns the socket id from the CONNECT answer.
func (r *raw) connect(nsp, auth string) string {
	r.t.Helper()
	prefix := "40"
	if nsp != "/" {
		prefix += nsp + ","
	}
	r.send(prefix + auth)
	answer := r.next()
	if !strings.HasPrefix(answer, prefix+"{") {
		r.t.Fatalf("CONNECT answer %q", answer)
	}
	var v struct{ Sid string }
	if err := json.Unmarshal([]byte(answer[len(prefix):]), &v); err != nil || v.Sid == "" {
		r.t.Fatalf("CONNECT answer %q: %v", answer, err)
	}
	return v.Sid
}

// awaitClose waits until the server closes the connection.
func (r *raw) awaitClose() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for {
		typ, msg, err := r.c.ReadMessage(ctx, nil)
		if err != nil {
			if ctx.Err() != nil {
				r.t.Fatal("not closed")
			}
			return
		}
		if typ == ws.Text && string(msg) == "2" {
			r.c.WriteMessage(ctx, ws.Text, []byte("3"))
		}
	}
}

// socketOf waits for the server's socket with the given id.
func (e *env) socketOf(ns *socketio.Namespace, id string) *socketio.Socket {
	e.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		if s := ns.Socket(id); s != nil {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no socket %s in %s", id, ns.Name())
		}
		time.Sleep(time.Millisecond)
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
