package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"golang.org/x/net/http2"
)

// inHTTP2Child runs the calling test again in a child process with
// GODEBUG=http2xconnect=1, which Go 1.26's net/http needs at start-up to
// offer RFC 8441 extended CONNECT, and reports true in the parent. A crash
// of the server (a panic in net/http) kills the child, not the test run.
func inHTTP2Child(t *testing.T) bool {
	t.Helper()
	if strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1") {
		return false
	}
	if testing.Short() {
		t.Skip("runs a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1", "-test.timeout=120s")
	cmd.Env = append(os.Environ(), "GODEBUG=http2xconnect=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	return true
}

// newH2Server starts a TLS server with HTTP/2 for h.
func newH2Server(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// h2Client is an RFC 8441 client: x/net's HTTP/2 transport, whose extended
// CONNECT requests carry :protocol.
type h2Client struct {
	t   *testing.T
	srv *httptest.Server
	tr  *http2.Transport
}

func newH2Client(t *testing.T, srv *httptest.Server) *h2Client {
	tr := &http2.Transport{TLSClientConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig}
	t.Cleanup(tr.CloseIdleConnections)
	return &h2Client{t: t, srv: srv, tr: tr}
}

// dial opens a WebSocket stream; cancelling ctx resets the stream.
func (h *h2Client) dial(ctx context.Context) *ws.Conn {
	h.t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, http.MethodConnect, h.srv.URL+"/ws", pr)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set(":protocol", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	resp, err := h.tr.RoundTrip(req)
	if err != nil {
		h.t.Fatalf("extended CONNECT: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("extended CONNECT: %s", resp.Status)
	}
	c := ws.NewConn(&pipeConn{r: resp.Body, w: pw}, nil, ws.RoleClient, &ws.Options{CloseTimeout: 2 * time.Second})
	h.t.Cleanup(func() { c.CloseNow() })
	return c
}

// waitFor polls cond until it holds, failing the test after testTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(testTimeout); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Issue 18, "WebSocket over HTTP/2 through server.Handler": Server keeps the
// handler running on HTTP/2 until the WebSocket ends. Messages go both
// ways, either side closes cleanly, and 100 connections dropped in the
// middle of a message leave the server serving.
func TestServerOverHTTP2(t *testing.T) {
	if inHTTP2Child(t) {
		return
	}
	handled := make(chan error, 200)
	s := &Server{
		Options: Options{Conn: ws.Options{CloseTimeout: 2 * time.Second}},
		Handle: func(c *ws.Conn, r *http.Request) {
			ctx := context.Background()
			if err := c.WriteMessage(ctx, ws.Text, []byte("welcome")); err != nil {
				handled <- err
				return
			}
			var buf []byte
			for {
				typ, m, err := c.ReadMessage(ctx, buf)
				if err != nil {
					handled <- err
					return
				}
				switch {
				case string(m) == "close, please":
					handled <- c.Close(4000, "as you wish")
					return
				case string(m) == "stream":
					// A message larger than the stream's window
					// (4 MiB with x/net's transport): the client
					// drops the stream half way, while this write
					// waits for flow control.
					err := c.WriteMessage(ctx, ws.Binary, make([]byte, 5<<20))
					handled <- err
					return
				}
				if err := c.WriteMessage(ctx, typ, m); err != nil {
					handled <- err
					return
				}
				buf = m
			}
		},
	}
	srv := newH2Server(t, s)
	h := newH2Client(t, srv)
	welcome := func(c *ws.Conn) {
		t.Helper()
		if _, m, err := c.ReadMessage(testContext(t), nil); err != nil || string(m) != "welcome" {
			t.Fatalf("first message %q, %v", m, err)
		}
	}

	t.Run("echo", func(t *testing.T) {
		ctx := testContext(t)
		c := h.dial(ctx)
		welcome(c)
		for _, msg := range []string{"over HTTP/2", strings.Repeat("big ", 100000)} {
			if got := roundTrip(t, c, ws.Text, msg); got != msg {
				t.Fatalf("echo of %d bytes came back as %d", len(msg), len(got))
			}
		}
		if got := roundTrip(t, c, ws.Binary, "\x00\x01"); got != "\x00\x01" {
			t.Fatalf("binary echo %q", got)
		}
		if err := c.Close(ws.CloseNormal, "done"); err != nil {
			t.Fatalf("Close from the client: %v", err)
		}
		var ce *ws.CloseError
		if err := receive(t, handled); !errors.As(err, &ce) || ce.Code != ws.CloseNormal || ce.Reason != "done" {
			t.Fatalf("the server's read ended with %v, want the client's close", err)
		}
		waitFor(t, "the handler to return", func() bool { return s.Len() == 0 })
	})

	t.Run("close from the server", func(t *testing.T) {
		ctx := testContext(t)
		c := h.dial(ctx)
		welcome(c)
		closed := make(chan error, 1)
		go func() {
			_, _, err := c.ReadMessage(ctx, nil)
			closed <- err
		}()
		if err := c.WriteMessage(ctx, ws.Text, []byte("close, please")); err != nil {
			t.Fatal(err)
		}
		var ce *ws.CloseError
		if err := receive(t, closed); !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "as you wish" {
			t.Fatalf("the client read %v, want the server's close", err)
		}
		if err := receive(t, handled); err != nil {
			t.Fatalf("Close from the server: %v", err)
		}
		if st := c.State(); st != ws.StateClosed {
			t.Fatalf("client state %v: the stream did not end", st)
		}
		waitFor(t, "the handler to return", func() bool { return s.Len() == 0 })
	})

	t.Run("100 connections dropped mid-stream", func(t *testing.T) {
		before := runtime.NumGoroutine()
		for i := 0; i < 100; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			sctx, reset := context.WithCancel(ctx)
			c := h.dial(sctx)
			welcome(c)
			if err := c.WriteMessage(ctx, ws.Text, []byte("stream")); err != nil {
				t.Fatal(err)
			}
			_, r, err := c.NextReader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.CopyN(io.Discard, r, 64<<10); err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			reset() // RST_STREAM half way through the message
			c.CloseNow()
			if err := receive(t, handled); err == nil {
				t.Fatalf("connection %d: the server's write of a message cut half way succeeded", i)
			}
		}
		waitFor(t, "every handler to return", func() bool { return s.Len() == 0 })
		ctx := testContext(t)
		c := h.dial(ctx)
		welcome(c)
		if got := roundTrip(t, c, ws.Text, "alive"); got != "alive" {
			t.Fatalf("echo after the drops: %q", got)
		}
		c.Close(ws.CloseNormal, "")
		receive(t, handled)
		waitFor(t, "the goroutines of the dropped connections to end", func() bool {
			return runtime.NumGoroutine() <= before+10
		})
	})
}

// Issue 20, bug 3: CloseNow on an HTTP/2 stream whose peer stopped reading
// returns at once and ends the write blocked on flow control; Close gives
// up after CloseTimeout and does the same.
func TestHTTP2CloseWhileWriteBlocked(t *testing.T) {
	if inHTTP2Child(t) {
		return
	}
	for _, now := range []bool{true, false} {
		result := make(chan string, 3)
		srv := newH2Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := Accept(w, r, &Options{Conn: ws.Options{CloseTimeout: 200 * time.Millisecond}})
			if err != nil {
				result <- "accept: " + err.Error()
				return
			}
			blocked := make(chan struct{})
			wrote := make(chan error, 1)
			var sent atomic.Int64
			go func() {
				msg := make([]byte, 256<<10)
				for {
					if err := c.WriteMessage(context.Background(), ws.Binary, msg); err != nil {
						wrote <- err
						return
					}
					if sent.Add(1) == 1 {
						close(blocked)
					}
				}
			}()
			<-blocked
			// More than the stream's flow-control window goes out
			// before a write blocks: wait until one has.
			for n := sent.Load(); ; n = sent.Load() {
				time.Sleep(50 * time.Millisecond)
				if sent.Load() == n {
					break
				}
			}
			done := make(chan error, 1)
			go func() {
				if now {
					done <- c.CloseNow()
				} else {
					done <- c.Close(ws.CloseGoingAway, "")
				}
			}()
			select {
			case <-done:
				result <- "closed"
			case <-time.After(testTimeout):
				result <- "HANG: the close did not return while a write was blocked"
			}
			select {
			case err := <-wrote:
				result <- "writer: " + err.Error()
			case <-time.After(testTimeout):
				result <- "HANG: the blocked write did not return"
			}
		}))
		h := newH2Client(t, srv)
		h.dial(testContext(t)) // never read
		for i := 0; i < 2; i++ {
			if r := receive(t, result); strings.HasPrefix(r, "HANG") || strings.HasPrefix(r, "accept") {
				t.Fatalf("CloseNow=%v: %s", now, r)
			}
		}
	}
}

// Issue 20, bug 2: a handler that reads with the request's context while
// its peers reset their streams right after a message: nothing touches a
// response writer after its handler returned (the process used to crash).
func TestHTTP2ReadWithRequestContextPeersReset(t *testing.T) {
	if inHTTP2Child(t) {
		return
	}
	var returned, accepted atomic.Int32
	srv := newH2Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer returned.Add(1)
		c, err := Accept(w, r, nil)
		if err != nil {
			return
		}
		accepted.Add(1)
		var buf []byte
		for {
			_, m, err := c.ReadMessage(r.Context(), buf)
			if err != nil {
				return
			}
			buf = m
		}
	}))
	h := newH2Client(t, srv)
	const n = 100
	for i := 0; i < n; i++ {
		sctx, reset := context.WithCancel(testContext(t))
		c := h.dial(sctx)
		c.WriteMessage(testContext(t), ws.Text, []byte("hello"))
		reset()
		c.CloseNow()
	}
	waitFor(t, "every handler to return", func() bool { return returned.Load() == n })
	t.Logf("%d of %d streams accepted before their reset", accepted.Load(), n)
}

// Deadlines on an HTTP/2 stream can be moved back after they passed, as on
// a socket: a read or write interrupted by a context that ended just as it
// succeeded leaves the connection usable.
func TestHTTP2DeadlinesMoveBack(t *testing.T) {
	if inHTTP2Child(t) {
		return
	}
	srv := newH2Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, nil)
		if err != nil {
			return
		}
		nc := c.NetConn()
		nc.SetDeadline(time.Unix(1, 0))
		if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			c.WriteMessage(context.Background(), ws.Text, []byte("read past its deadline: "+errString(err)))
		}
		nc.SetDeadline(time.Time{})
		echo(c)
		c.Close(ws.CloseNormal, "")
	}))
	c := newH2Client(t, srv).dial(testContext(t))
	for _, msg := range []string{"one", "two"} {
		if got := roundTrip(t, c, ws.Text, msg); got != msg {
			t.Fatalf("echo of %q: %q", msg, got)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
