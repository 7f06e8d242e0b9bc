// Package servertest checks, from the outside, what every server this
// project starts must do (the ws command, the examples, the Autobahn agent,
// the server package's helpers): refuse a request whose header is huge, and
// close every WebSocket with 1001 at once when it shuts down, whatever
// other HTTP connections are open. Tests only.
package servertest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

// Timeout bounds every wait; only a bug makes one that long.
const Timeout = 15 * time.Second

// HeaderBomb sends addr a WebSocket opening handshake for path whose header
// carries about size bytes in extra header lines of 1000 bytes, and returns
// the status line of the answer ("HTTP/1.1 431 Request Header Fields Too
// Large"). It writes while it reads, since a server may answer and close
// before the request is all sent.
func HeaderBomb(addr, path string, size int) (string, error) {
	nc, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(Timeout))
	go func() {
		w := bufio.NewWriterSize(nc, 64<<10)
		fmt.Fprintf(w, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", path, addr)
		filler := strings.Repeat("x", 1000-len("X-Filler-0000: \r\n"))
		for i := 0; i*1000 < size; i++ {
			if _, err := fmt.Fprintf(w, "X-Filler-%04d: %s\r\n", i%10000, filler); err != nil {
				return // the server answered and closed
			}
		}
		w.WriteString("\r\n")
		w.Flush()
	}()
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("no answer to %d bytes of header: %w", size, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// CheckHeaderBomb fails t unless addr answers 1 MiB of request header for
// path with 431, and so accepts no WebSocket.
func CheckHeaderBomb(t testing.TB, addr, path string) {
	t.Helper()
	status, err := HeaderBomb(addr, path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("1 MiB of request header: %q", status)
	if !strings.HasPrefix(status, "HTTP/1.1 431 ") {
		t.Fatalf("1 MiB of request header answered %q, want 431 Request Header Fields Too Large", status)
	}
}

// CheckGoingAway checks a server's shutdown, as Ctrl-C with a browser tab
// open does it: it connects a WebSocket client to wsURL, and a raw TCP
// connection to the same host that sends nothing (a browser opens such
// spare connections in advance; net/http counts one as idle, and closes
// it, only after 5 seconds), then calls shutdown, which must not block,
// and waits for the client's close. It fails t unless the close is 1001
// (going away) and comes while the spare connection is still open: a
// server that shut its HTTP side down first would have closed the spare
// before. It returns the time from the call of shutdown to the 1001.
func CheckGoingAway(t testing.TB, wsURL string, shutdown func()) time.Duration {
	t.Helper()
	u, err := url.Parse(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	spare, err := net.DialTimeout("tcp", u.Host, Timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	c, _, err := client.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ended := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.ReadMessage(ctx, nil); err != nil {
				ended <- err
				return
			}
		}
	}()

	start := time.Now()
	shutdown()
	err = <-ended
	latency := time.Since(start)
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.CloseGoingAway {
		t.Fatalf("the WebSocket client got %v after %v, want a 1001 close", err, latency)
	}
	// The spare connection is still open: nothing to read, no EOF.
	spare.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := spare.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			err = fmt.Errorf("closed (%v)", err)
		}
		t.Fatalf("the spare HTTP connection was %v before the 1001 came (after %v): the WebSockets waited for the HTTP shutdown", err, latency)
	}
	t.Logf("1001 %q received %v after shutdown began, with a spare HTTP connection open", ce.Reason, latency.Round(time.Microsecond))
	return latency
}
