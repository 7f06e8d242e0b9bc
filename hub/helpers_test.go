package hub_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/server"
)

// testTimeout bounds waits that only a bug makes long.
const testTimeout = 15 * time.Second

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// noLeaks records the goroutine count and, when the test ends (after every
// other cleanup, since it is registered first), waits a bounded time for it
// to come back down.
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

// env is a hub behind a server.Server on a loopback listener.
type env struct {
	t   *testing.T
	h   *hub.Hub
	srv *server.Server
	ts  *httptest.Server
	url string

	mu      sync.Mutex
	conns   []*ws.Conn
	gone    chan gone        // every OnDisconnect
	clients chan *hub.Client // every OnConnect
}

type gone struct {
	c   *hub.Client
	err error
}

// newEnv starts a hub with opts. Clients name themselves with ?user=, pick a
// namespace with ?ns= and rooms with ?room= (repeatable). OnConnect and
// OnDisconnect are wrapped to report to e.clients and e.gone.
func newEnv(t *testing.T, opts hub.Options, sopts server.Options) *env {
	t.Helper()
	e := &env{t: t, gone: make(chan gone, 100), clients: make(chan *hub.Client, 100)}
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	onConnect, onDisconnect := opts.OnConnect, opts.OnDisconnect
	opts.OnConnect = func(c *hub.Client) {
		if rooms, ok := c.Data().([]string); ok {
			c.Join(rooms...)
		}
		if onConnect != nil {
			onConnect(c)
		}
		e.clients <- c
	}
	opts.OnDisconnect = func(c *hub.Client, err error) {
		if onDisconnect != nil {
			onDisconnect(c, err)
		}
		e.gone <- gone{c, err}
	}
	e.h = hub.New(&opts)
	e.srv = &server.Server{Options: sopts, Handle: func(c *ws.Conn, r *http.Request) {
		q := r.URL.Query()
		e.h.Serve(r.Context(), c, hub.Info{User: q.Get("user"), Namespace: q.Get("ns"), Data: q["room"]})
	}}
	e.ts = httptest.NewServer(e.srv)
	e.url = "ws" + strings.TrimPrefix(e.ts.URL, "http")
	t.Cleanup(e.close)
	return e
}

// close ends every client connection, then the hub and the server.
func (e *env) close() {
	e.mu.Lock()
	for _, c := range e.conns {
		c.CloseNow()
	}
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	e.srv.Shutdown(ctx)
	e.h.Shutdown(ctx)
	e.ts.Close()
}

// dial connects a client with the given query and waits until the hub has
// registered it.
func (e *env) dial(query string) (*ws.Conn, *hub.Client) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, _, err := client.Dial(ctx, e.url+"/?"+query, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.conns = append(e.conns, c)
	e.mu.Unlock()
	return c, e.nextClient()
}

func (e *env) nextClient() *hub.Client {
	e.t.Helper()
	select {
	case hc := <-e.clients:
		return hc
	case <-time.After(testTimeout):
		e.t.Fatal("client not registered")
		return nil
	}
}

// nextGone waits for the next disconnect.
func (e *env) nextGone() gone {
	e.t.Helper()
	select {
	case g := <-e.gone:
		return g
	case <-time.After(testTimeout):
		e.t.Fatal("no client disconnected")
		return gone{}
	}
}

// reader reads a connection's messages into a channel until it fails; the
// final error is sent on errc.
type reader struct {
	msgs chan []byte
	errc chan error
}

func read(c *ws.Conn) *reader {
	r := &reader{msgs: make(chan []byte, 4096), errc: make(chan error, 1)}
	go func() {
		for {
			_, msg, err := c.ReadMessage(context.Background(), nil)
			if err != nil {
				r.errc <- err
				return
			}
			r.msgs <- msg
		}
	}()
	return r
}

// next returns the next message, failing the test if none comes.
func (r *reader) next(t *testing.T) []byte {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case err := <-r.errc:
		r.errc <- err
		// The reader queues every message before the error.
		select {
		case m := <-r.msgs:
			return m
		default:
		}
		t.Fatalf("connection ended: %v", err)
	case <-time.After(testTimeout):
		t.Fatal("no message")
	}
	return nil
}

// closed waits for the connection to end and returns the peer's close.
func (r *reader) closed(t *testing.T) *ws.CloseError {
	t.Helper()
	for {
		select {
		case <-r.msgs:
		case err := <-r.errc:
			var ce *ws.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("connection ended with %v, not a close frame", err)
			}
			return ce
		case <-time.After(testTimeout):
			t.Fatal("connection did not end")
			return nil
		}
	}
}

// text prepares a text message.
func text(s string) *ws.PreparedMessage {
	pm, err := ws.NewPreparedMessage(ws.Text, []byte(s))
	if err != nil {
		panic(err)
	}
	return pm
}

// numbered prepares a binary message of size bytes starting with seq.
func numbered(seq uint64, size int) *ws.PreparedMessage {
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b, seq)
	pm, _ := ws.NewPreparedMessage(ws.Binary, b)
	return pm
}

func seqOf(msg []byte) uint64 { return binary.BigEndian.Uint64(msg) }

func dialURL(ctx context.Context, url string) (*ws.Conn, error) {
	c, _, err := client.Dial(ctx, url, nil)
	return c, err
}

// eventually waits, a bounded time, for cond to hold: for counters that a
// writer updates just after the peer has the message.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
