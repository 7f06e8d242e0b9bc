//go:build !js

package ws_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/server"
)

// loopback returns the two ends of a loopback TCP connection.
func loopback(t testing.TB) (net.Conn, net.Conn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	a := <-ch
	if a == nil {
		b.Close()
		return nil, nil, errors.New("accept failed")
	}
	return a, b, nil
}

// wsPair returns a server and a client Conn over loopback TCP; the test's
// cleanup closes them.
func wsPair(t testing.TB, opts *ws.Options) (srv, cli *ws.Conn) {
	t.Helper()
	a, b, err := loopback(t)
	if err != nil {
		t.Fatal(err)
	}
	srv = ws.NewConn(a, nil, ws.RoleServer, opts)
	cli = ws.NewConn(b, nil, ws.RoleClient, opts)
	t.Cleanup(func() { srv.CloseNow(); cli.CloseNow() })
	return srv, cli
}

// netPair returns NetConns of type typ on both ends of wsPair.
func netPair(t testing.TB, typ ws.MessageType) (srv, cli net.Conn) {
	t.Helper()
	s, c := wsPair(t, nil)
	srv = ws.NetConn(context.Background(), s, typ)
	cli = ws.NetConn(context.Background(), c, typ)
	t.Cleanup(func() { srv.Close(); cli.Close() })
	return srv, cli
}

// checkNetConnGoroutines fails t if goroutines of NetConn are still running
// a few seconds after the test (its cleanups included) ended. Call it first,
// so that its cleanup runs last.
func checkNetConnGoroutines(t *testing.T) {
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			var left []string
			for _, g := range strings.Split(stacks, "\n\n") {
				if strings.Contains(g, "ws.(*netConn)") {
					left = append(left, g)
				}
			}
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d NetConn goroutines left behind:\n%s", len(left), strings.Join(left, "\n\n"))
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestNetConnNettest runs golang.org/x/net/nettest's conformance suite for
// net.Conn implementations on pairs of NetConns: each side in each role, and
// over a real handshake with permessage-deflate.
func TestNetConnNettest(t *testing.T) {
	checkNetConnGoroutines(t)
	raw := func(swap bool) nettest.MakePipe {
		return func() (c1, c2 net.Conn, stop func(), err error) {
			a, b, err := loopback(t)
			if err != nil {
				return nil, nil, nil, err
			}
			s := ws.NewConn(a, nil, ws.RoleServer, nil)
			c := ws.NewConn(b, nil, ws.RoleClient, nil)
			c1 = ws.NetConn(context.Background(), s, ws.Binary)
			c2 = ws.NetConn(context.Background(), c, ws.Binary)
			if swap {
				c1, c2 = c2, c1
			}
			return c1, c2, func() {
				// A peer that never reads would hold a close handshake
				// for its whole timeout: end the transports first.
				s.CloseNow()
				c.CloseNow()
				c1.Close()
				c2.Close()
			}, nil
		}
	}
	t.Run("server-client", func(t *testing.T) { nettest.TestConn(t, raw(false)) })
	t.Run("client-server", func(t *testing.T) { nettest.TestConn(t, raw(true)) })
	t.Run("handshake-deflate", func(t *testing.T) {
		accepted := make(chan *ws.Conn, 1)
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := server.Accept(w, r, &server.Options{Compression: &deflate.ServerConfig{}})
			if err != nil {
				t.Errorf("accept: %v", err)
				return
			}
			accepted <- c
		}))
		defer hs.Close()
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), &client.Options{
				Proxy: client.NoProxy, Compression: &deflate.ClientConfig{},
			})
			if err != nil {
				return nil, nil, nil, err
			}
			s := <-accepted
			if _, ok := c.Compression(); !ok {
				t.Error("permessage-deflate was not negotiated")
			}
			c1 = ws.NetConn(context.Background(), c, ws.Binary)
			c2 = ws.NetConn(context.Background(), s, ws.Binary)
			return c1, c2, func() {
				s.CloseNow()
				c.CloseNow()
				c1.Close()
				c2.Close()
			}, nil
		})
	})
}

// TestNetConnCopy64MiB copies 64 MiB each way at once with io.Copy and
// checks what arrives, then closes one end and sees io.EOF at the other.
func TestNetConnCopy64MiB(t *testing.T) {
	checkNetConnGoroutines(t)
	const size = 64 << 20
	srv, cli := netPair(t, ws.Binary)

	stream := func(seed uint64) io.Reader {
		return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed)}), size)
	}
	want := func(seed uint64) [32]byte {
		h := sha256.New()
		io.Copy(h, stream(seed))
		return [32]byte(h.Sum(nil))
	}
	var wg sync.WaitGroup
	send := func(name string, c net.Conn, seed uint64) {
		defer wg.Done()
		n, err := io.Copy(c, stream(seed))
		if err != nil || n != size {
			t.Errorf("%s: io.Copy sent %d bytes, error %v; want %d", name, n, err, size)
		}
	}
	got := make([][32]byte, 2)
	recv := func(name string, c net.Conn, i int) {
		defer wg.Done()
		h := sha256.New()
		n, err := io.Copy(h, io.LimitReader(c, size))
		if err != nil || n != size {
			t.Errorf("%s: io.Copy received %d bytes, error %v; want %d", name, n, err, size)
		}
		got[i] = [32]byte(h.Sum(nil))
	}
	start := time.Now()
	wg.Add(4)
	go send("server to client", srv, 1)
	go send("client to server", cli, 2)
	go recv("client", cli, 0)
	go recv("server", srv, 1)
	wg.Wait()
	t.Logf("64 MiB each way in %v", time.Since(start).Round(time.Millisecond))
	if got[0] != want(1) {
		t.Error("the client received other bytes than the server sent")
	}
	if got[1] != want(2) {
		t.Error("the server received other bytes than the client sent")
	}

	closed := make(chan error, 1)
	go func() { closed <- cli.Close() }()
	if n, err := srv.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("server Read after the client's Close: %d, %v; want 0, io.EOF", n, err)
	}
	if err := <-closed; err != nil {
		t.Errorf("client Close: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("server Close after the client's: %v", err)
	}
}

// isTimeout checks that err is what net.Conn promises for a deadline.
func isTimeout(t *testing.T, what string, err error) {
	t.Helper()
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%s: error %v (%T), want one that is os.ErrDeadlineExceeded and a net.Error with Timeout", what, err, err)
	}
}

// A deadline ends a Read that is blocked, whether it was set before the Read
// or while it waits, and nothing sent afterwards is lost.
func TestNetConnReadDeadlineWhileBlocked(t *testing.T) {
	checkNetConnGoroutines(t)
	srv, cli := netPair(t, ws.Binary)
	buf := make([]byte, 64)

	// Set before the Read, fires while it waits.
	start := time.Now()
	cli.SetReadDeadline(start.Add(100 * time.Millisecond))
	n, err := cli.Read(buf)
	if n != 0 {
		t.Errorf("Read returned %d bytes", n)
	}
	isTimeout(t, "Read past a deadline set before it", err)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("Read timed out after %v, before its deadline", d)
	}

	// Set while the Read waits (with no deadline).
	cli.SetReadDeadline(time.Time{})
	errc := make(chan error, 1)
	blocked := make(chan struct{})
	go func() {
		close(blocked)
		_, err := cli.Read(buf)
		errc <- err
	}()
	<-blocked
	time.Sleep(50 * time.Millisecond) // let it block; the test holds without this
	select {
	case err := <-errc:
		t.Fatalf("Read returned %v with no deadline and nothing sent", err)
	default:
	}
	cli.SetReadDeadline(time.Now())
	select {
	case err := <-errc:
		isTimeout(t, "Read after a deadline set while it waited", err)
	case <-time.After(10 * time.Second):
		t.Fatal("a deadline set in the past did not end the blocked Read")
	}

	// A Read with the deadline in the past times out at once.
	if _, err := cli.Read(buf); err == nil {
		t.Fatal("Read with a past deadline succeeded")
	} else {
		isTimeout(t, "Read with a past deadline", err)
	}

	// The stream goes on where it was.
	cli.SetReadDeadline(time.Time{})
	if _, err := srv.Write([]byte("after the timeouts")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len("after the timeouts"))
	if _, err := io.ReadFull(cli, got); err != nil || string(got) != "after the timeouts" {
		t.Fatalf("read %q, %v after the timeouts", got, err)
	}
}

// A deadline ends a Write blocked by a peer that does not read. A Write that
// returns len(p) with the timeout still delivers its message, in order; one
// that returns 0 delivers nothing.
func TestNetConnWriteDeadlineWhileBlocked(t *testing.T) {
	checkNetConnGoroutines(t)
	srv, cli := netPair(t, ws.Binary)
	const chunk = 256 << 10
	var sent bytes.Buffer
	var timeoutErr error
	cli.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
	for i := 0; timeoutErr == nil; i++ {
		if i > 4000 { // 1 GiB: loopback buffers are far smaller
			t.Fatal("Writes never blocked on a peer that does not read")
		}
		p := bytes.Repeat([]byte{byte(i)}, chunk)
		n, err := cli.Write(p)
		if n != 0 && n != len(p) {
			t.Fatalf("Write returned %d of %d bytes", n, len(p))
		}
		sent.Write(p[:n])
		timeoutErr = err
	}
	isTimeout(t, "Write blocked past its deadline", timeoutErr)
	// The next Write waits for the message still in flight, and times out
	// at once too, sending nothing.
	if n, err := cli.Write([]byte("x")); n != 0 || err == nil {
		t.Fatalf("Write after the deadline: %d, %v", n, err)
	}

	// Reading everything frees the writer; the stream has no hole and no
	// duplicate.
	cli.SetWriteDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := cli.Write([]byte("end"))
		done <- err
	}()
	got := make([]byte, sent.Len()+3)
	if _, err := io.ReadFull(srv, got); err != nil {
		t.Fatalf("reading the %d bytes the client accepted: %v", sent.Len(), err)
	}
	if !bytes.Equal(got[:sent.Len()], sent.Bytes()) || string(got[sent.Len():]) != "end" {
		t.Fatal("the server read other bytes than the Writes accepted")
	}
	if err := <-done; err != nil {
		t.Fatalf("Write after clearing the deadline: %v", err)
	}
}

// The peer's close code decides between io.EOF and an error; the data sent
// before the close is read first.
func TestNetConnPeerClose(t *testing.T) {
	checkNetConnGoroutines(t)
	for _, tc := range []struct {
		code ws.CloseCode
		eof  bool
	}{
		{ws.CloseNormal, true},
		{ws.CloseGoingAway, true},
		{0, true}, // no status code (1005 at the receiver)
		{ws.CloseInternalError, false},
		{4000, false},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			peer, c := wsPair(t, nil)
			nc := ws.NetConn(context.Background(), c, ws.Binary)
			defer nc.Close()
			ctx := context.Background()
			if err := peer.WriteMessage(ctx, ws.Binary, []byte("last words")); err != nil {
				t.Fatal(err)
			}
			reason := "bye"
			if tc.code == 0 {
				reason = "" // a reason needs a code (RFC 6455 §5.5.1)
			}
			closed := make(chan error, 1)
			go func() { closed <- peer.Close(tc.code, reason) }()
			nc.SetReadDeadline(time.Now().Add(20 * time.Second))
			got, err := io.ReadAll(nc)
			if string(got) != "last words" {
				t.Errorf("read %q before the close, want %q", got, "last words")
			}
			var ce *ws.CloseError
			switch {
			case tc.eof && err != nil:
				t.Errorf("ReadAll after close %v: %v, want io.EOF", tc.code, err)
			case !tc.eof && (!errors.As(err, &ce) || ce.Code != tc.code || ce.Reason != reason):
				t.Errorf("ReadAll after close %v: %v, want an error wrapping the CloseError", tc.code, err)
			}
			if _, err2 := nc.Read(make([]byte, 1)); (err == nil) != (err2 == io.EOF) {
				t.Errorf("Read after the end: %v, the first read ended with %v", err2, err)
			}
			if err := <-closed; err != nil {
				t.Errorf("peer Close: %v", err)
			}
			if err := nc.Close(); err != nil {
				t.Errorf("Close after the peer's: %v", err)
			}
		})
	}
}

// A message of the other type fails the connection with 1003.
func TestNetConnWrongMessageType(t *testing.T) {
	checkNetConnGoroutines(t)
	peer, c := wsPair(t, nil)
	nc := ws.NetConn(context.Background(), c, ws.Binary)
	defer nc.Close()
	ctx := context.Background()
	peer.WriteMessage(ctx, ws.Text, []byte("text"))
	_, err := nc.Read(make([]byte, 10))
	if err == nil || !strings.Contains(err.Error(), "text message") {
		t.Errorf("Read of a text message on a binary NetConn: %v", err)
	}
	_, _, err = peer.ReadMessage(ctx, nil)
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.CloseUnsupportedData {
		t.Errorf("the peer got %v, want close 1003", err)
	}
}

// Close ends blocked Reads and Writes at once, with net.ErrClosed, and
// performs the close handshake.
func TestNetConnCloseUnblocks(t *testing.T) {
	checkNetConnGoroutines(t)
	peer, c := wsPair(t, nil)
	nc := ws.NetConn(context.Background(), c, ws.Binary)
	// The peer does not read until the close: Writes block.
	readErr := make(chan error, 1)
	go func() {
		_, err := nc.Read(make([]byte, 10))
		readErr <- err
	}()
	writeErr := make(chan error, 1)
	go func() {
		p := make([]byte, 1<<20)
		for {
			if _, err := nc.Write(p); err != nil {
				writeErr <- err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond) // let both block; the test holds without this
	closed := make(chan error, 1)
	go func() { closed <- nc.Close() }()
	for name, ch := range map[string]chan error{"Read": readErr, "Write": writeErr} {
		select {
		case err := <-ch:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("blocked %s returned %v, want net.ErrClosed", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Close did not end the blocked %s", name)
		}
	}
	// Now the peer reads: the messages in flight, then the close frame.
	var err error
	for err == nil {
		_, _, err = peer.ReadMessage(context.Background(), nil)
	}
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.CloseNormal {
		t.Errorf("peer read %v, want close 1000", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := nc.Read(nil); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	if _, err := nc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := nc.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed", err)
	}
	if err := nc.SetDeadline(time.Now()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("SetDeadline after Close: %v, want net.ErrClosed", err)
	}
}

// The end of NetConn's context closes it.
func TestNetConnContext(t *testing.T) {
	checkNetConnGoroutines(t)
	peer, c := wsPair(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	nc := ws.NetConn(ctx, c, ws.Binary)
	readErr := make(chan error, 1)
	go func() {
		_, err := nc.Read(make([]byte, 10))
		readErr <- err
	}()
	cancel()
	select {
	case err := <-readErr:
		if !errors.Is(err, net.ErrClosed) || !errors.Is(err, context.Canceled) {
			t.Errorf("Read after the context ended: %v, want net.ErrClosed and context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the end of the context did not end the Read")
	}
	_, _, err := peer.ReadMessage(context.Background(), nil)
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.CloseNormal {
		t.Errorf("peer read %v, want close 1000", err)
	}
}

// A text NetConn sends text messages and refuses Writes that are not valid
// UTF-8 on their own.
func TestNetConnText(t *testing.T) {
	checkNetConnGoroutines(t)
	peer, c := wsPair(t, nil)
	nc := ws.NetConn(context.Background(), c, ws.Text)
	defer nc.Close()
	if _, err := nc.Write([]byte("h\xc3")); err == nil {
		t.Error("Write of a cut code point succeeded")
	}
	if n, err := nc.Write([]byte("héllo")); err != nil || n != len("héllo") {
		t.Fatalf("Write: %d, %v", n, err)
	}
	typ, msg, err := peer.ReadMessage(context.Background(), nil)
	if err != nil || typ != ws.Text || string(msg) != "héllo" {
		t.Errorf("peer read %v %q %v, want text héllo", typ, msg, err)
	}
	// Zero bytes send nothing.
	if n, err := nc.Write(nil); n != 0 || err != nil {
		t.Errorf("Write(nil): %d, %v", n, err)
	}
	peer.WriteMessage(context.Background(), ws.Text, []byte("ab"))
	peer.WriteMessage(context.Background(), ws.Text, nil)
	peer.WriteMessage(context.Background(), ws.Text, []byte("cd"))
	got := make([]byte, 4)
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != "abcd" {
		t.Errorf("read %q, %v across messages, want abcd", got, err)
	}
}

// LocalAddr and RemoteAddr are the TCP connection's.
func TestNetConnAddrs(t *testing.T) {
	s, c := wsPair(t, nil)
	ns := ws.NetConn(context.Background(), s, ws.Binary)
	nc := ws.NetConn(context.Background(), c, ws.Binary)
	if ns.LocalAddr() != s.NetConn().LocalAddr() || ns.RemoteAddr() != s.NetConn().RemoteAddr() ||
		ns.RemoteAddr().String() != nc.LocalAddr().String() || nc.RemoteAddr().String() != ns.LocalAddr().String() {
		t.Errorf("addresses: server %v->%v, client %v->%v", ns.LocalAddr(), ns.RemoteAddr(), nc.LocalAddr(), nc.RemoteAddr())
	}
	if ns.LocalAddr().Network() != "tcp" {
		t.Errorf("network %q, want tcp", ns.LocalAddr().Network())
	}
}

// connListener is a net.Listener whose connections come from a channel.
type connListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// An HTTP/1.1 server and client talk through a WebSocket tunnel: net/http
// serves on NetConns that a WebSocket endpoint accepts, and an
// http.Transport dials through the WebSocket client. Keep-alive reuses the
// tunnel; bodies of megabytes go both ways; the server sees the client's
// TCP address.
func TestNetConnHTTPOverWebSocket(t *testing.T) {
	checkNetConnGoroutines(t)
	ln := &connListener{conns: make(chan net.Conn), done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.RemoteAddr)
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		// HTTP/1.1 handlers read the body before they answer.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Write(body)
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		// Chunked: no Content-Length, flushed as it goes.
		p := bytes.Repeat([]byte("0123456789abcdef"), 4096)
		for range 128 {
			w.Write(p)
			w.(http.Flusher).Flush()
		}
	})
	hsrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hsrv.Serve(ln) }()

	wsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := server.Accept(w, r, nil)
		if err != nil {
			return
		}
		nc := ws.NetConn(context.Background(), c, ws.Binary)
		select {
		case ln.conns <- nc:
		case <-ln.done:
			nc.Close()
		}
	}))
	defer wsSrv.Close()

	var dials atomic.Int32
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			dials.Add(1)
			c, _, err := client.Dial(ctx, "ws"+strings.TrimPrefix(wsSrv.URL, "http")+"/tunnel", &client.Options{Proxy: client.NoProxy})
			if err != nil {
				return nil, err
			}
			return ws.NetConn(context.Background(), c, ws.Binary), nil
		},
		Proxy:             nil,
		DisableKeepAlives: false,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 60 * time.Second}

	// The server sees the client's TCP address as the request's.
	var local net.Addr
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { local = i.Conn.LocalAddr() }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "http://tunnel.invalid/hello", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "hello "+local.String() {
		t.Fatalf("GET /hello: %q, %v; want hello %s", body, err, local)
	}

	// A 4 MiB body there and back, twice, on the same tunnel.
	payload := make([]byte, 4<<20)
	rand.NewChaCha8([32]byte{7}).Read(payload)
	for i := range 2 {
		resp, err := hc.Post("http://tunnel.invalid/echo", "application/octet-stream", bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, payload) {
			t.Fatalf("POST /echo #%d: %s, %d bytes back, %v; want the 4 MiB sent", i, resp.Status, len(got), err)
		}
	}
	resp, err = hc.Get("http://tunnel.invalid/stream")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(got) != 128*16*4096 || resp.TransferEncoding == nil {
		t.Fatalf("GET /stream: %d bytes, %v, transfer encoding %v", len(got), err, resp.TransferEncoding)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d tunnels dialled for sequential requests, want 1 (keep-alive)", n)
	}

	// Concurrent requests open more tunnels.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := bytes.Repeat([]byte{byte('a' + i)}, 100<<10)
			resp, err := hc.Post("http://tunnel.invalid/echo", "text/plain", bytes.NewReader(msg))
			if err != nil {
				t.Error(err)
				return
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(got, msg) {
				t.Errorf("concurrent POST %d: %d bytes, %v", i, len(got), err)
			}
		}()
	}
	wg.Wait()

	// Shutting the HTTP server down closes its tunnels.
	tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hsrv.Shutdown(ctx); err != nil {
		t.Errorf("HTTP server shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
}

// BenchmarkNetConnStream measures a one-way stream from client to server in
// Writes of 32 KiB (io.Copy's buffer) read with 32 KiB Reads, through
// NetConn and, for comparison, with the Conn's own WriteMessage and
// NextReader.
func BenchmarkNetConnStream(b *testing.B) {
	const size = 32 << 10
	run := func(b *testing.B, write func([]byte) error, read func([]byte) (int, error)) {
		p := make([]byte, size)
		b.SetBytes(size)
		b.ReportAllocs()
		done := make(chan error, 1)
		go func() {
			buf := make([]byte, size)
			var err error
			for total := int64(0); err == nil && total < int64(b.N)*size; {
				var n int
				n, err = read(buf)
				total += int64(n)
			}
			done <- err
		}()
		b.ResetTimer()
		for range b.N {
			if err := write(p); err != nil {
				b.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.Run("NetConn", func(b *testing.B) {
		srv, cli := netPair(b, ws.Binary)
		run(b, func(p []byte) error { _, err := cli.Write(p); return err }, srv.Read)
	})
	b.Run("Conn", func(b *testing.B) {
		srv, cli := wsPair(b, &ws.Options{ReadLimit: -1})
		ctx := context.Background()
		var r io.Reader
		run(b, func(p []byte) error { return cli.WriteMessage(ctx, ws.Binary, p) }, func(buf []byte) (int, error) {
			for {
				if r == nil {
					_, mr, err := srv.NextReader(ctx)
					if err != nil {
						return 0, err
					}
					r = mr
				}
				n, err := r.Read(buf)
				if err == io.EOF {
					r, err = nil, nil
				}
				if n > 0 || err != nil {
					return n, err
				}
			}
		})
	})
}
