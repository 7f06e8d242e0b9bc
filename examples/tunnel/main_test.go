package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// end is one running end of the tunnel; its log is read line by line.
type end struct {
	t     *testing.T
	lines chan string
	stop  context.CancelFunc
	done  chan error
}

// start runs the tunnel with args and returns it with its first log line.
func start(t *testing.T, args ...string) (*end, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	e := &end{t: t, lines: make(chan string, 100), stop: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, args, pw)
		pw.Close()
		e.done <- err
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			e.lines <- sc.Text()
		}
		io.Copy(io.Discard, pr)
		close(e.lines)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-e.done:
			if err != nil {
				t.Errorf("%s: %v", args[0], err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("%s did not stop", args[0])
		}
	})
	return e, e.line("first line")
}

// line returns the next log line.
func (e *end) line(what string) string {
	e.t.Helper()
	select {
	case l := <-e.lines:
		return l
	case <-time.After(20 * time.Second):
		e.t.Fatalf("no log line (%s)", what)
		return ""
	}
}

// waitFor reads log lines until one contains s.
func (e *end) waitFor(s string) string {
	e.t.Helper()
	for {
		l := e.line(s)
		if strings.Contains(l, s) {
			return l
		}
	}
}

// field returns the word after prefix in line.
func field(t *testing.T, line, prefix string) string {
	t.Helper()
	_, rest, ok := strings.Cut(line, prefix)
	if !ok {
		t.Fatalf("log line %q lacks %q", line, prefix)
	}
	return strings.Fields(rest)[0]
}

// startPair starts a server end with extra server flags and a client end
// that reaches it; it returns both and the client's local address.
func startPair(t *testing.T, serverArgs, clientArgs []string) (*end, *end, string) {
	srv, first := start(t, append([]string{"server", "-addr", "127.0.0.1:0"}, serverArgs...)...)
	url := field(t, first, "tunnel server: ")
	cli, first := start(t, append([]string{"client", "-listen", "127.0.0.1:0", "-url", url}, clientArgs...)...)
	return srv, cli, field(t, first, "tunnel client: ")
}

// With no -to, the server forwards to its own page: an HTTP request through
// the tunnel sees itself counted there.
func TestHTTPThroughTheTunnel(t *testing.T) {
	srv, cli, local := startPair(t, nil, nil)
	c := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
	for range 2 { // keep-alive: both requests go through one tunnel
		resp, err := c.Get("http://" + local + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "1 tunnel(s) open, 1 so far") {
			t.Errorf("page through the tunnel: %q", body)
		}
	}
	c.Transport.(*http.Transport).CloseIdleConnections()
	cli.waitFor("tunnel 1: closed")
	srv.waitFor("tunnel 1: closed")
}

// Bytes go both ways through the tunnel to a TCP echo server, in order and
// complete, and many tunnels run at once.
func TestEchoThroughTheTunnel(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	_, _, local := startPair(t, []string{"-to", echo.Addr().String()}, nil)

	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", local)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			const size = 8 << 20
			src := io.LimitReader(rand.NewChaCha8([32]byte{byte(i)}), size)
			want := sha256.New()
			go io.Copy(c, io.TeeReader(src, want))
			got := sha256.New()
			if n, err := io.CopyN(got, c, size); err != nil {
				t.Errorf("tunnel %d: %d bytes back: %v", i, n, err)
				return
			}
			if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
				t.Errorf("tunnel %d: the echo differs from what was sent", i)
			}
		}()
	}
	wg.Wait()
}

// A client without the server's token is refused, and its connection
// closed; with the token it gets through.
func TestToken(t *testing.T) {
	_, bad, local := startPair(t, []string{"-token", "s3cret"}, []string{"-token", "guess"})
	c, err := net.Dial("tcp", local)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("read through a refused tunnel: %d bytes, %v", n, err)
	}
	c.Close()
	if l := bad.waitFor("tunnel 1 from"); !strings.Contains(l, "401") {
		t.Errorf("refusal logged as %q, want the 401", l)
	}

	_, _, local = startPair(t, []string{"-token", "s3cret"}, []string{"-token", "s3cret"})
	resp, err := http.Get("http://" + local + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with the token: %s", resp.Status)
	}
}

// Stopping the server closes the tunnels open with 1001, which the client
// end sees as the end of the stream and passes on by closing the local
// connection.
func TestServerShutdownClosesTunnels(t *testing.T) {
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := target.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	srv, _, local := startPair(t, []string{"-to", target.Addr().String()}, nil)
	c, err := net.Dial("tcp", local)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hi"))
	var far net.Conn
	select {
	case far = <-accepted:
		defer far.Close()
	case <-time.After(20 * time.Second):
		t.Fatal("the tunnel did not reach the target")
	}
	// The client end must have taken "hi" off the local connection before
	// the server stops: closing a socket with unread bytes resets it (RFC
	// 1122, 4.2.2.13), and the test would read ECONNRESET, not the EOF of
	// an orderly close. "hi" at the target proves it.
	far.SetReadDeadline(time.Now().Add(20 * time.Second))
	if b, err := io.ReadAll(io.LimitReader(far, 2)); string(b) != "hi" {
		t.Fatalf("the target got %q, %v; want hi", b, err)
	}
	srv.waitFor("open")
	srv.stop()
	srv.waitFor("closing 1 tunnel(s) with 1001")
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("local connection after the server stopped: %d bytes, %v; want io.EOF", n, err)
	}
}
